"""Benchmark: how long the staff console's busiest pages take on a year of data.

Seeds a temp database with a year of citizen messages and their turns (default 300,000, about
800 a day, with the outcomes mix of a real bot: answers, choices, fallbacks, hand-overs, button
picks, ratings, staff replies) and unreachable outbox rows. Then classifies the whole year once
(what the first dashboard after an upgrade does; timed alone), and times, through the real app and
the Flask test client (no network), the dashboard for 30 and 366 days and the failures inbox
(the newest 500 failures grouped by similarity). Median of `--runs` requests each, after one
warm-up request per page.

    .venv/bin/python bench/admin_bench.py [--turns 300000] [--runs 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
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
from bot.admin import quality  # noqa: E402

WORDS = (
    "làm giấy tạm trú cho con thuê nhà ở đâu cấp lại sổ đỏ bị mất đăng ký kết hôn người "
    "nước ngoài cần gì xin xác nhận tình trạng hôn nhân chứng thực bản sao"
).split()


def turn_rows(turns: int, now: float) -> list[tuple]:
    """(user, at, kind, topic, text) for a year of turns, users' turns in short bursts."""
    rng = random.Random(7)
    kinds = ("answer",) * 6 + ("choices", "choices", "fallback", "handover", "smalltalk")
    topics = ("tam-tru", "ket-hon")
    rows = []
    while len(rows) < turns:
        user, at = f"u{rng.randrange(40_000)}", now - rng.random() * 365 * 86400
        for _ in range(rng.randint(1, 5)):
            kind = rng.choice(kinds)
            text = " ".join(rng.sample(WORDS, 6))
            if kind == "answer" and rows and rows[-1][2] == "choices" and rng.random() < 0.6:
                text = f"#topic:{rng.choice(topics)}"
            rows.append((user, at, kind, rng.choice(topics) if kind == "answer" else None, text))
            at += rng.choice((20, 60, 200, 900, 4000))
    return rows[:turns]


def seed(db_path: str, turns: int, now: float) -> None:
    """A year of activity: messages, turns, ratings, staff replies, unreachable rows."""
    rng = random.Random(8)
    db = storage.connect(db_path)
    rows = turn_rows(turns, now)
    with storage.transaction(db):
        db.conn.executemany(
            "INSERT INTO inbound_events (id, dedup_key, event_name, user_id, msg_id, text, "
            "received_at) VALUES (?, ?, 'user_send_text', ?, ?, ?, ?)",
            [
                (n, f"k{n}", user, f"m{n}", text, at)
                for n, (user, at, _, _, text) in enumerate(rows, 1)
            ],
        )
        db.conn.executemany(
            "INSERT INTO turns (inbound_id, user_id, at, kind, topic, score) "
            "VALUES (?, ?, ?, ?, ?, 0.8)",
            [(n, user, at, kind, topic) for n, (user, at, kind, topic, _) in enumerate(rows, 1)],
        )
        answers = [r for r in rows if r[2] == "answer"]
        db.conn.executemany(
            "INSERT INTO ratings (user_id, topic, helpful, at) VALUES (?, ?, ?, ?)",
            [
                (u, t, rng.random() < 0.8, at + 30)
                for u, at, _, t, _ in rng.sample(answers, turns // 20)
            ],
        )
        handovers = [r for r in rows if r[2] == "handover"]
        db.conn.executemany(
            "INSERT INTO inbound_events (dedup_key, event_name, user_id, msg_id, text, "
            "received_at) VALUES (?, 'oa_send_text', ?, ?, 'Cán bộ trả lời', ?)",
            [
                (f"s{n}", u, f"s{n}", at + rng.randint(60, 7200))
                for n, (u, at, *_) in enumerate(handovers)
            ],
        )
        db.conn.executemany(
            "INSERT INTO outbox (key, user_id, payload, source, status, next_attempt_at, "
            "created_at) VALUES (?, ?, '{}', 'reminder', 'unreachable', ?, ?)",
            [(f"k{n}", f"u{n}", now, now - rng.random() * 365 * 86400) for n in range(2_000)],
        )


def timed(client: object, path: str, runs: int) -> tuple[float, float]:
    """Median milliseconds of GET `path`: wall clock, and this process's CPU time (the machine
    may be shared; CPU time is what the request itself costs). Each answer must be 200."""
    client.get(path)  # warm-up: templates compiled, closed days summed once
    wall, cpu = [], []
    for _ in range(runs):
        started, used = time.perf_counter(), time.process_time()
        response = client.get(path)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - used) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return round(statistics.median(wall), 1), round(statistics.median(cpu), 1)


def main() -> int:
    """Seed, classify, then time the pages."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        config = make_config(Path(folder))
        clock = Clock(time.time())
        started = time.perf_counter()
        seed(config.storage.database, args.turns, clock.now)
        seeded = time.perf_counter() - started
        started = time.perf_counter()
        classified = quality.refresh(storage.connect(config.storage.database), clock.now)
        backfill = time.perf_counter() - started
        app = make_app(config, clock)
        client = logged_in(app, config, "admin")
        today = time.strftime("%d/%m/%Y", time.localtime(clock.now))
        year_ago = time.strftime("%d/%m/%Y", time.localtime(clock.now - 365 * 86400))
        result = {
            "turns": args.turns,
            "seed_seconds": round(seeded, 1),
            "first_classification_seconds": round(backfill, 1),
            "turns_classified": classified,
            "dashboard_30_days_ms_wall_cpu": timed(client, "/admin/", args.runs),
            "dashboard_366_days_ms_wall_cpu": timed(
                client, f"/admin/?from={year_ago}&to={today}", args.runs
            ),
            "inbox_page_ms_wall_cpu": timed(client, "/admin/inbox", args.runs),
            "load_average": round(os.getloadavg()[0], 1),
        }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>30}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
