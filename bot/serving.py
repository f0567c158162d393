"""The gunicorn worker for the webhook process: gevent, with every request bounded in time.

A thread-per-request worker (gthread, sync) is held for as long as a client takes to send its
request: ten clients sending one byte every 2 s kept every thread of the documented setup busy.
With gevent, a waiting client costs a greenlet, not a thread; gunicorn already bounds the wait
for a request's headers by `keepalive`, and this worker bounds everything after them (reading
the body, answering) by `timeout`, so gunicorn's timeout now reaps slow clients too. Settings:
`deploy/gunicorn.conf.py`.
"""

from __future__ import annotations

from typing import Any

import gevent
from gunicorn.workers.ggevent import GeventWorker


class RequestTooSlow(BaseException):
    """A request was not read and answered within gunicorn's `timeout` (BaseException: Flask's
    error handlers must not turn it into a response)."""


class BoundedGeventWorker(GeventWorker):
    """gunicorn's gevent worker whose requests get at most `timeout` seconds each."""

    def handle_request(self, listener_name: Any, req: Any, sock: Any, addr: Any) -> bool:
        """Serve one request, cut off after `timeout` seconds."""
        with gevent.Timeout(self.cfg.timeout, RequestTooSlow):
            return super().handle_request(listener_name, req, sock, addr)

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        """A request cut off for slowness is logged in one line; the connection is closed."""
        if isinstance(exc, RequestTooSlow):
            self.log.info("closed a connection from %s: slower than %ss", addr, self.cfg.timeout)
            return
        super().handle_error(req, client, addr, exc)
