"""SQL for the staff console's own tables: accounts, sessions, login attempts, audit log, uploads.

This is the "admin" area: its `MIGRATIONS` also add the indexes that the dashboard reports of
`bot.storage.reports` read.
"""

from __future__ import annotations

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
    # Covering indexes for the dashboard (storage.reports): it reads only these columns by date.
    """
    CREATE INDEX admin_turns_report ON turns (at, kind, topic, user_id);
    CREATE INDEX admin_ratings_at ON ratings (at, topic, helpful)
    """,
    lambda db: _add_faq_column(db),
    # Outcomes of turns (bot.admin.outcomes), the failures inbox, flagged answers, suggestions.
    """
    CREATE TABLE turn_outcomes (
        turn_id INTEGER PRIMARY KEY,
        user_id TEXT NOT NULL,
        at REAL NOT NULL,
        outcome TEXT NOT NULL,
        topic TEXT,
        faq TEXT,
        question INTEGER NOT NULL,
        good INTEGER,
        rating INTEGER,
        reason TEXT,
        final INTEGER NOT NULL
    );
    CREATE INDEX turn_outcomes_report ON turn_outcomes (at, question, outcome, good, topic);
    CREATE INDEX turn_outcomes_failed ON turn_outcomes (at) WHERE question = 1 AND good = 0;
    CREATE INDEX turn_outcomes_open ON turn_outcomes (user_id, at) WHERE final = 0;
    CREATE INDEX turn_outcomes_handover ON turn_outcomes (at, user_id) WHERE outcome = 'handover';
    CREATE TABLE outcome_days (
        utc_offset INTEGER NOT NULL,
        day INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (utc_offset, day)
    );
    CREATE TABLE outcome_months (
        utc_offset INTEGER NOT NULL,
        first_day INTEGER NOT NULL,
        last_day INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (utc_offset, first_day)
    );
    CREATE TABLE admin_meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE inbox_triage (
        turn_id INTEGER PRIMARY KEY,
        status TEXT NOT NULL,
        target TEXT,
        username TEXT,
        at REAL NOT NULL
    );
    CREATE TABLE answer_flags (
        id INTEGER PRIMARY KEY,
        turn_id INTEGER NOT NULL,
        topic TEXT,
        reason TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        username TEXT,
        at REAL NOT NULL,
        status TEXT NOT NULL DEFAULT 'open'
    );
    CREATE INDEX answer_flags_topic ON answer_flags (status, topic);
    CREATE TABLE kb_suggestions (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        topic TEXT NOT NULL,
        question TEXT NOT NULL,
        phrasings TEXT NOT NULL DEFAULT '[]',
        answer TEXT NOT NULL DEFAULT '',
        faq TEXT,
        source TEXT NOT NULL,
        source_ids TEXT NOT NULL DEFAULT '[]',
        status TEXT NOT NULL DEFAULT 'draft',
        created_by TEXT,
        created_at REAL NOT NULL,
        decided_by TEXT,
        decided_at REAL
    )
    """,
]


def _add_faq_column(db: sqlite_utils.Database) -> None:
    """`turns.faq`: the FAQ entry that answered (nullable; skipped if another area added it)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(turns)").fetchall()}
    if "faq" not in columns:
        db.execute("ALTER TABLE turns ADD COLUMN faq TEXT")


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


# Console bookkeeping -------------------------------------------------------------------------


def meta_get(db: sqlite_utils.Database, key: str) -> str | None:
    """A value the console keeps for itself (e.g. how far outcomes are classified), or None."""
    row = db.execute("SELECT value FROM admin_meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def meta_set(db: sqlite_utils.Database, key: str, value: str) -> None:
    """Keep a value for the console."""
    db.execute(
        "INSERT INTO admin_meta (key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )
