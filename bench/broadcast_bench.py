"""Benchmark: one broadcast to 50,000 followers through the outbox to the Zalo simulator.

Throttling is off (rate_per_minute = 0). Three phases, each timed:

1. dispatch: the broadcast is started (recipients fixed) and handed to the outbox, one
   transaction per batch of 1,000, with the per-recipient channel choice. This is the
   internal dispatch rate (target >= 1,000 messages/s).
2. delivery: `workers` threads run `bot.outbox.deliver_due` against the simulator, which runs in
   its own process. Halfway through, every sender is stopped and new ones (new lease owners)
   take over, as after a scheduler restart.
3. proof: the simulator's record of delivered messages is fetched and every recipient must have
   exactly one; the outbox must hold exactly one 'sent' row per recipient and the broadcast
   must end 'done' with sent == recipients.

Peak memory is the benchmark process's maximum resident set size after each phase (the
simulator's is separate; the last figure includes loading all 50,000 records for the proof).

    .venv/bin/python bench/broadcast_bench.py [--followers 50000] [--workers 4] [--json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import storage  # noqa: E402
from bot.config import Config, OutboxConfig, OutreachConfig, StorageConfig, ZaloConfig  # noqa: E402
from bot.outbox.delivery import deliver_due  # noqa: E402
from bot.outreach import broadcasts  # noqa: E402
from bot.outreach.broadcasts import Dispatcher  # noqa: E402
from bot.storage import broadcasts as store  # noqa: E402
from bot.storage import transaction  # noqa: E402
from bot.zalo.client import ZaloClient  # noqa: E402
from bot.zalo.tokens import TokenStore  # noqa: E402

SIMULATOR = """
import sys
from bot.simulator import start_simulator
sim = start_simulator(app_id="1", oa_secret_key="s", app_secret="a", refresh_token="r",
                      echo=False)
print(sim.url, flush=True)
sys.stdin.read()
"""


def peak_rss_mb() -> float:
    """This process's peak resident set size in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def seed(db: object, count: int, now: float) -> None:
    """`count` followers who wrote within the last day (inside the free window)."""
    with transaction(db):
        db.conn.executemany(
            "INSERT INTO users (user_id, follow_state, last_interaction_at, created_at) "
            "VALUES (?, 'follower', ?, ?)",
            [(f"{7_000_000_000 + n}", now - 3600, now) for n in range(count)],
        )


def deliver(config: Config, workers: int, stop_after: int | None) -> int:
    """Run sender threads until the outbox is empty (or `stop_after` sent); return sent."""
    stopping = threading.Event()
    sent = Counter()
    lock = threading.Lock()

    def work(number: int) -> None:
        db = storage.connect(config.storage.database)
        client = ZaloClient(config.zalo, TokenStore(db, config))
        owner = f"bench:{number}:{random.random()}"
        rng = random.Random(number)
        while not stopping.is_set():
            done = deliver_due(db, client, config, time.time(), owner=owner, rng=rng)
            with lock:
                sent["n"] += done
                if stop_after is not None and sent["n"] >= stop_after:
                    stopping.set()
            if not done:
                left = db.execute(
                    "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')"
                ).fetchone()[0]
                if not left:
                    stopping.set()
                time.sleep(0.01)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sent["n"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followers", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    sim = subprocess.Popen(
        [sys.executable, "-c", SIMULATOR], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    url = sim.stdout.readline().strip()
    tmp = Path(tempfile.mkdtemp(prefix="broadcast-bench-"))
    config = Config(
        zalo=ZaloConfig(
            app_id="1",
            oa_secret_key="s",
            app_secret="a",
            refresh_token="r",
            api_base_url=url,
            oauth_base_url=url,
        ),
        storage=StorageConfig(database=str(tmp / "bot.db")),
        outbox=dataclasses.replace(OutboxConfig(), batch_size=100),
        outreach=OutreachConfig(rate_per_minute=0, quiet_start="00:00", quiet_end="00:00"),
    )
    db = storage.connect(config.storage.database)
    now = time.time()
    seed(db, args.followers, now)
    rss_before = peak_rss_mb()

    row = broadcasts.create_broadcast(
        db,
        config,
        "Thông báo: từ 01/12/2026 bộ phận một cửa phường tiếp nhận hồ sơ cả sáng thứ Bảy.",
        "all",
        "now",
        now,
    )
    started = time.perf_counter()
    handed = Dispatcher(config, batch_size=1000).tick(db, time.time())
    dispatch_seconds = time.perf_counter() - started
    rss_dispatch = peak_rss_mb()

    started = time.perf_counter()
    first = deliver(config, args.workers, stop_after=args.followers // 2)
    second = deliver(config, args.workers, stop_after=None)  # the restarted senders
    delivery_seconds = time.perf_counter() - started
    rss_delivery = peak_rss_mb()
    Dispatcher(config).tick(db, time.time())  # marks the broadcast done

    messages = requests.get(f"{url}/_sim/messages", timeout=120).json()["messages"]
    per_user = Counter(m["user_id"] for m in messages)
    outbox = dict(db.execute("SELECT status, count(*) FROM outbox GROUP BY 1").fetchall())
    shown = broadcasts.show_broadcast(db, row["id"], time.time())
    exactly_once = (
        len(per_user) == args.followers
        and set(per_user.values()) == {1}
        and outbox == {"sent": args.followers}
        and shown["state"] == "done"
        and shown["progress"]["sent"] == args.followers
        and store.count_planned(db, row["id"]) == 0
    )
    sim.stdin.close()
    sim.wait(10)
    result = {
        "followers": args.followers,
        "workers": args.workers,
        "dispatch_seconds": round(dispatch_seconds, 3),
        "dispatch_messages_per_second": round(handed / dispatch_seconds),
        "delivery_seconds": round(delivery_seconds, 2),
        "delivery_messages_per_second": round((first + second) / delivery_seconds),
        "sent_before_restart": first,
        "sent_after_restart": second,
        "peak_rss_mib_after_seeding": round(rss_before, 1),
        "peak_rss_mib_after_dispatch": round(rss_dispatch, 1),
        "peak_rss_mib_after_delivery": round(rss_delivery, 1),
        "peak_rss_mib_with_proof_fetch": round(peak_rss_mb(), 1),
        "recipients_with_one_message": sum(1 for v in per_user.values() if v == 1),
        "recipients_with_duplicates": sum(1 for v in per_user.values() if v > 1),
        "recipients_missing": args.followers - len(per_user),
        "broadcast_state": shown["state"],
        "exactly_once": exactly_once,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:32} {value}")
    return 0 if exactly_once else 1


if __name__ == "__main__":
    sys.exit(main())
