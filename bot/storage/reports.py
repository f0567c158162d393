"""SQL for what the staff console reads from the bot's tables: reports, unanswered, hand-overs.

Reports read the core tables (turns, ratings, outbox, unanswered, conversations) and never
message texts beyond what staff need to see (unanswered questions, hand-over conversations).
Day buckets use a fixed UTC offset passed in by the caller (Asia/Ho_Chi_Minh has no DST).
"""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

# Dashboard reports ---------------------------------------------------------------------------


def satisfaction_per_topic(
    db: sqlite_utils.Database, start: float, end: float
) -> list[dict[str, Any]]:
    """Ratings per topic: helpful, not helpful, total; most rated first."""
    return list(
        db.query(
            "SELECT topic, SUM(helpful) AS helpful, COUNT(*) - SUM(helpful) AS unhelpful, "
            "COUNT(*) AS total FROM ratings WHERE at >= ? AND at < ? GROUP BY topic "
            "ORDER BY total DESC, topic",
            [start, end],
        )
    )


_MISSED = """
    WITH missed(user_id, source, reason) AS (
        SELECT o.user_id, o.source, o.status FROM outbox o
        WHERE o.status IN ('unreachable', 'template_needed')
          AND o.created_at >= :start AND o.created_at < :end
          AND NOT EXISTS (SELECT 1 FROM outbox t WHERE t.key = o.key || ':template')
        UNION ALL
        SELECT user_id, 'broadcast', coalesce(reason, 'unreachable') FROM broadcast_deliveries
        WHERE status = 'unreachable' AND handed_at >= :start AND handed_at < :end
        UNION ALL
        SELECT user_id, 'reminder', coalesce(reason, 'unreachable') FROM reminders_sent
        WHERE status = 'unreachable' AND at >= :start AND at < :end
    )
"""
"""Every (citizen, source, reason) a proactive message did not reach in a range.

Three sources: outbox rows Zalo refused ('unreachable', 'template_needed'; not those already
re-sent as a template under the `:template` key), broadcast recipients never queued because
Zalo allows no channel to them, and reminders recorded as unreachable for the same reason.
"""


def unreachable_recipients(db: sqlite_utils.Database, start: float, end: float) -> dict[str, Any]:
    """Distinct citizens not reached in the range: in all, per source, per reason; and unfollows.

    A citizen missed by two sources (or for two reasons) counts once in `total` and once in
    each of those groups.
    """
    bounds = {"start": start, "end": end}
    total = db.execute(_MISSED + "SELECT COUNT(DISTINCT user_id) FROM missed", bounds).fetchone()
    groups: dict[str, dict[str, int]] = {}
    for column in ("source", "reason"):
        groups[column] = dict(
            db.execute(
                _MISSED + f"SELECT {column}, COUNT(DISTINCT user_id) FROM missed "
                f"GROUP BY {column} ORDER BY 2 DESC, 1",
                bounds,
            ).fetchall()
        )
    unfollowed = db.execute(
        "SELECT COUNT(*) FROM users WHERE follow_state = 'unfollowed' "
        "AND unfollowed_at >= ? AND unfollowed_at < ?",
        [start, end],
    ).fetchone()[0]
    return {
        "total": total[0],
        "by_source": groups["source"],
        "by_reason": groups["reason"],
        "unfollowed": unfollowed,
    }


# Outcomes of turns (bot.admin.outcomes) ----------------------------------------------------

_HISTORY = (
    "SELECT t.id, t.user_id, t.at, t.kind, t.topic, t.faq, e.text FROM turns t "
    "LEFT JOIN inbound_events e ON e.id = t.inbound_id WHERE t.at >= ? "
)


def changed_users(
    db: sqlite_utils.Database, after_id: int, final_before: float
) -> tuple[int, dict[str, float]]:
    """Turns to (re)classify: the newest turn id, and per citizen the time of their earliest
    turn that is new (id above `after_id`) or stored as not final but older than
    `final_before` (its outcome is final now)."""
    last = db.execute("SELECT COALESCE(MAX(id), 0) FROM turns").fetchone()[0]
    found: dict[str, float] = {}
    for user, at in db.execute(
        "SELECT user_id, MIN(at) FROM turns WHERE id > ? AND id <= ? GROUP BY user_id",
        [after_id, last],
    ).fetchall():
        found[user] = at
    for user, at in db.execute(
        "SELECT user_id, MIN(at) FROM turn_outcomes WHERE final = 0 AND at < ? GROUP BY user_id",
        [final_before],
    ).fetchall():
        found[user] = min(at, found.get(user, at))
    return last, found


def turn_history(
    db: sqlite_utils.Database, users: list[str] | None, since: float
) -> list[tuple[Any, ...]]:
    """(id, user_id, at, kind, topic, faq, text) of turns since `since`, by citizen and time;
    `users` None means everyone."""
    if users is None:
        sql, params = _HISTORY + "ORDER BY t.user_id, t.at, t.id", [since]
    else:
        sql = _HISTORY + "AND t.user_id IN (SELECT value FROM json_each(?)) ORDER BY 2, 3, 1"
        params = [since, json.dumps(users)]
    return db.execute(sql, params).fetchall()


def ratings_since(
    db: sqlite_utils.Database, users: list[str] | None, since: float
) -> list[tuple[Any, ...]]:
    """(user_id, at, topic, helpful) of ratings since `since` (`users` None: everyone)."""
    sql = "SELECT user_id, at, topic, helpful FROM ratings WHERE at >= ? AND user_id IS NOT NULL"
    params: list[Any] = [since]
    if users is not None:
        sql += " AND user_id IN (SELECT value FROM json_each(?))"
        params.append(json.dumps(users))
    return db.execute(sql, params).fetchall()


def outcomes_since(db: sqlite_utils.Database, since: float) -> dict[int, tuple[Any, ...]]:
    """Stored outcome rows (as `save_outcomes` takes them) of turns since `since`, by turn id."""
    rows = db.execute(
        "SELECT turn_id, user_id, at, outcome, topic, faq, question, good, rating, reason, final "
        "FROM turn_outcomes WHERE at >= ?",
        [since],
    ).fetchall()
    return {row[0]: tuple(row) for row in rows}


def save_outcomes(db: sqlite_utils.Database, rows: list[tuple[Any, ...]]) -> None:
    """Store (turn_id, user_id, at, outcome, topic, faq, question, good, rating, reason, final)."""
    db.conn.executemany(
        "INSERT OR REPLACE INTO turn_outcomes (turn_id, user_id, at, outcome, topic, faq, "
        "question, good, rating, reason, final) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def day_outcomes(
    db: sqlite_utils.Database, start: float, end: float, offset_seconds: int
) -> list[tuple[Any, ...]]:
    """(local day number, local hour, topic, outcome, reason, questions, good) in a range."""
    return db.execute(
        "SELECT CAST((at + :off) / 86400 AS INTEGER) AS d, "
        "CAST(((at + :off) % 86400) / 3600 AS INTEGER) AS h, topic, outcome, reason, "
        "COUNT(*), COALESCE(SUM(good), 0) FROM turn_outcomes "
        "WHERE at >= :start AND at < :end AND question = 1 GROUP BY d, h, topic, outcome, reason",
        {"off": int(offset_seconds), "start": start, "end": end},
    ).fetchall()


def day_people(
    db: sqlite_utils.Database, start: float, end: float, offset_seconds: int
) -> list[tuple[Any, ...]]:
    """(local day number, citizen, messages handled) in a range.

    The day is computed as a number, which is several times faster than date() on a year.
    """
    return db.execute(
        "SELECT CAST((at + ?) / 86400 AS INTEGER) AS d, user_id, COUNT(*) FROM turns "
        "WHERE at >= ? AND at < ? GROUP BY d, user_id",
        [int(offset_seconds), start, end],
    ).fetchall()


def staff_reply_delays(
    db: sqlite_utils.Database, start: float, end: float
) -> list[tuple[float, float | None]]:
    """(time of hand-over, seconds to the first staff message after it or None) in a range."""
    rows = db.execute(
        "SELECT o.at, (SELECT MIN(e.received_at) FROM inbound_events e WHERE e.user_id = o.user_id "
        "AND e.event_name LIKE 'oa_send_%' AND e.received_at >= o.at) "
        "FROM turn_outcomes o WHERE o.outcome = 'handover' AND o.at >= ? AND o.at < ?",
        [start, end],
    ).fetchall()
    return [(at, None if reply is None else reply - at) for at, reply in rows]


def rollups(
    db: sqlite_utils.Database, offset_seconds: int, first: int, last: int
) -> dict[int, dict[str, Any]]:
    """Stored figures of closed local days `first`..`last`, by day number."""
    rows = db.execute(
        "SELECT day, data FROM outcome_days WHERE utc_offset = ? AND day BETWEEN ? AND ?",
        [int(offset_seconds), first, last],
    ).fetchall()
    return {day: json.loads(data) for day, data in rows}


def save_rollups(
    db: sqlite_utils.Database, offset_seconds: int, days: dict[int, dict[str, Any]]
) -> None:
    """Keep the figures of closed days (they no longer change)."""
    db.conn.executemany(
        "INSERT OR REPLACE INTO outcome_days (utc_offset, day, data) VALUES (?, ?, ?)",
        [(int(offset_seconds), day, json.dumps(data)) for day, data in days.items()],
    )


def drop_rollups(db: sqlite_utils.Database, start: float, end: float) -> None:
    """Forget stored figures of any day or month that may overlap `start`..`end`."""
    lo, hi = int(start // 86400) - 1, int(end // 86400) + 1
    db.execute("DELETE FROM outcome_days WHERE day BETWEEN ? AND ?", [lo, hi])
    db.execute("DELETE FROM outcome_months WHERE first_day <= ? AND last_day >= ?", [hi, lo])


def month_rollup(
    db: sqlite_utils.Database, offset_seconds: int, first: int, last: int
) -> dict[str, Any] | None:
    """Stored figures of the closed month of local days `first`..`last`, or None."""
    row = db.execute(
        "SELECT data FROM outcome_months WHERE utc_offset = ? AND first_day = ? AND last_day = ?",
        [int(offset_seconds), first, last],
    ).fetchone()
    return json.loads(row[0]) if row else None


def save_month_rollup(
    db: sqlite_utils.Database, offset_seconds: int, first: int, last: int, data: dict[str, Any]
) -> None:
    """Keep the figures of a closed month."""
    db.execute(
        "INSERT OR REPLACE INTO outcome_months (utc_offset, first_day, last_day, data) "
        "VALUES (?, ?, ?, ?)",
        [int(offset_seconds), first, last, json.dumps(data)],
    )


# Hand-over queue -----------------------------------------------------------------------------


def handover_queue(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Conversations flagged for staff, oldest request first, with the citizen's name."""
    return list(
        db.query(
            "SELECT c.user_id, c.handover_at, c.handover_reason, c.staff_active_until, "
            "u.display_name, u.ward, u.last_interaction_at FROM conversations c "
            "LEFT JOIN users u ON u.user_id = c.user_id WHERE c.handover = 1 "
            "ORDER BY c.handover_at"
        )
    )


def is_handed_over(db: sqlite_utils.Database, user_id: str) -> bool:
    """True when the conversation is currently flagged for staff."""
    row = db.execute("SELECT handover FROM conversations WHERE user_id = ?", [user_id]).fetchone()
    return bool(row and row[0])


def recent_messages(
    db: sqlite_utils.Database, user_id: str, limit: int = 10
) -> list[dict[str, Any]]:
    """The last messages both ways (citizen texts and bot replies), oldest first."""
    inbound = db.execute(
        "SELECT received_at, text FROM inbound_events WHERE user_id = ? AND text IS NOT NULL "
        "ORDER BY received_at DESC, id DESC LIMIT ?",
        [user_id, limit],
    ).fetchall()
    outbound = db.execute(
        "SELECT created_at, payload, source FROM outbox WHERE user_id = ? AND channel = 'cs' "
        "ORDER BY created_at DESC, id DESC LIMIT ?",
        [user_id, limit],
    ).fetchall()
    messages = [{"at": at, "who": "citizen", "text": text} for at, text in inbound]
    for at, payload, source in outbound:
        try:
            text = json.loads(payload).get("text", "")
        except (ValueError, AttributeError):
            text = ""
        messages.append({"at": at, "who": "bot" if source == "reply" else "oa", "text": text})
    messages.sort(key=lambda m: (m["at"], m["who"] != "citizen"))
    return messages[-limit:]
