"""SQL for the staff console: accounts, sessions, login attempts, audit log, and the reports.

Reports read the core tables (turns, ratings, outbox, unanswered, conversations) and never
message texts beyond what staff need to see (unanswered questions, hand-over conversations).
Day buckets use a fixed UTC offset passed in by the caller (Asia/Ho_Chi_Minh has no DST).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlite_utils

MIGRATIONS = [
    """
    CREATE TABLE admin_accounts (
        username TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL,
        created_at REAL NOT NULL,
        last_login_at REAL,
        disabled INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE admin_sessions (
        token_hash TEXT PRIMARY KEY,
        username TEXT NOT NULL REFERENCES admin_accounts(username) ON DELETE CASCADE,
        csrf_token TEXT NOT NULL,
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        notice TEXT
    );
    CREATE INDEX admin_sessions_expiry ON admin_sessions (expires_at);
    CREATE TABLE admin_login_attempts (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL,
        ip TEXT NOT NULL,
        at REAL NOT NULL,
        ok INTEGER NOT NULL
    );
    CREATE INDEX admin_login_attempts_user ON admin_login_attempts (username, at);
    CREATE INDEX admin_login_attempts_ip ON admin_login_attempts (ip, at);
    CREATE TABLE admin_audit (
        id INTEGER PRIMARY KEY,
        at REAL NOT NULL,
        username TEXT,
        ip TEXT,
        action TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX admin_audit_at ON admin_audit (at);
    CREATE TABLE admin_uploads (
        token TEXT PRIMARY KEY,
        username TEXT NOT NULL,
        filename TEXT NOT NULL,
        data BLOB NOT NULL,
        created_at REAL NOT NULL
    )
    """,
    # Covering indexes for the dashboard: its reports read only these columns of a date range.
    """
    CREATE INDEX admin_turns_report ON turns (at, kind, topic, user_id);
    CREATE INDEX admin_ratings_at ON ratings (at, topic, helpful)
    """,
]


# Accounts ------------------------------------------------------------------------------------


def save_account(
    db: sqlite_utils.Database, username: str, password_hash: str, role: str, now: float
) -> bool:
    """Create the account or replace its password and role; True when it was new."""
    existed = get_account(db, username) is not None
    db.execute(
        "INSERT INTO admin_accounts (username, password_hash, role, created_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT(username) DO UPDATE SET "
        "password_hash = excluded.password_hash, role = excluded.role, disabled = 0",
        [username, password_hash, role, now],
    )
    if existed:
        db.execute("DELETE FROM admin_sessions WHERE username = ?", [username])
    return not existed


def get_account(db: sqlite_utils.Database, username: str) -> dict[str, Any] | None:
    """The account row, or None."""
    rows = list(db.query("SELECT * FROM admin_accounts WHERE username = ?", [username]))
    return rows[0] if rows else None


def list_accounts(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Every account, by name (without password hashes)."""
    return list(
        db.query(
            "SELECT username, role, created_at, last_login_at, disabled FROM admin_accounts "
            "ORDER BY username"
        )
    )


def set_disabled(db: sqlite_utils.Database, username: str, disabled: bool) -> None:
    """Lock or unlock an account; locking ends its sessions."""
    db.execute(
        "UPDATE admin_accounts SET disabled = ? WHERE username = ?", [int(disabled), username]
    )
    if disabled:
        db.execute("DELETE FROM admin_sessions WHERE username = ?", [username])


# Sessions ------------------------------------------------------------------------------------


def create_session(
    db: sqlite_utils.Database,
    token_hash: str,
    username: str,
    csrf_token: str,
    now: float,
    expires_at: float,
) -> None:
    """Store a new login session and note the login time on the account."""
    db.execute("DELETE FROM admin_sessions WHERE expires_at < ?", [now])
    db.execute(
        "INSERT INTO admin_sessions (token_hash, username, csrf_token, created_at, expires_at) "
        "VALUES (?, ?, ?, ?, ?)",
        [token_hash, username, csrf_token, now, expires_at],
    )
    db.execute("UPDATE admin_accounts SET last_login_at = ? WHERE username = ?", [now, username])


def get_session(db: sqlite_utils.Database, token_hash: str, now: float) -> dict[str, Any] | None:
    """The live session with its account's role, or None if unknown, expired or locked."""
    rows = list(
        db.query(
            "SELECT s.token_hash, s.username, s.csrf_token, s.notice, a.role "
            "FROM admin_sessions s JOIN admin_accounts a ON a.username = s.username "
            "WHERE s.token_hash = ? AND s.expires_at > ? AND a.disabled = 0",
            [token_hash, now],
        )
    )
    return rows[0] if rows else None


def delete_session(db: sqlite_utils.Database, token_hash: str) -> None:
    """End one session (logout)."""
    db.execute("DELETE FROM admin_sessions WHERE token_hash = ?", [token_hash])


def set_notice(db: sqlite_utils.Database, token_hash: str, notice: str | None) -> None:
    """Keep a one-time message to show on the session's next page."""
    db.execute("UPDATE admin_sessions SET notice = ? WHERE token_hash = ?", [notice, token_hash])


# Login attempts and audit --------------------------------------------------------------------


def record_login_attempt(
    db: sqlite_utils.Database, username: str, ip: str, ok: bool, now: float
) -> None:
    """Note one login attempt; old attempts (over a day) are pruned."""
    db.execute("DELETE FROM admin_login_attempts WHERE at < ?", [now - 86400])
    db.execute(
        "INSERT INTO admin_login_attempts (username, ip, at, ok) VALUES (?, ?, ?, ?)",
        [username, ip, now, int(ok)],
    )


def failed_logins_since(
    db: sqlite_utils.Database, username: str, ip: str, since: float
) -> tuple[int, int]:
    """Failed attempts since `since`: (for this username, from this IP)."""
    by_user = db.execute(
        "SELECT COUNT(*) FROM admin_login_attempts WHERE username = ? AND at >= ? AND ok = 0",
        [username, since],
    ).fetchone()[0]
    by_ip = db.execute(
        "SELECT COUNT(*) FROM admin_login_attempts WHERE ip = ? AND at >= ? AND ok = 0",
        [ip, since],
    ).fetchone()[0]
    return by_user, by_ip


def audit(
    db: sqlite_utils.Database,
    username: str | None,
    ip: str,
    action: str,
    detail: str,
    now: float,
) -> None:
    """Append one line to the audit log."""
    db.execute(
        "INSERT INTO admin_audit (at, username, ip, action, detail) VALUES (?, ?, ?, ?, ?)",
        [now, username, ip, action, detail[:1000]],
    )


def recent_audit(db: sqlite_utils.Database, limit: int = 200) -> list[dict[str, Any]]:
    """The latest audit lines, newest first."""
    return list(db.query("SELECT * FROM admin_audit ORDER BY id DESC LIMIT ?", [limit]))


# Uploads awaiting confirmation -------------------------------------------------------------


def save_upload(
    db: sqlite_utils.Database, token: str, username: str, filename: str, data: bytes, now: float
) -> None:
    """Keep an uploaded file between its preview and its apply (older ones are dropped)."""
    db.execute("DELETE FROM admin_uploads WHERE created_at < ?", [now - 3600])
    db.execute(
        "INSERT INTO admin_uploads (token, username, filename, data, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        [token, username, filename, data, now],
    )


def get_upload(
    db: sqlite_utils.Database, token: str, username: str, now: float
) -> dict[str, Any] | None:
    """The upload `token` of this user from the last hour, or None."""
    rows = list(
        db.query(
            "SELECT * FROM admin_uploads WHERE token = ? AND username = ? AND created_at >= ?",
            [token, username, now - 3600],
        )
    )
    return rows[0] if rows else None


def delete_upload(db: sqlite_utils.Database, token: str) -> None:
    """Forget an upload once applied or abandoned."""
    db.execute("DELETE FROM admin_uploads WHERE token = ?", [token])


# Dashboard reports ---------------------------------------------------------------------------


def activity_per_day(
    db: sqlite_utils.Database, start: float, end: float, offset_seconds: int
) -> list[dict[str, Any]]:
    """Per local day: citizen messages handled (turns) and distinct citizens (conversations).

    `day` is the local calendar day as YYYY-MM-DD; the bucket is computed as a day number,
    which is several times faster than date() on a year of turns.
    """
    rows = db.execute(
        "SELECT CAST((at + ?) / 86400 AS INTEGER) AS day, COUNT(*), COUNT(DISTINCT user_id) "
        "FROM turns WHERE at >= ? AND at < ? GROUP BY day ORDER BY day",
        [int(offset_seconds), start, end],
    ).fetchall()
    epoch = dt.date(1970, 1, 1)
    return [
        {
            "day": (epoch + dt.timedelta(days=day)).isoformat(),
            "messages": count,
            "conversations": people,
        }
        for day, count, people in rows
    ]


def distinct_citizens(db: sqlite_utils.Database, start: float, end: float) -> int:
    """How many different citizens the bot handled messages from."""
    return db.execute(
        "SELECT COUNT(DISTINCT user_id) FROM turns WHERE at >= ? AND at < ?", [start, end]
    ).fetchone()[0]


def outcome_counts(db: sqlite_utils.Database, start: float, end: float) -> dict[str, int]:
    """Turns by kind (answer, choices, fallback, ...)."""
    rows = db.execute(
        "SELECT kind, COUNT(*) FROM turns WHERE at >= ? AND at < ? GROUP BY kind", [start, end]
    ).fetchall()
    return {kind: count for kind, count in rows}


def top_topics(
    db: sqlite_utils.Database, start: float, end: float, limit: int = 10
) -> list[dict[str, Any]]:
    """Topics answered most often."""
    return list(
        db.query(
            "SELECT topic, COUNT(*) AS count FROM turns WHERE at >= ? AND at < ? "
            "AND kind = 'answer' AND topic IS NOT NULL GROUP BY topic "
            "ORDER BY count DESC, topic LIMIT ?",
            [start, end, limit],
        )
    )


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


# Unanswered questions ------------------------------------------------------------------------


def open_unanswered(db: sqlite_utils.Database, limit: int = 500) -> list[dict[str, Any]]:
    """Open unanswered questions, newest first."""
    return list(
        db.query(
            "SELECT id, text, best_guess, score, at FROM unanswered WHERE status = 'open' "
            "ORDER BY at DESC, id DESC LIMIT ?",
            [limit],
        )
    )


def get_unanswered(db: sqlite_utils.Database, item_id: int) -> dict[str, Any] | None:
    """One unanswered question, or None."""
    rows = list(db.query("SELECT * FROM unanswered WHERE id = ?", [item_id]))
    return rows[0] if rows else None


def close_unanswered(
    db: sqlite_utils.Database, item_ids: list[int], status: str, topic: str | None
) -> int:
    """Mark open questions 'assigned' (to `topic`) or 'dismissed'; return how many changed."""
    changed = 0
    for item_id in item_ids:
        cursor = db.execute(
            "UPDATE unanswered SET status = ?, assigned_topic = ? WHERE id = ? AND status = 'open'",
            [status, topic, item_id],
        )
        changed += cursor.rowcount
    return changed


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
