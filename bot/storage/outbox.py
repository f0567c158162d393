"""SQL for delivering the outbox (claims with leases, per-part progress, results) and tokens.

Rows are queued by `core.enqueue` with status 'pending'. A sender claims due rows by setting
status 'sending', its owner id and a lease; only the lease owner may record a result. A row whose
lease expired (its sender died) is claimable again. Progress is kept per part of a split message,
so a retry never resends a part Zalo already accepted. A part whose send may have gone out
unseen is 'in doubt' (`doubt_since` set, the row 'pending' until its next history check);
`first_attempt_at` is when the row was first claimed, where the history search starts. Final
statuses: 'sent', 'failed', 'unreachable', 'template_needed'.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import sqlite_utils

from bot.storage import transaction

MIGRATIONS = [
    """
    ALTER TABLE outbox ADD COLUMN lease_owner TEXT;
    ALTER TABLE outbox ADD COLUMN parts_sent INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE outbox ADD COLUMN last_attempt_at REAL;
    CREATE INDEX outbox_sending ON outbox (status, lease_until);
    CREATE INDEX outbox_message_id ON outbox (zalo_message_id);
    CREATE INDEX outbox_user ON outbox (user_id, status);
    CREATE TABLE outbox_parts (
        outbox_id INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
        part INTEGER NOT NULL,
        zalo_message_id TEXT,
        sent_at REAL NOT NULL,
        PRIMARY KEY (outbox_id, part)
    );
    CREATE INDEX outbox_parts_message_id ON outbox_parts (zalo_message_id);
    ALTER TABLE tokens ADD COLUMN seed_hash TEXT
    """,
    """
    ALTER TABLE outbox ADD COLUMN first_attempt_at REAL;
    ALTER TABLE outbox ADD COLUMN doubt_since REAL;
    ALTER TABLE outbox ADD COLUMN doubt_checks INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE tokens ADD COLUMN rejected_refreshes INTEGER NOT NULL DEFAULT 0
    """,
]

FINAL_STATUSES = ("sent", "failed", "unreachable", "template_needed")


_CLAIM = (
    "SELECT o.id, o.status FROM ("
    "SELECT id, user_id, status FROM outbox WHERE status = 'pending' AND next_attempt_at <= :now "
    "UNION ALL "
    "SELECT id, user_id, status FROM outbox WHERE status = 'sending' AND lease_until < :now"
    ") o WHERE NOT EXISTS ("
    "SELECT 1 FROM outbox p WHERE p.user_id = o.user_id AND p.id < o.id AND ("
    "(p.status = 'pending' AND (p.attempts > 0 OR p.doubt_since IS NOT NULL) "
    "AND p.next_attempt_at > :now) "
    "OR (p.status = 'sending' AND p.lease_until >= :now))) "
    "ORDER BY o.id LIMIT :limit"
)
"""Due rows whose user has no earlier message backing off, in doubt or in flight (keeps order
per user)."""


def claim(
    db: sqlite_utils.Database, owner: str, now: float, limit: int, lease_seconds: float
) -> list[dict[str, Any]]:
    """Lease up to `limit` due rows to `owner` (pending and due, or sending with a dead lease).

    A row waits while an earlier message to the same user is backing off or in flight, so
    replies reach a citizen in the order they were queued. A row found 'sending' under an
    expired lease that is the row its sender was working on (its last send may have gone
    through) is taken over in doubt: `doubt_since` is set to now in the same transaction, so
    should this sender die too before settling it, the doubt is not lost with it. A sender
    works through its batch in id order and every row it finishes, defers or hands back leaves
    'sending', so of a dead sender's rows only the lowest id can have been in flight; the
    others were never tried.
    """
    with transaction(db):
        rows = db.execute(_CLAIM, {"now": now, "limit": limit}).fetchall()
        ids = [row[0] for row in rows]
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        taken_over = {
            row_id
            for (row_id,) in db.execute(
                f"SELECT r.id FROM outbox r WHERE r.id IN ({marks}) AND r.status = 'sending' "
                "AND NOT EXISTS (SELECT 1 FROM outbox q WHERE q.status = 'sending' "
                "AND q.lease_owner = r.lease_owner AND q.id < r.id)",
                ids,
            )
        }
        db.execute(
            f"UPDATE outbox SET status = 'sending', lease_owner = ?, lease_until = ?, "
            f"last_attempt_at = ?, first_attempt_at = coalesce(first_attempt_at, ?) "
            f"WHERE id IN ({marks})",
            [owner, now + lease_seconds, now, now, *ids],
        )
        if taken_over:
            doubtful = ",".join("?" * len(taken_over))
            db.execute(
                f"UPDATE outbox SET doubt_since = ? WHERE id IN ({doubtful})", [now, *taken_over]
            )
        claimed = list(db.query(f"SELECT * FROM outbox WHERE id IN ({marks}) ORDER BY id", ids))
    for row in claimed:
        row["payload"] = json.loads(row["payload"])
    return claimed


def renew(
    db: sqlite_utils.Database, row_id: int, owner: str, now: float, lease_seconds: float
) -> bool:
    """Extend `owner`'s lease on a row before a send; False if the lease was lost."""
    with transaction(db):
        cursor = db.execute(
            "UPDATE outbox SET lease_until = ?, last_attempt_at = ? "
            "WHERE id = ? AND lease_owner = ? AND status = 'sending'",
            [now + lease_seconds, now, row_id, owner],
        )
    return cursor.rowcount == 1


def record_part(
    db: sqlite_utils.Database,
    row_id: int,
    owner: str,
    part: int,
    total: int,
    message_id: str,
    now: float,
) -> bool:
    """Record that Zalo accepted part `part` (0-based) of `total`; the last one makes it sent."""
    done = part + 1 >= total
    with transaction(db):
        if done:
            cursor = db.execute(
                "UPDATE outbox SET parts_sent = ?, zalo_message_id = ?, status = 'sent', "
                "sent_at = ?, lease_until = NULL, error_code = NULL, error = NULL, "
                "doubt_since = NULL, doubt_checks = 0 "
                "WHERE id = ? AND lease_owner = ? AND status = 'sending'",
                [part + 1, message_id, now, row_id, owner],
            )
        else:
            cursor = db.execute(
                "UPDATE outbox SET parts_sent = ?, zalo_message_id = ?, doubt_since = NULL, "
                "doubt_checks = 0 WHERE id = ? AND lease_owner = ? AND status = 'sending'",
                [part + 1, message_id, row_id, owner],
            )
        if cursor.rowcount != 1:  # the lease was lost: the new holder settles the part
            return False
        db.execute(
            "INSERT INTO outbox_parts (outbox_id, part, zalo_message_id, sent_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [row_id, part, message_id, now],
        )
    return True


def reschedule(
    db: sqlite_utils.Database,
    row_id: int,
    owner: str,
    attempts: int,
    next_attempt_at: float,
    error_code: int,
    error: str,
) -> None:
    """Put a row back to 'pending' for another attempt at `next_attempt_at`."""
    with transaction(db):
        db.execute(
            "UPDATE outbox SET status = 'pending', attempts = ?, next_attempt_at = ?, "
            "lease_owner = NULL, lease_until = NULL, error_code = ?, error = ?, "
            "doubt_since = NULL, doubt_checks = 0 "
            "WHERE id = ? AND lease_owner = ? AND status = 'sending'",
            [attempts, next_attempt_at, error_code, error[:500], row_id, owner],
        )


def hold_in_doubt(
    db: sqlite_utils.Database,
    row_id: int,
    owner: str,
    *,
    attempts: int,
    since: float,
    checks: int,
    next_check_at: float,
    error: str,
) -> None:
    """Put a row whose current part may have gone out back to 'pending', in doubt since `since`.

    It is not sent again before a history check (at `next_check_at`) has settled the doubt.
    """
    with transaction(db):
        db.execute(
            "UPDATE outbox SET status = 'pending', attempts = ?, next_attempt_at = ?, "
            "lease_owner = NULL, lease_until = NULL, error_code = 0, error = ?, "
            "doubt_since = ?, doubt_checks = ? "
            "WHERE id = ? AND lease_owner = ? AND status = 'sending'",
            [attempts, next_check_at, error[:500], since, checks, row_id, owner],
        )


def release(db: sqlite_utils.Database, row_id: int, owner: str) -> None:
    """Hand a claimed row back untouched (its turn comes after an earlier row for the user)."""
    db.execute(
        "UPDATE outbox SET status = 'pending', lease_owner = NULL, lease_until = NULL "
        "WHERE id = ? AND lease_owner = ? AND status = 'sending'",
        [row_id, owner],
    )


def expire_leases(db: sqlite_utils.Database, owners: list[str], now: float) -> int:
    """End the leases of owners known to be dead (their process is gone); return rows freed."""
    if not owners:
        return 0
    marks = ",".join("?" * len(owners))
    cursor = db.execute(
        f"UPDATE outbox SET lease_until = ? WHERE status = 'sending' AND lease_owner IN ({marks})",
        [now - 1, *owners],
    )
    return cursor.rowcount


def lease_owners(db: sqlite_utils.Database, now: float) -> list[str]:
    """Owners holding live leases (to check whether their processes still run)."""
    rows = db.execute(
        "SELECT DISTINCT lease_owner FROM outbox WHERE status = 'sending' AND lease_until >= ?",
        [now],
    ).fetchall()
    return [row[0] for row in rows if row[0]]


def lock_holder(db: sqlite_utils.Database, name: str) -> str | None:
    """The owner of the named lock in `core`'s locks table (expired or not), or None."""
    row = db.execute("SELECT owner FROM locks WHERE name = ?", [name]).fetchone()
    return row[0] if row else None


def finish(
    db: sqlite_utils.Database,
    row_id: int,
    owner: str,
    status: str,
    attempts: int,
    error_code: int | None,
    error: str,
) -> None:
    """Give a row its final status ('failed', 'unreachable', 'template_needed') and error."""
    if status not in FINAL_STATUSES:
        raise ValueError(f"not a final outbox status: {status}")
    with transaction(db):
        db.execute(
            "UPDATE outbox SET status = ?, attempts = ?, lease_owner = NULL, lease_until = NULL, "
            "error_code = ?, error = ?, doubt_since = NULL "
            "WHERE id = ? AND lease_owner = ? AND status = 'sending'",
            [status, attempts, error_code, error[:500], row_id, owner],
        )


def is_own_message(db: sqlite_utils.Database, zalo_message_id: str) -> bool:
    """True when a Zalo message id is one of the parts our outbox sent (for echo handling)."""
    row = db.execute(
        "SELECT 1 FROM outbox_parts WHERE zalo_message_id = ? LIMIT 1", [zalo_message_id]
    ).fetchone()
    return row is not None


def is_own_echo(db: sqlite_utils.Database, user_id: str, zalo_message_id: str, text: str) -> bool:
    """True when an `oa_send_*` echo is one of our outbox's messages (any part), not staff's.

    The echo can arrive before the sender has committed Zalo's message id, or after a send
    that timed out but went through (the row is then waiting for a retry), so a recent outbox
    message to that user whose text contains the echoed text counts too (texts compared after
    NFC, on the decoded payload, so line breaks and quotes match).
    """
    if zalo_message_id and (
        is_own_message(db, zalo_message_id)
        or db.execute(
            "SELECT 1 FROM outbox WHERE zalo_message_id = ? LIMIT 1", [zalo_message_id]
        ).fetchone()
    ):
        return True
    wanted = unicodedata.normalize("NFC", text).strip()
    if not wanted:
        return False
    rows = db.execute(
        "SELECT payload FROM outbox WHERE user_id = ? ORDER BY id DESC LIMIT 20",
        [user_id],
    ).fetchall()
    for (payload,) in rows:
        body = json.loads(payload)
        sent = unicodedata.normalize("NFC", str(body.get("text", "")))
        if wanted in sent or wanted.split("\n\n1. ")[0] in sent:
            return True
        # With buttons off, links are written under the text as "title: url" lines.
        links = [f"{b['title']}: {b['url']}" for b in body.get("buttons") or () if b.get("url")]
        if links and wanted in unicodedata.normalize("NFC", "\n\n".join([sent, *links])):
            return True
    return False


def counts(db: sqlite_utils.Database) -> dict[str, int]:
    """Number of outbox rows per status (for health and the staff console)."""
    return {row[0]: row[1] for row in db.execute("SELECT status, count(*) FROM outbox GROUP BY 1")}


def get(db: sqlite_utils.Database, row_id: int) -> dict[str, Any] | None:
    """One outbox row with its payload decoded, or None."""
    rows = list(db.query("SELECT * FROM outbox WHERE id = ?", [row_id]))
    if not rows:
        return None
    rows[0]["payload"] = json.loads(rows[0]["payload"])
    return rows[0]


# -- Tokens --------------------------------------------------------------------------------------


def get_tokens(db: sqlite_utils.Database) -> dict[str, Any] | None:
    """The stored token pair (access, refresh, expires_at, issued_at, seed_hash), or None."""
    rows = list(db.query("SELECT * FROM tokens WHERE id = 1"))
    return rows[0] if rows else None


def save_tokens(
    db: sqlite_utils.Database,
    access_token: str,
    refresh_token: str,
    expires_at: float,
    issued_at: float,
    now: float,
    rejected_refreshes: int = 0,
) -> None:
    """Store a new token pair in one committed write (with how many refreshes in a row were
    made because Zalo rejected the token)."""
    with transaction(db):
        db.execute(
            "INSERT INTO tokens (id, access_token, refresh_token, expires_at, issued_at, "
            "updated_at, rejected_refreshes) VALUES (1, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET "
            "access_token = excluded.access_token, refresh_token = excluded.refresh_token, "
            "expires_at = excluded.expires_at, issued_at = excluded.issued_at, "
            "updated_at = excluded.updated_at, rejected_refreshes = excluded.rejected_refreshes",
            [access_token, refresh_token, expires_at, issued_at, now, rejected_refreshes],
        )


def seed_refresh_token(
    db: sqlite_utils.Database, refresh_token: str, seed_hash: str, now: float
) -> bool:
    """Store the configured refresh token unless this same one was seeded before.

    A token seeded once is single-use and soon replaced, so it is only taken again when the
    configuration carries a different one (an administrator re-authorised the app).
    """
    with transaction(db):
        row = db.execute("SELECT seed_hash FROM tokens WHERE id = 1").fetchone()
        if row is not None and row[0] == seed_hash:
            return False
        db.execute(
            "INSERT INTO tokens (id, access_token, refresh_token, expires_at, issued_at, "
            "updated_at, seed_hash) VALUES (1, NULL, ?, NULL, NULL, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET access_token = NULL, expires_at = NULL, "
            "issued_at = NULL, refresh_token = excluded.refresh_token, "
            "updated_at = excluded.updated_at, seed_hash = excluded.seed_hash",
            [refresh_token, now, seed_hash],
        )
    return True
