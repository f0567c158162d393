"""The schema a new database gets, as text: `python -m bot.storage.schema` prints it.

`tests/fixtures/schema.sql` keeps a copy; a migration that changes the schema without that copy
being refreshed fails `tests/test_storage_schema.py`.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

import sqlite_utils

from bot import storage


def dump(db: sqlite_utils.Database) -> str:
    """Every table, index and trigger of `db` (but the migrations record), sorted, one
    statement per paragraph with its whitespace normalised."""
    rows = db.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL "
        "AND name NOT IN ('migrations', 'schema_migrations') ORDER BY type DESC, name"
    ).fetchall()
    return "".join(re.sub(r"\s+", " ", sql).strip() + ";\n\n" for _, _, sql in rows)


def fresh() -> str:
    """The schema of a database created and migrated now."""
    with tempfile.TemporaryDirectory() as directory:
        db = storage.connect(Path(directory) / "schema.db")
        try:
            return dump(db)
        finally:
            db.conn.close()


if __name__ == "__main__":
    sys.stdout.write(fresh())
