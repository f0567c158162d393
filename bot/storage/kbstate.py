"""SQL for the reported state of the knowledge base that answers citizens.

The turn worker runs in the scheduler process with its own live knowledge base; the console is
served by the webhook process. So the answering process writes what the console shows about its
knowledge base (version in force, when it was loaded, how many topics, the newest refused edit
and its errors, when the files were last looked at, which process) into one row of `kb_state`,
and the console reads that row. A row is keyed by the role it reports for (`ANSWERING`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import sqlite_utils

from bot.storage import transaction

MIGRATIONS = [
    """
    CREATE TABLE kb_state (
        role TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        path TEXT NOT NULL,
        version TEXT NOT NULL DEFAULT '',
        topics INTEGER NOT NULL DEFAULT 0,
        loaded_at REAL,
        checked_at REAL,
        last_error_at REAL,
        errors TEXT NOT NULL DEFAULT '[]',
        reloads INTEGER NOT NULL DEFAULT 0,
        refused INTEGER NOT NULL DEFAULT 0,
        reported_at REAL NOT NULL
    )
    """,
]

ANSWERING = "answering"
"""The role of the knowledge base the turn worker answers citizens from."""
MAX_ERRORS = 50
"""Errors of a refused edit kept in the row (the console lists them; `kb check` has them all)."""

_DEFAULTS: dict[str, Any] = {
    "version": "",
    "topics": 0,
    "loaded_at": None,
    "checked_at": None,
    "last_error_at": None,
    "reloads": 0,
    "refused": 0,
}
"""The columns copied from a status, with their values when the status has none."""


def report(
    db: sqlite_utils.Database,
    owner: str,
    status: Mapping[str, Any],
    now: float,
    role: str = ANSWERING,
) -> None:
    """Record `status` (as `LiveKB.status()` gives it) as the state of `role`, reported by
    `owner` at `now`, replacing the previous report."""
    values = {column: status.get(column) or default for column, default in _DEFAULTS.items()}
    errors = [str(e) for e in status.get("last_errors") or ()][:MAX_ERRORS]
    with transaction(db):
        db.execute(
            "INSERT OR REPLACE INTO kb_state (role, owner, path, version, topics, loaded_at, "
            "checked_at, last_error_at, errors, reloads, refused, reported_at) VALUES (:role, "
            ":owner, :path, :version, :topics, :loaded_at, :checked_at, :last_error_at, "
            ":errors, :reloads, :refused, :reported_at)",
            {
                **values,
                "role": role,
                "owner": owner,
                "path": str(status.get("path") or ""),
                "errors": json.dumps(errors, ensure_ascii=False),
                "reported_at": now,
            },
        )


def load(db: sqlite_utils.Database, role: str = ANSWERING) -> dict[str, Any] | None:
    """The last report of `role` (errors as a list), or None when none was ever made."""
    cursor = db.execute("SELECT * FROM kb_state WHERE role = ?", [role])
    row = cursor.fetchone()
    if row is None:
        return None
    found = dict(zip([c[0] for c in cursor.description], row, strict=True))
    found["errors"] = json.loads(found["errors"])
    return found
