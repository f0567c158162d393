"""Honest quality figures: outcomes kept up to date from the turns, summed for the dashboard.

`refresh(db, now)` classifies (with `bot.admin.outcomes.classify`) the turns of every citizen who
wrote since the last refresh, with a day of their earlier turns as context, and stores the
outcomes that changed in `turn_outcomes`. An outcome changes only through the citizen's later
turns (a rating comes with its feedback turn), so other citizens are redone only when their
stored outcomes turn final, a day on. The first refresh on
an existing database classifies its whole history once.

`figures(...)` sums a date range from per-day figures: a day whose outcomes can no longer change
("closed": over a day old) is summed once and kept in `outcome_days`, a whole closed calendar
month in `outcome_months`; the open days are read live. A year of traffic is then a dozen
months and a few days, not 300,000 turns.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
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
DAY = 86400


def refresh(db: sqlite_utils.Database, now: float) -> int:
    """Bring `turn_outcomes` up to date with the turns; return how many outcomes changed."""
    with transaction(db):
        after = int(admin_store.meta_get(db, WATERMARK) or 0)
        last, users = store.changed_users(db, after, now - FINAL_SECONDS)
        if not users:
            admin_store.meta_set(db, WATERMARK, str(last))
            return 0
        since = min(users.values()) - FINAL_SECONDS
        wanted = None if len(users) > EVERYONE_ABOVE else sorted(users)
        ratings: dict[str, list[Rating]] = defaultdict(list)
        for user, at, topic, helpful in store.ratings_since(db, wanted, since):
            ratings[user].append(Rating(at, topic, bool(helpful)))
        stored = store.outcomes_since(db, since)
        changed = []
        for user, turns in groupby(store.turn_history(db, wanted, since), key=lambda r: r[1]):
            if user not in users:
                continue
            records = [TurnRecord(r[0], r[2], r[3], r[4], r[5], r[6]) for r in turns]
            for record, c in zip(records, classify(records, ratings[user], now), strict=True):
                good = None if c.good is None else int(c.good)
                row = (c.turn_id, user, record.at, c.outcome, record.topic, record.faq,
                       int(c.question), good, c.rating, c.reason, int(c.final))  # fmt: skip
                if stored.get(c.turn_id) != row:
                    changed.append(row)
        store.save_outcomes(db, changed)
        if changed:
            store.drop_rollups(db, min(r[2] for r in changed), max(r[2] for r in changed))
        admin_store.meta_set(db, WATERMARK, str(last))
        return len(changed)


def _empty_day() -> dict[str, Any]:
    """The figures of a day with no traffic."""
    return {"o": {}, "t": {}, "h": {}, "r": {}, "m": 0, "u": "", "d": []}


def _count(table: dict[str, list[int]], outcome: str, count: int, good: int) -> None:
    """Add `count` questions, `good` of them well handled, to `table[outcome]`."""
    cell = table.setdefault(outcome, [0, 0])
    cell[0] += count
    cell[1] += good


def build_days(
    db: sqlite_utils.Database, first: int, last: int, offset: int
) -> dict[int, dict[str, Any]]:
    """Per-day figures of local days `first`..`last` read from the stored outcomes."""
    lo, hi = first * DAY - offset, (last + 1) * DAY - offset
    days: dict[int, dict[str, Any]] = {d: _empty_day() for d in range(first, last + 1)}
    for d, hour, topic, outcome, reason, count, good in store.day_outcomes(db, lo, hi, offset):
        day = days[d]
        _count(day["o"], outcome, count, good)
        _count(day["t"].setdefault(topic or "", {}), outcome, count, good)
        _count(day["h"].setdefault(str(hour), {}), outcome, count, good)
        if reason:
            day["r"][reason] = day["r"].get(reason, 0) + count
    users: dict[int, list[str]] = defaultdict(list)
    for d, user, count in store.day_people(db, lo, hi, offset):
        days[d]["m"] += count
        users[d].append(user)
    for d, found in users.items():
        days[d]["u"] = "\n".join(found)  # one string: a year of them decodes fast
    for at, delay in store.staff_reply_delays(db, lo, hi):
        days[int((at + offset) // DAY)]["d"].append(delay)
    return days


def per_day(
    db: sqlite_utils.Database, first: int, last: int, offset: int, now: float
) -> dict[int, dict[str, Any]]:
    """Figures of local days `first`..`last`: closed days from (or into) `outcome_days`."""
    closed = min(last, int((now - FINAL_SECONDS + offset) // DAY) - 1)
    days = store.rollups(db, offset, first, closed) if closed >= first else {}
    missing = [d for d in range(first, closed + 1) if d not in days]
    if missing:
        built = build_days(db, missing[0], missing[-1], offset)
        new = {d: built[d] for d in missing}
        with transaction(db):
            store.save_rollups(db, offset, new)
        days.update(new)
    if closed < last:
        days.update(build_days(db, max(first, closed + 1), last, offset))
    return days


def _people(day: dict[str, Any]) -> int:
    """How many citizens wrote on a day."""
    return day["u"].count("\n") + 1 if day["u"] else 0


def _date(day: int) -> dt.date:
    """The calendar date of a day number (days since 1970-01-01)."""
    return dt.date(1970, 1, 1) + dt.timedelta(days=day)


def percent(part: int, whole: int) -> float:
    """`part` as a percentage of `whole`, one decimal (0 when nothing)."""
    return round(100 * part / whole, 1) if whole else 0.0


def _row() -> dict[str, Any]:
    return {"counts": dict.fromkeys(CLASSES, 0), "total": 0, "good": 0}


def _add(row: dict[str, Any], cells: dict[str, list[int]]) -> None:
    """Add a day's cells (outcome -> [questions, good]) into a display row."""
    counts, total, good = row["counts"], 0, 0
    for outcome, cell in cells.items():
        counts[outcome] = counts.get(outcome, 0) + cell[0]
        total += cell[0]
        good += cell[1]
    row["total"] += total
    row["good"] += good


def _finish(row: dict[str, Any]) -> dict[str, Any]:
    row["quality"] = percent(row["good"], row["total"])
    return row


def _merge(days: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Several days' figures as one (citizens counted once), keeping each day's activity."""
    merged = _empty_day()
    merged["days"] = {}
    users: set[str] = set()
    for d, day in days.items():
        for key in ("o", "r"):
            _sum_cells(merged[key], day[key])
        for key in ("t", "h"):
            for name, cells in day[key].items():
                _sum_cells(merged[key].setdefault(name, {}), cells)
        merged["m"] += day["m"]
        merged["d"] += day["d"]
        if day["u"]:
            users.update(day["u"].split("\n"))
        merged["days"][str(d)] = [day["m"], _people(day)]
    merged["u"] = "\n".join(sorted(users))
    return merged


def _sum_cells(into: dict[str, Any], cells: dict[str, Any]) -> None:
    """Add outcome cells ([questions, good]) or reason counts into `into`."""
    for name, value in cells.items():
        if isinstance(value, list):
            cell = into.setdefault(name, [0, 0])
            cell[0] += value[0]
            cell[1] += value[1]
        else:
            into[name] = into.get(name, 0) + value


def _months(first: int, last: int) -> list[tuple[int, int]]:
    """The calendar months (first and last day numbers) that days `first`..`last` touch."""
    found, d = [], first
    while d <= last:
        date = _date(d)
        following = (date.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        end = d + (following - date).days - 1
        found.append((d - date.day + 1, end))
        d = end + 1
    return found


def segments(
    db: sqlite_utils.Database, first: int, last: int, offset: int, now: float, monthly: bool
) -> list[tuple[int, dict[str, Any]]]:
    """(bucket day, figures) covering days `first`..`last`: whole closed months from
    `outcome_months` when `monthly`, else one segment per day."""
    closed = int((now - FINAL_SECONDS + offset) // DAY) - 1
    if not monthly:
        days = per_day(db, first, last, offset, now)
        return [(d, {**days[d], "days": {str(d): [days[d]["m"], _people(days[d])]}}) for d in days]
    found = []
    for month_first, month_last in _months(first, last):
        lo, hi = max(first, month_first), min(last, month_last)
        whole = (lo, hi) == (month_first, month_last) and hi <= closed
        data = store.month_rollup(db, offset, lo, hi) if whole else None
        if data is None:
            data = _merge(per_day(db, lo, hi, offset, now))
            if whole:
                with transaction(db):
                    store.save_month_rollup(db, offset, lo, hi, data)
        found.append((lo, data))
    return found


def figures(
    db: sqlite_utils.Database,
    start: float,
    end: float,
    offset: int,
    now: float,
    bucket_days: int = 1,
) -> dict[str, Any]:
    """Everything the dashboard shows about a range (refresh the outcomes first); with
    `bucket_days` of 30 or more the periods are calendar months."""
    first, last = int((start + offset) // DAY), int((end + offset) // DAY) - 1
    totals, periods = _row(), defaultdict(_row)
    hours, topics = defaultdict(_row), defaultdict(_row)
    reasons: dict[str, int] = defaultdict(int)
    people: set[str] = set()
    delays: list[float | None] = []
    daily: dict[int, list[int]] = {}
    monthly = bucket_days >= 30
    for key, part in segments(db, first, last, offset, now, monthly):
        _add(totals, part["o"])
        bucket = key if monthly else first + (key - first) // bucket_days * bucket_days
        _add(periods[bucket], part["o"])
        for hour, cells in part["h"].items():
            _add(hours[int(hour)], cells)
        for topic, cells in part["t"].items():
            _add(topics[topic or None], cells)
        for reason, count in part["r"].items():
            reasons[reason] += count
        if part["u"]:
            people.update(part["u"].split("\n"))
        delays += part["d"]
        daily.update({int(d): v for d, v in part["days"].items()})
    by_size = sorted(topics.items(), key=lambda kv: (-kv[1]["total"], kv[0] or ""))
    return {
        "totals": _finish(totals),
        "over_time": [{"start": _date(d), **_finish(row)} for d, row in sorted(periods.items())],
        "per_hour": [(h, _finish(hours[h]) if h in hours else None) for h in range(24)],
        "per_topic": [(topic, _finish(row)) for topic, row in by_size],
        "reasons": dict(reasons),
        "staff_reply": staff_reply(delays),
        "daily": [(_date(d), *daily.get(d, [0, 0])) for d in range(first, last + 1)],
        "people": len(people),
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
