"""The "outreach" area: its schema migrations, follower tags, and forgetting or expiring its rows.

The statements on broadcasts and news items live in `bot.storage.broadcasts`, those on dossiers,
subscriptions and reminders in `bot.storage.dossiers`; every table is created here, so a
database keeps one schema version for the whole area.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

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


# Followers and tags ----------------------------------------------------------------------------


def mark_followers(db: sqlite_utils.Database, user_ids: Sequence[str], now: float) -> int:
    """Record users as followers (creating them); return how many were new to us."""
    (before,) = db.execute("SELECT count(*) FROM users").fetchone()
    db.conn.executemany(
        "INSERT INTO users (user_id, follow_state, followed_at, created_at) "
        "VALUES (?, 'follower', ?, ?) ON CONFLICT(user_id) DO UPDATE SET "
        "follow_state = 'follower' WHERE users.follow_state != 'follower'",
        [(user_id, now, now) for user_id in user_ids],
    )
    (after,) = db.execute("SELECT count(*) FROM users").fetchone()
    return int(after) - int(before)


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


# Privacy and retention -------------------------------------------------------------------------


def delete_user(db: sqlite_utils.Database, user_id: str) -> None:
    """Forget a citizen in the outreach tables (subscriptions, tags, links, planned sends).

    Broadcast deliveries keep their counts under a random pseudonym; planned ones are cancelled.
    """
    db.execute("DELETE FROM dossier_subscriptions WHERE user_id = ?", [user_id])
    db.execute("DELETE FROM reminders_sent WHERE user_id = ?", [user_id])
    db.execute("DELETE FROM follower_tags WHERE user_id = ?", [user_id])
    db.execute("UPDATE dossiers SET zalo_user_id = NULL WHERE zalo_user_id = ?", [user_id])
    db.execute(
        "UPDATE broadcast_deliveries SET status = 'cancelled', reason = 'data deleted' "
        "WHERE user_id = ? AND status = 'planned'",
        [user_id],
    )
    db.execute(
        "UPDATE broadcast_deliveries SET user_id = ?, outbox_key = NULL WHERE user_id = ?",
        ["forgotten-" + secrets.token_hex(8), user_id],
    )


def purge_uploads(db: sqlite_utils.Database, before: float) -> int:
    """Retention: drop dossier files uploaded for a preview before `before` and never applied."""
    return db.execute("DELETE FROM admin_uploads WHERE created_at < ?", [before]).rowcount


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
