"""SQL for users, inbound events, conversations, turns, the outbox queue, tokens and locks."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from typing import Any

import sqlite_utils

FINISHED = ("sent", "failed", "unreachable", "template_needed")
"""Outbox statuses after which a message is only history (`bot.storage.outbox.FINAL_STATUSES`)."""

MIGRATIONS = [
    """
    CREATE TABLE users (
        user_id TEXT PRIMARY KEY,
        follow_state TEXT NOT NULL DEFAULT 'unknown',
        followed_at REAL,
        unfollowed_at REAL,
        last_interaction_at REAL,
        ward TEXT,
        display_name TEXT,
        created_at REAL NOT NULL
    );
    CREATE TABLE inbound_events (
        id INTEGER PRIMARY KEY,
        dedup_key TEXT NOT NULL UNIQUE,
        event_name TEXT NOT NULL,
        user_id TEXT,
        msg_id TEXT,
        text TEXT,
        zalo_timestamp TEXT,
        num_retry INTEGER NOT NULL DEFAULT 0,
        received_at REAL NOT NULL
    );
    CREATE INDEX inbound_events_user ON inbound_events (user_id, received_at);
    CREATE INDEX inbound_events_received ON inbound_events (received_at);
    CREATE TABLE conversations (
        user_id TEXT PRIMARY KEY,
        state TEXT NOT NULL DEFAULT '{}',
        updated_at REAL NOT NULL,
        handover INTEGER NOT NULL DEFAULT 0,
        handover_at REAL,
        handover_reason TEXT,
        staff_active_until REAL
    );
    CREATE TABLE turns (
        id INTEGER PRIMARY KEY,
        inbound_id INTEGER REFERENCES inbound_events(id) ON DELETE SET NULL,
        user_id TEXT NOT NULL,
        at REAL NOT NULL,
        kind TEXT NOT NULL,
        topic TEXT,
        section TEXT,
        score REAL
    );
    CREATE INDEX turns_at ON turns (at);
    CREATE TABLE unanswered (
        id INTEGER PRIMARY KEY,
        user_id TEXT,
        text TEXT NOT NULL,
        best_guess TEXT,
        score REAL,
        at REAL NOT NULL,
        status TEXT NOT NULL DEFAULT 'open',
        assigned_topic TEXT
    );
    CREATE TABLE ratings (
        id INTEGER PRIMARY KEY,
        user_id TEXT,
        topic TEXT NOT NULL,
        helpful INTEGER NOT NULL,
        at REAL NOT NULL
    );
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        user_id TEXT NOT NULL,
        channel TEXT NOT NULL DEFAULT 'cs',
        payload TEXT NOT NULL,
        source TEXT NOT NULL DEFAULT 'reply',
        source_id TEXT,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL,
        lease_until REAL,
        created_at REAL NOT NULL,
        sent_at REAL,
        zalo_message_id TEXT,
        error_code INTEGER,
        error TEXT
    );
    CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
    CREATE INDEX outbox_source ON outbox (source, source_id);
    CREATE TABLE tokens (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        access_token TEXT,
        refresh_token TEXT,
        expires_at REAL,
        issued_at REAL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE locks (
        name TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        expires_at REAL NOT NULL
    );
    CREATE TABLE other_events (
        id INTEGER PRIMARY KEY,
        event_name TEXT NOT NULL,
        user_id TEXT,
        at REAL NOT NULL
    )
    """,
    # Console login throttling (bot.storage.throttle): failures per key in a fixed window.
    """
    CREATE TABLE login_throttle (
        key TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        window_start REAL NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX login_throttle_window ON login_throttle (window_start)
    """,
]


def record_inbound(
    db: sqlite_utils.Database,
    dedup_key: str,
    event_name: str,
    user_id: str,
    msg_id: str,
    text: str,
    zalo_timestamp: str,
    num_retry: int,
    now: float,
) -> int | None:
    """Store an inbound event; return its row id, or None when it was seen before."""
    cursor = db.execute(
        "INSERT INTO inbound_events (dedup_key, event_name, user_id, msg_id, text, "
        "zalo_timestamp, num_retry, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(dedup_key) DO NOTHING",
        [dedup_key, event_name, user_id, msg_id, text, zalo_timestamp, num_retry, now],
    )
    return cursor.lastrowid if cursor.rowcount == 1 else None


def touch_user(
    db: sqlite_utils.Database,
    user_id: str,
    now: float,
    follow_state: str | None = None,
    interaction: bool = True,
) -> None:
    """Create the user if new; record an interaction and/or a follow-state change."""
    db.execute(
        "INSERT INTO users (user_id, created_at) VALUES (?, ?) ON CONFLICT(user_id) DO NOTHING",
        [user_id, now],
    )
    if interaction:
        db.execute("UPDATE users SET last_interaction_at = ? WHERE user_id = ?", [now, user_id])
    if follow_state == "follower":
        db.execute(
            "UPDATE users SET follow_state = 'follower', followed_at = ? WHERE user_id = ?",
            [now, user_id],
        )
    elif follow_state == "unfollowed":
        db.execute(
            "UPDATE users SET follow_state = 'unfollowed', unfollowed_at = ? WHERE user_id = ?",
            [now, user_id],
        )


def get_user(db: sqlite_utils.Database, user_id: str) -> dict[str, Any] | None:
    """The user row, or None."""
    rows = list(db.query("SELECT * FROM users WHERE user_id = ?", [user_id]))
    return rows[0] if rows else None


def set_ward(db: sqlite_utils.Database, user_id: str, ward: str | None) -> None:
    """Remember the ward the citizen said they live in."""
    db.execute("UPDATE users SET ward = ? WHERE user_id = ?", [ward, user_id])


def load_conversation(db: sqlite_utils.Database, user_id: str) -> dict[str, Any]:
    """The conversation row with its state decoded; defaults for a new conversation."""
    rows = list(db.query("SELECT * FROM conversations WHERE user_id = ?", [user_id]))
    if not rows:
        return {"user_id": user_id, "state": {}, "handover": 0, "staff_active_until": None}
    row = rows[0]
    row["state"] = json.loads(row["state"])
    return row


def save_state(
    db: sqlite_utils.Database, user_id: str, state: Mapping[str, Any], now: float
) -> None:
    """Store the dialogue state of a conversation."""
    db.execute(
        "INSERT INTO conversations (user_id, state, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT(user_id) DO UPDATE SET state = excluded.state, "
        "updated_at = excluded.updated_at",
        [user_id, json.dumps(state, ensure_ascii=False), now],
    )


def set_handover(
    db: sqlite_utils.Database, user_id: str, on: bool, now: float, reason: str = ""
) -> None:
    """Flag the conversation for staff, or give it back to the bot."""
    db.execute(
        "INSERT INTO conversations (user_id, updated_at) VALUES (?, ?) "
        "ON CONFLICT(user_id) DO NOTHING",
        [user_id, now],
    )
    if on:
        db.execute(
            "UPDATE conversations SET handover = 1, handover_at = ?, handover_reason = ? "
            "WHERE user_id = ?",
            [now, reason, user_id],
        )
    else:
        db.execute(
            "UPDATE conversations SET handover = 0, staff_active_until = NULL, "
            "handover_reason = NULL WHERE user_id = ?",
            [user_id],
        )


def mark_staff_active(db: sqlite_utils.Database, user_id: str, until: float, now: float) -> None:
    """A staff member replied from the OA: keep the bot silent for this user until `until`."""
    db.execute(
        "INSERT INTO conversations (user_id, updated_at, staff_active_until) VALUES (?, ?, ?) "
        "ON CONFLICT(user_id) DO UPDATE SET staff_active_until = excluded.staff_active_until",
        [user_id, now, until],
    )


def record_turn(
    db: sqlite_utils.Database,
    inbound_id: int | None,
    user_id: str,
    now: float,
    kind: str,
    topic: str | None,
    section: str | None,
    score: float,
    faq: str | None = None,
) -> None:
    """Keep the outcome of a turn for the dashboard (no message text); `faq` is the id of the
    FAQ entry that answered (its column is added by the admin area's migrations)."""
    db.execute(
        "INSERT INTO turns (inbound_id, user_id, at, kind, topic, section, score, faq) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [inbound_id, user_id, now, kind, topic, section, score, faq],
    )


def add_unanswered(
    db: sqlite_utils.Database,
    user_id: str,
    text: str,
    best_guess: str | None,
    score: float,
    now: float,
) -> None:
    """Store a question the bot could not answer, for staff."""
    db.execute(
        "INSERT INTO unanswered (user_id, text, best_guess, score, at) VALUES (?, ?, ?, ?, ?)",
        [user_id, text, best_guess, score, now],
    )


def add_rating(
    db: sqlite_utils.Database, user_id: str, topic: str, helpful: bool, now: float
) -> None:
    """Store a citizen's rating of an answer."""
    db.execute(
        "INSERT INTO ratings (user_id, topic, helpful, at) VALUES (?, ?, ?, ?)",
        [user_id, topic, int(helpful), now],
    )


def record_other_event(
    db: sqlite_utils.Database, event_name: str, user_id: str, now: float
) -> None:
    """Keep a note of an event the bot does not act on (unknown or status events)."""
    db.execute(
        "INSERT INTO other_events (event_name, user_id, at) VALUES (?, ?, ?)",
        [event_name, user_id, now],
    )


def enqueue(
    db: sqlite_utils.Database,
    key: str,
    user_id: str,
    payload: Mapping[str, Any],
    now: float,
    source: str = "reply",
    source_id: str | None = None,
    channel: str = "cs",
    not_before: float | None = None,
) -> int | None:
    """Queue one message for delivery; `key` makes it idempotent (None if already queued)."""
    cursor = db.execute(
        "INSERT INTO outbox (key, user_id, channel, payload, source, source_id, "
        "next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(key) DO NOTHING",
        [
            key,
            user_id,
            channel,
            json.dumps(payload, ensure_ascii=False),
            source,
            source_id,
            not_before if not_before is not None else now,
            now,
        ],
    )
    return cursor.lastrowid if cursor.rowcount == 1 else None


def acquire_lock(db: sqlite_utils.Database, name: str, owner: str, ttl: float, now: float) -> bool:
    """Take (or extend) the named lock for `ttl` seconds; False if another owner holds it."""
    cursor = db.execute(
        "INSERT INTO locks (name, owner, expires_at) VALUES (?, ?, ?) "
        "ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at "
        "WHERE locks.owner = excluded.owner OR locks.expires_at < ?",
        [name, owner, now + ttl, now],
    )
    return cursor.rowcount == 1


def release_lock(db: sqlite_utils.Database, name: str, owner: str) -> None:
    """Release the named lock if `owner` holds it."""
    db.execute("DELETE FROM locks WHERE name = ? AND owner = ?", [name, owner])


def purge_texts(db: sqlite_utils.Database, before: float) -> int:
    """Retention: remove citizens' texts stored before `before`; return how many rows changed.

    Message texts are blanked; questions for staff (open ones too), conversation states and
    finished outbox messages (their payload is what we told the citizen) are deleted.
    """
    changed = db.execute(
        "UPDATE inbound_events SET text = NULL WHERE received_at < ? AND text IS NOT NULL "
        "AND status != 'pending'",
        [before],
    ).rowcount
    changed += db.execute("DELETE FROM unanswered WHERE at < ?", [before]).rowcount
    changed += db.execute("DELETE FROM conversations WHERE updated_at < ?", [before]).rowcount
    marks = ", ".join("?" for _ in FINISHED)
    changed += db.execute(
        f"DELETE FROM outbox WHERE created_at < ? AND status IN ({marks})", [before, *FINISHED]
    ).rowcount
    return changed


def delete_user_data(db: sqlite_utils.Database, user_id: str) -> None:
    """Forget a citizen: texts, conversation, questions, ratings, ward and every outbox message.

    What must stay for the dashboard counts (turns, events) is moved to a random pseudonym, so
    nothing left links the Zalo id to what the citizen asked or was told. A message being sent
    right now ('sending') is left to its sender, and a message the citizen sent after the
    deletion request (still 'pending') to the turn worker.
    """
    pseudonym = "forgotten-" + secrets.token_hex(8)
    # Keys made of the event, the user and the time name the user: they become the row id.
    db.execute(
        "UPDATE inbound_events SET text = NULL, user_id = ?, dedup_key = CASE WHEN dedup_key "
        "LIKE 'msg:%' THEN dedup_key ELSE 'forgotten:' || id END WHERE user_id = ? "
        "AND status != 'pending'",
        [pseudonym, user_id],
    )
    db.execute("UPDATE turns SET user_id = ? WHERE user_id = ?", [pseudonym, user_id])
    db.execute("UPDATE other_events SET user_id = ? WHERE user_id = ?", [pseudonym, user_id])
    db.execute("DELETE FROM conversations WHERE user_id = ?", [user_id])
    db.execute("DELETE FROM unanswered WHERE user_id = ?", [user_id])
    db.execute("UPDATE ratings SET user_id = NULL WHERE user_id = ?", [user_id])
    db.execute("UPDATE users SET ward = NULL, display_name = NULL WHERE user_id = ?", [user_id])
    db.execute("DELETE FROM outbox WHERE user_id = ? AND status != 'sending'", [user_id])


def checkpoint(db: sqlite_utils.Database) -> bool:
    """Copy the WAL into the database and truncate it, so deleted text does not linger there.

    With `secure_delete` on, the deleted content is overwritten in the database file; the WAL
    still holds the pages as they were until this runs. Returns False when a reader kept the
    checkpoint from finishing (the next one completes it). Must run outside a transaction.
    """
    busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return busy == 0
