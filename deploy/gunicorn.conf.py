# gunicorn settings for the webhook process: gunicorn -c deploy/gunicorn.conf.py webhooks:app
# (bot/serving.py says why gevent). BOT_BIND and BOT_WORKERS override the address and workers.
import os

bind = os.environ.get("BOT_BIND", "127.0.0.1:8000")
# 3 processes fit a 2-core machine; each serves up to worker_connections clients at once. A
# worker's loop waits while SQLite writes, so more workers raise throughput at the cost of
# memory: bench/webhook_bench.py on a loaded 2-core machine, 3 -> 6 workers: 74 -> 110 events/s.
workers = int(os.environ.get("BOT_WORKERS", "3"))
worker_class = "bot.serving.BoundedGeventWorker"
worker_connections = 1000
# A request (its body and the answer) is cut off after `timeout` seconds, a request's headers
# after `keepalive` seconds (also the idle wait between two requests on one connection). The
# webhook answers in milliseconds and waits at most [webhook] lock_wait_seconds for the database.
timeout = 30
keepalive = 5
graceful_timeout = 20
# Zalo's events are small: bound the request line and headers (the body: [webhook] max_body_bytes).
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190
accesslog = "-"
loglevel = "info"
