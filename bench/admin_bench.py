"""Benchmark: how long the staff console's busiest pages take on a year of data.

Seeds a temp database with a year of turns (default 300,000, about 800 a day), ratings,
unreachable outbox rows and open unanswered questions, then times, through the real app and the
Flask test client (no network), the dashboard for 30 and 366 days and the unanswered page
(which groups up to 500 open questions by similarity). Median of `--runs` requests each.

    .venv/bin/python bench/admin_bench.py [--turns 300000] [--unanswered 500] [--runs 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from admin_support import Clock, logged_in, make_app, make_config  # noqa: E402

from bot import storage  # noqa: E402

WORDS = (
    "làm giấy tạm trú cho con thuê nhà ở đâu cấp lại sổ đỏ bị mất đăng ký kết hôn người "
    "nước ngoài cần gì xin xác nhận tình trạng hôn nhân chứng thực bản sao"
).split()


def seed(db_path: str, turns: int, unanswered: int, now: float) -> None:
    """A year of activity: turns, ratings, unreachable rows, open questions."""
    rng = random.Random(7)
    db = storage.connect(db_path)
    kinds = ("answer",) * 6 + ("choices", "choices", "fallback", "welcome")
    topics = ("tam-tru", "ket-hon")
    rows = []
    for _ in range(turns):
        kind = rng.choice(kinds)
        rows.append(
            (
                f"u{rng.randrange(40_000)}",
                now - rng.random() * 365 * 86400,
                kind,
                rng.choice(topics) if kind == "answer" else None,
                0.8,
            )
        )
    with storage.transaction(db):
        db.conn.executemany(
            "INSERT INTO turns (user_id, at, kind, topic, score) VALUES (?, ?, ?, ?, ?)", rows
        )
        db.conn.executemany(
            "INSERT INTO ratings (user_id, topic, helpful, at) VALUES (?, ?, ?, ?)",
            [
                (f"u{n}", rng.choice(topics), rng.random() < 0.8, now - rng.random() * 365 * 86400)
                for n in range(turns // 20)
            ],
        )
        db.conn.executemany(
            "INSERT INTO outbox (key, user_id, payload, source, status, next_attempt_at, "
            "created_at) VALUES (?, ?, '{}', 'reminder', 'unreachable', ?, ?)",
            [(f"k{n}", f"u{n}", now, now - rng.random() * 365 * 86400) for n in range(2_000)],
        )
        db.conn.executemany(
            "INSERT INTO unanswered (user_id, text, best_guess, score, at) VALUES (?, ?, ?, ?, ?)",
            [
                (f"u{n}", " ".join(rng.sample(WORDS, 6)), rng.choice(topics), 0.3, now - n * 60)
                for n in range(unanswered)
            ],
        )


def timed(client: object, path: str, runs: int) -> float:
    """Median milliseconds of GET `path` (each answer must be 200)."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return statistics.median(times)


def main() -> int:
    """Seed, then time the pages."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=300_000)
    parser.add_argument("--unanswered", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        config = make_config(Path(folder))
        clock = Clock(time.time())
        started = time.perf_counter()
        seed(config.storage.database, args.turns, args.unanswered, clock.now)
        seeded = time.perf_counter() - started
        app = make_app(config, clock)
        client = logged_in(app, config, "admin")
        today = time.strftime("%d/%m/%Y", time.localtime(clock.now))
        year_ago = time.strftime("%d/%m/%Y", time.localtime(clock.now - 365 * 86400))
        result = {
            "turns": args.turns,
            "open_unanswered": args.unanswered,
            "seed_seconds": round(seeded, 1),
            "dashboard_30_days_ms": round(timed(client, "/admin/", args.runs), 1),
            "dashboard_366_days_ms": round(
                timed(client, f"/admin/?from={year_ago}&to={today}", args.runs), 1
            ),
            "unanswered_page_ms": round(timed(client, "/admin/unanswered", args.runs), 1),
        }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>24}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
