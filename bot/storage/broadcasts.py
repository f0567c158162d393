"""SQL for broadcasts: audiences, recipients (deliveries), progress, and the news items behind them.

The tables are created by the "outreach" area's migrations in `bot.storage.outreach`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlite_utils

from bot.storage.outbox import FINAL_STATUSES

# Broadcasts and deliveries -----------------------------------------------------------------------


def insert_broadcast(
    db: sqlite_utils.Database,
    text: str,
    audience: str,
    send_at: float | None,
    state: str,
    now: float,
    link_url: str | None = None,
    link_title: str | None = None,
    image_url: str | None = None,
    source: str = "manual",
) -> int:
    """Store a new broadcast; return its id."""
    cursor = db.execute(
        "INSERT INTO broadcasts (text, link_url, link_title, image_url, audience, send_at, state, "
        "source, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [text, link_url, link_title, image_url, audience, send_at, state, source, now, now],
    )
    return int(cursor.lastrowid)


def get_broadcast(db: sqlite_utils.Database, broadcast_id: int) -> dict[str, Any] | None:
    """The broadcast row, or None."""
    rows = list(db.query("SELECT * FROM broadcasts WHERE id = ?", [broadcast_id]))
    return rows[0] if rows else None


def list_broadcasts(db: sqlite_utils.Database, limit: int = 100) -> list[dict[str, Any]]:
    """The latest broadcasts, newest first."""
    return list(db.query("SELECT * FROM broadcasts ORDER BY id DESC LIMIT ?", [limit]))


def update_broadcast_state(
    db: sqlite_utils.Database,
    broadcast_id: int,
    state: str,
    now: float,
    from_states: Iterable[str],
    send_at: float | None = None,
) -> bool:
    """Move a broadcast to `state` if it is in one of `from_states`; True when it moved."""
    states = list(from_states)
    marks = ", ".join("?" for _ in states)
    cursor = db.execute(
        f"UPDATE broadcasts SET state = ?, updated_at = ?, send_at = COALESCE(?, send_at), "
        f"started_at = CASE WHEN ? = 'sending' THEN ? ELSE started_at END, "
        f"finished_at = CASE WHEN ? IN ('done', 'cancelled') THEN ? ELSE finished_at END "
        f"WHERE id = ? AND state IN ({marks})",
        [state, now, send_at, state, now, state, now, broadcast_id, *states],
    )
    return cursor.rowcount == 1


def due_broadcasts(db: sqlite_utils.Database, now: float) -> list[dict[str, Any]]:
    """Broadcasts being sent, then scheduled ones whose send time has come, oldest first."""
    return list(
        db.query(
            "SELECT * FROM broadcasts WHERE state = 'sending' "
            "OR (state = 'scheduled' AND send_at <= ?) ORDER BY state = 'scheduled', send_at, id",
            [now],
        )
    )


def audience_where(kind: str, value: str, now: float) -> tuple[str, list[Any]]:
    """The SQL condition on `users u` selecting an audience (kinds: all, tag, ward, recent)."""
    if kind == "all":
        return "u.follow_state = 'follower'", []
    if kind == "tag":
        return (
            "u.follow_state = 'follower' AND u.user_id IN "
            "(SELECT user_id FROM follower_tags WHERE tag = ?)",
            [value],
        )
    if kind == "ward":
        return "u.follow_state != 'unfollowed' AND lower(u.ward) = lower(?)", [value]
    if kind == "recent":
        return (
            "u.follow_state != 'unfollowed' AND u.last_interaction_at >= ?",
            [now - float(value) * 86400],
        )
    raise ValueError(f"unknown audience kind '{kind}'")


def audience_rows(
    db: sqlite_utils.Database, kind: str, value: str, now: float
) -> list[tuple[str, str, float | None]]:
    """(user_id, follow_state, last_interaction_at) of everyone in an audience."""
    where, params = audience_where(kind, value, now)
    return db.execute(
        f"SELECT u.user_id, u.follow_state, u.last_interaction_at FROM users u WHERE {where}",
        params,
    ).fetchall()


def snapshot_audience(
    db: sqlite_utils.Database, broadcast_id: int, kind: str, value: str, now: float
) -> int:
    """Fix the recipients of a broadcast (one planned delivery each); return their number."""
    where, params = audience_where(kind, value, now)
    db.execute(
        "INSERT INTO broadcast_deliveries (broadcast_id, user_id) "
        f"SELECT ?, u.user_id FROM users u WHERE {where} ON CONFLICT DO NOTHING",
        [broadcast_id, *params],
    )
    (total,) = db.execute(
        "SELECT count(*) FROM broadcast_deliveries WHERE broadcast_id = ?", [broadcast_id]
    ).fetchone()
    db.execute("UPDATE broadcasts SET recipients = ? WHERE id = ?", [total, broadcast_id])
    return int(total)


def planned_batch(
    db: sqlite_utils.Database, broadcast_id: int, limit: int
) -> list[tuple[str, str | None, float | None]]:
    """Up to `limit` recipients not yet handed over: (user_id, follow_state, last_interaction)."""
    return db.execute(
        "SELECT d.user_id, u.follow_state, u.last_interaction_at FROM broadcast_deliveries d "
        "LEFT JOIN users u ON u.user_id = d.user_id "
        "WHERE d.broadcast_id = ? AND d.status = 'planned' ORDER BY d.user_id LIMIT ?",
        [broadcast_id, limit],
    ).fetchall()


def mark_deliveries(
    db: sqlite_utils.Database,
    broadcast_id: int,
    rows: Sequence[tuple[str, str | None, str | None, str | None, float, str]],
) -> None:
    """Record hand-overs: rows of (status, channel, reason, outbox_key, handed_at, user_id)."""
    db.conn.executemany(
        "UPDATE broadcast_deliveries SET status = ?, channel = ?, reason = ?, outbox_key = ?, "
        f"handed_at = ? WHERE user_id = ? AND broadcast_id = {int(broadcast_id)}",
        rows,
    )


def enqueue_many(
    db: sqlite_utils.Database,
    rows: Sequence[tuple[str, str, str, str, str, str, float, float]],
) -> None:
    """Queue outbox rows in bulk, idempotent on key; rows as `core.enqueue` would insert them.

    Each row is (key, user_id, channel, payload_json, source, source_id, next_attempt_at,
    created_at). This is `bot.storage.core.enqueue` for thousands of rows at a time.
    """
    db.conn.executemany(
        "INSERT INTO outbox (key, user_id, channel, payload, source, source_id, "
        "next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(key) DO NOTHING",
        rows,
    )


def template_fallbacks(db: sqlite_utils.Database, broadcast_id: int, limit: int) -> list[str]:
    """Recipients whose consultation message Zalo refused as outside the window (-230)."""
    rows = db.execute(
        "SELECT d.user_id FROM broadcast_deliveries d JOIN outbox o ON o.key = d.outbox_key "
        "WHERE d.broadcast_id = ? AND d.channel = 'cs' AND o.status = 'template_needed' "
        "ORDER BY d.user_id LIMIT ?",
        [broadcast_id, limit],
    ).fetchall()
    return [user_id for (user_id,) in rows]


def count_planned(db: sqlite_utils.Database, broadcast_id: int) -> int:
    """How many recipients of a broadcast are not handed over yet."""
    (count,) = db.execute(
        "SELECT count(*) FROM broadcast_deliveries WHERE broadcast_id = ? AND status = 'planned'",
        [broadcast_id],
    ).fetchone()
    return int(count)


def count_open_outbox(db: sqlite_utils.Database, source: str, source_id: str) -> int:
    """Outbox rows of a source still waiting for a final status."""
    marks = ", ".join("?" for _ in FINAL_STATUSES)
    (count,) = db.execute(
        f"SELECT count(*) FROM outbox WHERE source = ? AND source_id = ? "
        f"AND status NOT IN ({marks})",
        [source, source_id, *FINAL_STATUSES],
    ).fetchone()
    return int(count)


def count_rate_limited(db: sqlite_utils.Database, source: str) -> int:
    """Outbox rows of a source waiting for a retry after Zalo's rate limit (-32)."""
    marks = ", ".join("?" for _ in FINAL_STATUSES)
    (count,) = db.execute(
        f"SELECT count(*) FROM outbox WHERE source = ? AND error_code = -32 "
        f"AND status NOT IN ({marks})",
        [source, *FINAL_STATUSES],
    ).fetchone()
    return int(count)


def broadcast_progress(db: sqlite_utils.Database, broadcast_id: int) -> dict[str, int]:
    """Recipient counts by outcome: sent, not_reachable, failed, pending, cancelled, total."""
    counts = {"sent": 0, "not_reachable": 0, "failed": 0, "pending": 0, "cancelled": 0}
    rows = db.execute(
        "SELECT d.status, o.status, count(*) FROM broadcast_deliveries d "
        "LEFT JOIN outbox o ON o.key = d.outbox_key WHERE d.broadcast_id = ? "
        "GROUP BY d.status, o.status",
        [broadcast_id],
    ).fetchall()
    for mine, theirs, number in rows:
        if mine == "unreachable" or theirs in ("unreachable", "template_needed"):
            counts["not_reachable"] += number
        elif mine == "cancelled":
            counts["cancelled"] += number
        elif theirs == "sent":
            counts["sent"] += number
        elif theirs == "failed":
            counts["failed"] += number
        else:
            counts["pending"] += number
    counts["total"] = sum(counts.values())
    return counts


def unreachable_reasons(db: sqlite_utils.Database, broadcast_id: int) -> dict[str, int]:
    """Why recipients of a broadcast could not be reached, with counts."""
    rows = db.execute(
        "SELECT coalesce(d.reason, o.error, o.status), count(*) FROM broadcast_deliveries d "
        "LEFT JOIN outbox o ON o.key = d.outbox_key WHERE d.broadcast_id = ? AND "
        "(d.status = 'unreachable' OR o.status IN ('unreachable', 'template_needed')) "
        "GROUP BY 1",
        [broadcast_id],
    ).fetchall()
    return {str(reason): number for reason, number in rows}


def cancel_planned(db: sqlite_utils.Database, broadcast_id: int, now: float) -> int:
    """Cancel the recipients not handed over yet, and queued rows not yet picked up."""
    cursor = db.execute(
        "UPDATE broadcast_deliveries SET status = 'cancelled', handed_at = ? "
        "WHERE broadcast_id = ? AND status = 'planned'",
        [now, broadcast_id],
    )
    pulled = db.execute(
        "SELECT key FROM outbox WHERE source = 'broadcast' AND source_id = ? AND "
        "status = 'pending' AND attempts = 0 AND (lease_until IS NULL OR lease_until < ?)",
        [str(broadcast_id), now],
    ).fetchall()
    keys = [key for (key,) in pulled]
    db.conn.executemany("DELETE FROM outbox WHERE key = ? AND status = 'pending'", pulled)
    db.conn.executemany(
        "UPDATE broadcast_deliveries SET status = 'cancelled' WHERE outbox_key = ?", pulled
    )
    return cursor.rowcount + len(keys)


# News ------------------------------------------------------------------------------------------


def insert_news_item(
    db: sqlite_utils.Database, item_key: str, title: str, link: str, published: str, now: float
) -> int | None:
    """Remember a feed item; return its id, or None when it was seen before."""
    cursor = db.execute(
        "INSERT INTO news_items (item_key, title, link, published, seen_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT(item_key) DO NOTHING",
        [item_key, title, link, published, now],
    )
    return cursor.lastrowid if cursor.rowcount == 1 else None


def link_news_broadcast(db: sqlite_utils.Database, item_id: int, broadcast_id: int) -> None:
    """Note the draft broadcast made from a news item."""
    db.execute("UPDATE news_items SET broadcast_id = ? WHERE id = ?", [broadcast_id, item_id])
