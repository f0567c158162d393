"""SQL for broadcasts and their deliveries, follower tags, news items, dossiers and reminders."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlite_utils

MIGRATIONS = [
    """
    CREATE TABLE broadcasts (
        id INTEGER PRIMARY KEY,
        text TEXT NOT NULL,
        link_url TEXT,
        link_title TEXT,
        image_url TEXT,
        audience TEXT NOT NULL,
        send_at REAL,
        state TEXT NOT NULL,
        source TEXT NOT NULL DEFAULT 'manual',
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        started_at REAL,
        finished_at REAL,
        recipients INTEGER
    );
    CREATE INDEX broadcasts_due ON broadcasts (state, send_at);
    CREATE TABLE broadcast_deliveries (
        broadcast_id INTEGER NOT NULL REFERENCES broadcasts(id) ON DELETE CASCADE,
        user_id TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'planned',
        channel TEXT,
        reason TEXT,
        outbox_key TEXT,
        handed_at REAL,
        PRIMARY KEY (broadcast_id, user_id)
    ) WITHOUT ROWID;
    CREATE INDEX broadcast_deliveries_status ON broadcast_deliveries (broadcast_id, status);
    CREATE INDEX broadcast_deliveries_user ON broadcast_deliveries (user_id);
    CREATE TABLE follower_tags (
        tag TEXT NOT NULL,
        user_id TEXT NOT NULL,
        synced_at REAL NOT NULL,
        PRIMARY KEY (tag, user_id)
    ) WITHOUT ROWID;
    CREATE INDEX follower_tags_user ON follower_tags (user_id);
    CREATE TABLE news_items (
        id INTEGER PRIMARY KEY,
        item_key TEXT NOT NULL UNIQUE,
        title TEXT NOT NULL,
        link TEXT,
        published TEXT,
        broadcast_id INTEGER,
        seen_at REAL NOT NULL
    );
    CREATE TABLE dossiers (
        code TEXT PRIMARY KEY,
        procedure TEXT NOT NULL,
        applicant TEXT NOT NULL DEFAULT '',
        phone TEXT,
        status TEXT NOT NULL,
        office TEXT NOT NULL DEFAULT '',
        appointment TEXT,
        zalo_user_id TEXT,
        imported_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        status_changed_at REAL NOT NULL
    );
    CREATE INDEX dossiers_user ON dossiers (zalo_user_id);
    CREATE INDEX dossiers_appointment ON dossiers (appointment);
    CREATE TABLE dossier_subscriptions (
        user_id TEXT NOT NULL,
        code TEXT NOT NULL REFERENCES dossiers(code) ON DELETE CASCADE,
        created_at REAL NOT NULL,
        PRIMARY KEY (user_id, code)
    ) WITHOUT ROWID;
    CREATE INDEX dossier_subscriptions_code ON dossier_subscriptions (code);
    CREATE TABLE reminders_sent (
        code TEXT NOT NULL,
        user_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        at REAL NOT NULL,
        channel TEXT,
        status TEXT NOT NULL,
        reason TEXT,
        PRIMARY KEY (code, user_id, kind)
    ) WITHOUT ROWID
    """,
]

FINAL_OUTBOX = ("sent", "failed", "unreachable", "template_needed")
"""Outbox statuses after which a row is never tried again."""


def _one(db: sqlite_utils.Database, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
    """The first row of a query as a dict, or None."""
    rows = list(db.query(sql, params))
    return rows[0] if rows else None


def _scalar(db: sqlite_utils.Database, sql: str, params: Sequence[Any] = ()) -> Any:
    """The single value of a query."""
    return db.execute(sql, params).fetchone()[0]


# Broadcasts ------------------------------------------------------------------------------------


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
    return _one(db, "SELECT * FROM broadcasts WHERE id = ?", [broadcast_id])


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
    total = _scalar(
        db, "SELECT count(*) FROM broadcast_deliveries WHERE broadcast_id = ?", [broadcast_id]
    )
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
    return int(
        _scalar(
            db,
            "SELECT count(*) FROM broadcast_deliveries WHERE broadcast_id = ? "
            "AND status = 'planned'",
            [broadcast_id],
        )
    )


def count_open_outbox(db: sqlite_utils.Database, source: str, source_id: str) -> int:
    """Outbox rows of a source still waiting for a final status."""
    marks = ", ".join("?" for _ in FINAL_OUTBOX)
    return int(
        _scalar(
            db,
            f"SELECT count(*) FROM outbox WHERE source = ? AND source_id = ? "
            f"AND status NOT IN ({marks})",
            [source, source_id, *FINAL_OUTBOX],
        )
    )


def count_rate_limited(db: sqlite_utils.Database, source: str) -> int:
    """Outbox rows of a source waiting for a retry after Zalo's rate limit (-32)."""
    marks = ", ".join("?" for _ in FINAL_OUTBOX)
    return int(
        _scalar(
            db,
            f"SELECT count(*) FROM outbox WHERE source = ? AND error_code = -32 "
            f"AND status NOT IN ({marks})",
            [source, *FINAL_OUTBOX],
        )
    )


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


# Followers and tags ----------------------------------------------------------------------------


def mark_followers(db: sqlite_utils.Database, user_ids: Sequence[str], now: float) -> int:
    """Record users as followers (creating them); return how many were new to us."""
    before = _scalar(db, "SELECT count(*) FROM users")
    db.conn.executemany(
        "INSERT INTO users (user_id, follow_state, followed_at, created_at) "
        "VALUES (?, 'follower', ?, ?) ON CONFLICT(user_id) DO UPDATE SET "
        "follow_state = 'follower' WHERE users.follow_state != 'follower'",
        [(user_id, now, now) for user_id in user_ids],
    )
    return int(_scalar(db, "SELECT count(*) FROM users")) - int(before)


def replace_tag(db: sqlite_utils.Database, tag: str, user_ids: Sequence[str], now: float) -> None:
    """Make `user_ids` the members of `tag`."""
    db.execute("DELETE FROM follower_tags WHERE tag = ?", [tag])
    db.conn.executemany(
        "INSERT INTO follower_tags (tag, user_id, synced_at) VALUES (?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        [(tag, user_id, now) for user_id in user_ids],
    )


def drop_tags_except(db: sqlite_utils.Database, tags: Sequence[str]) -> None:
    """Forget tags that no longer exist on the OA."""
    marks = ", ".join("?" for _ in tags) or "''"
    db.execute(f"DELETE FROM follower_tags WHERE tag NOT IN ({marks})", list(tags))


def tag_counts(db: sqlite_utils.Database) -> dict[str, int]:
    """Members per known tag."""
    rows = db.execute("SELECT tag, count(*) FROM follower_tags GROUP BY tag ORDER BY tag")
    return {tag: number for tag, number in rows.fetchall()}


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


# Dossiers --------------------------------------------------------------------------------------

DOSSIER_FIELDS = (
    "procedure",
    "applicant",
    "phone",
    "status",
    "office",
    "appointment",
    "zalo_user_id",
)


def get_dossiers(db: sqlite_utils.Database, codes: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Stored dossiers by code, for the codes given."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(codes), 500):
        chunk = list(codes[start : start + 500])
        marks = ", ".join("?" for _ in chunk)
        for row in db.query(f"SELECT * FROM dossiers WHERE code IN ({marks})", chunk):
            found[row["code"]] = row
    return found


def get_dossier(db: sqlite_utils.Database, code: str) -> dict[str, Any] | None:
    """One stored dossier, or None."""
    return _one(db, "SELECT * FROM dossiers WHERE code = ?", [code])


def upsert_dossier(
    db: sqlite_utils.Database, code: str, values: dict[str, Any], status_changed: bool, now: float
) -> None:
    """Insert or update one dossier from an import."""
    fields = [values.get(name) for name in DOSSIER_FIELDS]
    db.execute(
        "INSERT INTO dossiers (code, procedure, applicant, phone, status, office, appointment, "
        "zalo_user_id, imported_at, updated_at, status_changed_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(code) DO UPDATE SET "
        "procedure = excluded.procedure, applicant = excluded.applicant, phone = excluded.phone, "
        "status = excluded.status, office = excluded.office, appointment = excluded.appointment, "
        "zalo_user_id = excluded.zalo_user_id, updated_at = excluded.updated_at, "
        "status_changed_at = CASE WHEN ? THEN excluded.updated_at ELSE status_changed_at END",
        [code, *fields, now, now, now, int(status_changed)],
    )


def dossiers_linked_to(db: sqlite_utils.Database, user_id: str) -> list[dict[str, Any]]:
    """Dossiers the one-stop export links to this Zalo user."""
    return list(db.query("SELECT * FROM dossiers WHERE zalo_user_id = ? ORDER BY code", [user_id]))


def subscribe(db: sqlite_utils.Database, user_id: str, code: str, now: float) -> bool:
    """Subscribe a user to reminders for a dossier; True when newly subscribed."""
    cursor = db.execute(
        "INSERT INTO dossier_subscriptions (user_id, code, created_at) VALUES (?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        [user_id, code, now],
    )
    return cursor.rowcount == 1


def unsubscribe_all(db: sqlite_utils.Database, user_id: str) -> int:
    """Stop every reminder of a user; return how many subscriptions ended."""
    return db.execute("DELETE FROM dossier_subscriptions WHERE user_id = ?", [user_id]).rowcount


def count_subscribers(db: sqlite_utils.Database, code: str) -> int:
    """How many citizens get reminders for a dossier."""
    return int(_scalar(db, "SELECT count(*) FROM dossier_subscriptions WHERE code = ?", [code]))


def is_subscribed(db: sqlite_utils.Database, user_id: str, code: str) -> bool:
    """Whether a citizen gets reminders for a dossier."""
    return bool(
        _scalar(
            db,
            "SELECT count(*) FROM dossier_subscriptions WHERE user_id = ? AND code = ?",
            [user_id, code],
        )
    )


def subscribed_dossiers(
    db: sqlite_utils.Database, appointment: str | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    """Subscriptions joined with their dossier, filtered by appointment date and/or status."""
    where, params = [], []
    if appointment is not None:
        where.append("d.appointment = ?")
        params.append(appointment)
    if status is not None:
        where.append("d.status = ?")
        params.append(status)
    condition = " AND ".join(where) or "1"
    return list(
        db.query(
            "SELECT s.user_id, s.created_at AS subscribed_at, d.*, u.follow_state, "
            "u.last_interaction_at FROM dossier_subscriptions s "
            "JOIN dossiers d ON d.code = s.code LEFT JOIN users u ON u.user_id = s.user_id "
            f"WHERE {condition} ORDER BY d.code, s.user_id",
            params,
        )
    )


def record_reminder(
    db: sqlite_utils.Database,
    code: str,
    user_id: str,
    kind: str,
    now: float,
    channel: str | None,
    status: str,
    reason: str | None = None,
) -> bool:
    """Claim a reminder (at most once per dossier, user and kind); True when newly claimed."""
    cursor = db.execute(
        "INSERT INTO reminders_sent (code, user_id, kind, at, channel, status, reason) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [code, user_id, kind, now, channel, status, reason],
    )
    return cursor.rowcount == 1


def refused_reminders(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Reminders sent as consultation messages that Zalo refused as outside the window."""
    return list(
        db.query(
            "SELECT r.kind, r.user_id, d.* FROM reminders_sent r "
            "JOIN outbox o ON o.key = 'rm:' || r.kind || ':' || r.code || ':' || r.user_id "
            "JOIN dossiers d ON d.code = r.code "
            "WHERE r.channel = 'cs' AND r.status = 'queued' AND o.status = 'template_needed'"
        )
    )


def switch_reminder_to_template(
    db: sqlite_utils.Database, code: str, user_id: str, kind: str
) -> bool:
    """Note that a refused reminder goes out as the template; False if already switched."""
    cursor = db.execute(
        "UPDATE reminders_sent SET channel = 'template' "
        "WHERE code = ? AND user_id = ? AND kind = ? AND channel = 'cs'",
        [code, user_id, kind],
    )
    return cursor.rowcount == 1


def reminders_for(db: sqlite_utils.Database, code: str) -> list[dict[str, Any]]:
    """Reminders recorded for a dossier."""
    return list(db.query("SELECT * FROM reminders_sent WHERE code = ? ORDER BY at", [code]))


# Privacy and retention -------------------------------------------------------------------------


def delete_user(db: sqlite_utils.Database, user_id: str) -> None:
    """Forget a citizen in the outreach tables (subscriptions, tags, links, planned sends)."""
    db.execute("DELETE FROM dossier_subscriptions WHERE user_id = ?", [user_id])
    db.execute("DELETE FROM reminders_sent WHERE user_id = ?", [user_id])
    db.execute("DELETE FROM follower_tags WHERE user_id = ?", [user_id])
    db.execute("UPDATE dossiers SET zalo_user_id = NULL WHERE zalo_user_id = ?", [user_id])
    db.execute(
        "UPDATE broadcast_deliveries SET status = 'cancelled', reason = 'data deleted' "
        "WHERE user_id = ? AND status = 'planned'",
        [user_id],
    )


def purge(db: sqlite_utils.Database, before: float, final_statuses: Sequence[str]) -> int:
    """Retention: drop closed dossiers untouched since `before` and old reminder records."""
    marks = ", ".join("?" for _ in final_statuses)
    cursor = db.execute(
        f"DELETE FROM dossiers WHERE updated_at < ? AND status IN ({marks})",
        [before, *final_statuses],
    )
    db.execute(
        "DELETE FROM reminders_sent WHERE at < ? AND code NOT IN (SELECT code FROM dossiers)",
        [before],
    )
    return cursor.rowcount
