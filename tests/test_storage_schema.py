"""The schema: one ordered list of named migrations, and a snapshot a change must refresh."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

from bot import storage
from bot.storage import admin, core, inbox, kbstate, outbox, outreach, schema
from bot.storage.migrations import LEGACY_AREAS, MIGRATIONS

SNAPSHOT = Path(__file__).resolve().parent / "fixtures" / "schema.sql"
REFRESH = ".venv/bin/python -m bot.storage.schema > tests/fixtures/schema.sql"


def test_a_new_database_has_the_schema_of_the_snapshot():
    assert schema.fresh() == SNAPSHOT.read_text(encoding="utf-8"), (
        f"the migrations changed the schema: review the change, then run `{REFRESH}`"
    )


def test_every_migration_of_every_table_family_is_listed_once_by_a_unique_name():
    names = [name for name, _ in MIGRATIONS]
    assert len(names) == len(set(names))
    listed = [id(step) for _, step in MIGRATIONS]
    for family in (core, outbox, outreach, admin, inbox, kbstate):
        for step in family.MIGRATIONS:
            assert listed.count(id(step)) == 1, f"{family.__name__}: a migration has no name"


def _legacy(path: Path) -> None:
    """A database as the per-area runner left it before the turn worker: versions per area."""
    conn = sqlite3.connect(path, isolation_level=None)
    db = sqlite_utils.Database(conn)
    db.execute("CREATE TABLE schema_migrations (area TEXT PRIMARY KEY, version INTEGER NOT NULL)")
    for name, step in MIGRATIONS:
        area = name.split("-")[0]
        if area not in LEGACY_AREAS:
            continue
        if callable(step):
            step(db)
        else:
            conn.executescript(step)
        version = int(name.split("-")[1])
        db.execute("INSERT OR REPLACE INTO schema_migrations VALUES (?, ?)", [area, version])
    db.execute(
        "INSERT INTO inbound_events (dedup_key, event_name, user_id, text, received_at) "
        "VALUES ('msg:1', 'user_send_text', 'u1', 'khai sinh', 1.0)"
    )
    conn.close()


def test_an_older_database_is_brought_to_the_same_schema_keeping_its_events_answered(tmp_path):
    path = tmp_path / "old.db"
    _legacy(path)
    db = storage.connect(path)
    assert schema.dump(db) == SNAPSHOT.read_text(encoding="utf-8")
    applied = [r[0] for r in db.execute("SELECT name FROM migrations ORDER BY rowid")]
    assert sorted(applied) == sorted(name for name, _ in MIGRATIONS)
    # an event answered in its request before the turn worker existed is not answered again
    assert db.execute("SELECT status FROM inbound_events").fetchone()[0] == "done"


def test_running_the_migrations_again_changes_nothing(tmp_path):
    db = storage.connect(tmp_path / "bot.db")
    before = schema.dump(db)
    storage.run_migrations(db)
    assert schema.dump(db) == before
    assert db.execute("SELECT count(*) FROM migrations").fetchone()[0] == len(MIGRATIONS)
