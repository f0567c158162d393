"""SQL for console login throttling: failure counters per key, each in a fixed time window.

The table is created by the "core" area's migrations. Callers run `failures` and `add_failure`
in one `transaction` so that checking and counting are one atomic step across processes.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlite_utils


def failures(
    db: sqlite_utils.Database, keys: Sequence[str], window: float, now: float
) -> dict[str, int]:
    """Failures per key in its current window (0 for a key without one or past its window)."""
    found = {key: 0 for key in keys}
    marks = ", ".join("?" for _ in keys)
    rows = db.execute(
        f"SELECT key, failures FROM login_throttle WHERE key IN ({marks}) AND window_start > ?",
        [*keys, now - window],
    )
    found.update(dict(rows.fetchall()))
    return found


def add_failure(db: sqlite_utils.Database, keys: Sequence[str], window: float, now: float) -> None:
    """Count one failure for each key; a key past its window starts a new one at `now`."""
    db.execute("DELETE FROM login_throttle WHERE window_start <= ?", [now - window])
    db.conn.executemany(
        "INSERT INTO login_throttle (key, failures, window_start) VALUES (?, 1, ?) "
        "ON CONFLICT(key) DO UPDATE SET failures = failures + 1",
        [(key, now) for key in keys],
    )


def forgive(db: sqlite_utils.Database, clear: Sequence[str], lower: Sequence[str]) -> None:
    """After a success: forget the `clear` keys and take one failure off the `lower` ones."""
    for key in clear:
        db.execute("DELETE FROM login_throttle WHERE key = ?", [key])
    for key in lower:
        db.execute("UPDATE login_throttle SET failures = max(failures - 1, 0) WHERE key = ?", [key])
