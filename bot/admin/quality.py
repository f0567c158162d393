"""Honest quality figures: outcomes kept up to date from the turns, summed for the dashboard.

`refresh(db, now)` classifies (with `bot.admin.outcomes.classify`) the turns recorded since the
last refresh and those whose outcome could still change, together with a day of each citizen's
earlier turns as context, and stores the results in `turn_outcomes`; the dashboard then only
sums stored rows. The first refresh on an existing database classifies its whole history once.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable
from itertools import groupby
from typing import Any

import sqlite_utils

from bot.admin.outcomes import CLASSES, FINAL_SECONDS, Rating, TurnRecord, classify
from bot.storage import admin as admin_store
from bot.storage import reports as store
from bot.storage import transaction

WATERMARK = "outcomes_turn_id"
EVERYONE_ABOVE = 500
"""With more citizens to redo than this, read everyone's recent turns in one query."""


def refresh(db: sqlite_utils.Database, now: float) -> int:
    """Bring `turn_outcomes` up to date with the turns; return how many turns were classified."""
    with transaction(db):
        after = int(admin_store.meta_get(db, WATERMARK) or 0)
        last, users = store.changed_users(db, after)
        if not users:
            admin_store.meta_set(db, WATERMARK, str(last))
            return 0
        since = min(users.values()) - FINAL_SECONDS
        wanted = None if len(users) > EVERYONE_ABOVE else sorted(users)
        history = store.turn_history(db, wanted, since)
        ratings: dict[str, list[Rating]] = defaultdict(list)
        for user, at, topic, helpful in store.ratings_since(db, wanted, since):
            ratings[user].append(Rating(at, topic, bool(helpful)))
        rows = []
        for user, turns in groupby(history, key=lambda row: row[1]):
            if user not in users:
                continue
            records = [TurnRecord(r[0], r[2], r[3], r[4], r[5], r[6]) for r in turns]
            for record, c in zip(records, classify(records, ratings[user], now), strict=True):
                rows.append(
                    (c.turn_id, user, record.at, c.outcome, record.topic, record.faq,
                     int(c.question), None if c.good is None else int(c.good), c.rating,
                     c.reason, int(c.final))
                )  # fmt: skip
        store.save_outcomes(db, rows)
        admin_store.meta_set(db, WATERMARK, str(last))
        return len(rows)


def _table(rows: Iterable[tuple[Any, ...]]) -> dict[Any, dict[str, Any]]:
    """Per key: a count per class, questions, good answers and the quality percentage."""
    table: dict[Any, dict[str, Any]] = {}
    for key, outcome, count, good in rows:
        row = table.setdefault(key, {"counts": dict.fromkeys(CLASSES, 0), "total": 0, "good": 0})
        row["counts"][outcome] = row["counts"].get(outcome, 0) + count
        row["total"] += count
        row["good"] += good
    for row in table.values():
        row["quality"] = percent(row["good"], row["total"])
    return table


def percent(part: int, whole: int) -> float:
    """`part` as a percentage of `whole`, one decimal (0 when nothing)."""
    return round(100 * part / whole, 1) if whole else 0.0


def _sum(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Several rows of `_table` added up into one."""
    total: dict[str, Any] = {"counts": dict.fromkeys(CLASSES, 0), "total": 0, "good": 0}
    for row in rows:
        for name, count in row["counts"].items():
            total["counts"][name] = total["counts"].get(name, 0) + count
        total["total"] += row["total"]
        total["good"] += row["good"]
    total["quality"] = percent(total["good"], total["total"])
    return total


def figures(
    db: sqlite_utils.Database, start: float, end: float, offset: int, bucket_days: int = 1
) -> dict[str, Any]:
    """Everything the dashboard shows about outcomes in a range (outcomes must be refreshed)."""
    per_day = _table(store.outcomes_by(db, "day", start, end, offset))
    first = int((start + offset) // 86400)
    periods: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for day, row in per_day.items():
        periods[first + (day - first) // bucket_days * bucket_days].append(row)
    epoch = dt.date(1970, 1, 1)
    over_time = [
        {"start": epoch + dt.timedelta(days=day), **_sum(rows)}
        for day, rows in sorted(periods.items())
    ]
    per_hour = _table(store.outcomes_by(db, "hour", start, end, offset))
    per_topic = _table(store.outcomes_by(db, "topic", start, end))
    reasons = _table(store.outcomes_by(db, "reason", start, end))
    return {
        "totals": _sum(per_day.values()),
        "over_time": over_time,
        "per_hour": [(hour, per_hour.get(hour)) for hour in range(24)],
        "per_topic": sorted(per_topic.items(), key=lambda kv: (-kv[1]["total"], kv[0] or "")),
        "reasons": {k: v["total"] for k, v in reasons.items() if k},
        "staff_reply": staff_reply(store.staff_reply_delays(db, start, end)),
    }


def staff_reply(delays: list[float | None]) -> dict[str, Any]:
    """Hand-overs, how many staff answered, median and slowest-tenth minutes to the reply."""
    answered = sorted(d for d in delays if d is not None)
    minutes = [d / 60 for d in answered]
    return {
        "handovers": len(delays),
        "answered": len(answered),
        "median_minutes": round(statistics.median(minutes), 1) if minutes else None,
        "p90_minutes": round(minutes[int(0.9 * (len(minutes) - 1))], 1) if minutes else None,
    }
