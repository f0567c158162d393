"""SQL for recorded webhook events and the turn worker's claims on them.

The webhook inserts an event 'pending' (its dedup key is unique: a redelivery inserts nothing).
A turn worker claims pending events under a lease; only a citizen's earliest pending event is
claimable, so one citizen's messages are answered in the order they were recorded while several
citizens are answered at once. The turn's effects and the event's 'done' (or 'poison') are
committed in one transaction by the lease holder; a worker that dies leaves its claims to lapse
(or to be freed at once when its process is gone).
"""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from bot.storage import transaction

MIGRATIONS = [
    # An event is recorded 'pending' with its parsed form and answered by the turn worker;
    # events recorded before were answered in their request ('done').
    """
    ALTER TABLE inbound_events ADD COLUMN event TEXT;
    ALTER TABLE inbound_events ADD COLUMN status TEXT NOT NULL DEFAULT 'done';
    ALTER TABLE inbound_events ADD COLUMN lease_owner TEXT;
    ALTER TABLE inbound_events ADD COLUMN lease_until REAL;
    ALTER TABLE inbound_events ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE inbound_events ADD COLUMN answered_at REAL;
    CREATE INDEX inbound_events_pending ON inbound_events (id) WHERE status = 'pending';
    CREATE INDEX inbound_events_pending_user ON inbound_events (user_id, id)
        WHERE status = 'pending'
    """,
]

_CLAIMABLE = (
    "SELECT e.id FROM inbound_events e WHERE e.status = 'pending' "
    "AND (e.lease_until IS NULL OR e.lease_until < :now) "
    "AND NOT EXISTS (SELECT 1 FROM inbound_events p WHERE p.status = 'pending' "
    "AND p.user_id = e.user_id AND p.id < e.id) "
    "ORDER BY e.id LIMIT :limit"
)


def record(
    db: sqlite_utils.Database,
    dedup_key: str,
    event: dict[str, Any],
    num_retry: int,
    now: float,
    *,
    status: str = "pending",
) -> int | None:
    """Store a verified event for the turn worker; its row id, or None for a redelivery."""
    cursor = db.execute(
        "INSERT INTO inbound_events (dedup_key, event_name, user_id, msg_id, text, "
        "zalo_timestamp, num_retry, received_at, event, status) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(dedup_key) DO NOTHING",
        [
            dedup_key,
            event.get("name", ""),
            event.get("user_id", ""),
            event.get("msg_id", ""),
            event.get("text", ""),
            event.get("timestamp", ""),
            num_retry,
            now,
            json.dumps(event, ensure_ascii=False),
            status,
        ],
    )
    return cursor.lastrowid if cursor.rowcount == 1 else None


def claim(
    db: sqlite_utils.Database, owner: str, now: float, limit: int, lease: float
) -> list[dict[str, Any]]:
    """Lease up to `limit` claimable events to `owner`: each the earliest pending one of its
    citizen, not leased by a live claim. Returns the rows (id, event, received_at, attempts)."""
    with transaction(db):
        ids = [r[0] for r in db.execute(_CLAIMABLE, {"now": now, "limit": limit})]
        if not ids:
            return []
        marks = ", ".join("?" for _ in ids)
        db.execute(
            f"UPDATE inbound_events SET lease_owner = ?, lease_until = ?, attempts = attempts + 1 "
            f"WHERE id IN ({marks})",
            [owner, now + lease, *ids],
        )
        rows = db.execute(
            f"SELECT id, event, received_at, attempts, num_retry FROM inbound_events "
            f"WHERE id IN ({marks}) ORDER BY id",
            ids,
        ).fetchall()
    return [
        {
            "id": r[0],
            "event": json.loads(r[1]),
            "received_at": r[2],
            "attempts": r[3],
            "num_retry": r[4],
        }
        for r in rows
    ]


def finish(db: sqlite_utils.Database, event_id: int, owner: str, status: str, now: float) -> bool:
    """Mark a claimed event answered ('done') or given up ('poison'); False when `owner` no
    longer holds it (the caller's transaction must then be rolled back). The stored event is
    dropped: the `text` column keeps what the console shows, and retention blanks it."""
    cursor = db.execute(
        "UPDATE inbound_events SET status = ?, answered_at = ?, lease_owner = NULL, "
        "lease_until = NULL, event = NULL WHERE id = ? AND status = 'pending' AND lease_owner = ?",
        [status, now, event_id, owner],
    )
    return cursor.rowcount == 1


def release(db: sqlite_utils.Database, event_id: int, owner: str, retry_at: float) -> None:
    """Hand a claimed event back, claimable again from `retry_at` (after a storage failure)."""
    db.execute(
        "UPDATE inbound_events SET lease_owner = NULL, lease_until = ? "
        "WHERE id = ? AND status = 'pending' AND lease_owner = ?",
        [retry_at, event_id, owner],
    )


def lease_owners(db: sqlite_utils.Database, now: float) -> list[str]:
    """Owners holding live claims (to check whether their processes still run)."""
    rows = db.execute(
        "SELECT DISTINCT lease_owner FROM inbound_events WHERE status = 'pending' "
        "AND lease_owner IS NOT NULL AND lease_until >= ?",
        [now],
    )
    return [r[0] for r in rows]


def expire_leases(db: sqlite_utils.Database, owners: list[str], now: float) -> int:
    """End the claims of owners known to be dead; return how many events were freed."""
    if not owners:
        return 0
    marks = ", ".join("?" for _ in owners)
    with transaction(db):
        return db.execute(
            f"UPDATE inbound_events SET lease_owner = NULL, lease_until = NULL "
            f"WHERE status = 'pending' AND lease_owner IN ({marks})",
            owners,
        ).rowcount


def backlog(db: sqlite_utils.Database) -> dict[str, Any]:
    """Pending events and the age of the oldest (for health and the console)."""
    count, oldest = db.execute(
        "SELECT count(*), min(received_at) FROM inbound_events WHERE status = 'pending'"
    ).fetchone()
    return {"pending": count, "oldest_received_at": oldest}
