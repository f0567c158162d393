"""SQL for dossiers imported from the one-stop office, reminder subscriptions and reminders sent.

The tables are created by the "outreach" area's migrations in `bot.storage.outreach`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlite_utils

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
    rows = list(db.query("SELECT * FROM dossiers WHERE code = ?", [code]))
    return rows[0] if rows else None


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
    sql = "SELECT count(*) FROM dossier_subscriptions WHERE code = ?"
    return int(db.execute(sql, [code]).fetchone()[0])


def subscriptions_of(db: sqlite_utils.Database, user_id: str) -> list[str]:
    """The codes of the dossiers a citizen gets reminders for."""
    sql = "SELECT code FROM dossier_subscriptions WHERE user_id = ? ORDER BY code"
    return [row[0] for row in db.execute(sql, [user_id])]


def is_subscribed(db: sqlite_utils.Database, user_id: str, code: str) -> bool:
    """Whether a citizen gets reminders for a dossier."""
    row = db.execute(
        "SELECT 1 FROM dossier_subscriptions WHERE user_id = ? AND code = ?", [user_id, code]
    ).fetchone()
    return row is not None


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
