"""The SQLite store: opening the database (WAL), and running the schema migrations.

Every SQL statement of the project lives in this package, one module per table family (`core`,
`inbox`, `outbox`, `outreach` with `broadcasts` and `dossiers`, `admin` with `reports` and
`teaching`, `throttle`, `kbstate`). `migrations.MIGRATIONS` lists every schema change in the one
order they run, by name; the `migrations` table records the names a database has.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import sqlite_utils

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_SECONDS = 30.0
"""How long a writer waits for the write lock by default (the webhook passes a shorter wait)."""
FILE_MODE = 0o600
"""The database and its -wal, -shm and .lock files hold tokens and citizens' data: owner only."""
AUTOCHECKPOINT_PAGES = 10_000
"""A connection copies the WAL into the database itself only once the WAL holds this many pages
(~40 MB, a safety net while no scheduler runs): the scheduler does it every second
(`checkpoint_wal`, outside any write lock). At SQLite's default of 1,000 pages, every ~170th
webhook commit ran the checkpoint (two fsyncs) inside its request and under the write lock,
~0.1 ms per event on average and most of the acknowledgement's p99. With synchronous=NORMAL a
commit is durable against a crash of any process either way; the WAL is fsynced at each
checkpoint, now at least every second instead of every 1,000 pages."""

_migrated: set[str] = set()
_migrate_lock = threading.Lock()


class LockTimeout(sqlite3.OperationalError):
    """Another writer held the database's write lock for longer than this connection waits."""


def _private_file(path: Path) -> None:
    """Create `path` readable by its owner only, and narrow the mode of existing files."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    os.close(fd)
    for suffix in ("", "-wal", "-shm", ".lock"):
        other = Path(str(path) + suffix)
        try:
            if other.stat().st_mode & 0o077:
                other.chmod(FILE_MODE)
        except OSError:  # absent, or owned by another account: nothing to narrow
            continue


def connect(
    path: str | Path, migrate: bool = True, busy_timeout: float = BUSY_TIMEOUT_SECONDS
) -> sqlite_utils.Database:
    """Open the database at `path` in WAL mode, creating it and running migrations as needed.

    Files are created with mode 0600 (SQLite gives -wal and -shm the database file's mode).
    A writer waits at most `busy_timeout` seconds for the write lock, then gets `LockTimeout`
    (or SQLite's "database is locked"). `secure_delete` overwrites deleted content.
    """
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        _private_file(Path(path))
    conn = sqlite3.connect(
        str(path), timeout=busy_timeout, isolation_level=None, check_same_thread=False
    )
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA secure_delete = ON")
    conn.execute(f"PRAGMA wal_autocheckpoint = {AUTOCHECKPOINT_PAGES}")
    db = sqlite_utils.Database(conn)
    db.busy_timeout = busy_timeout
    if str(path) != ":memory:":
        db.write_lock_path = str(path) + ".lock"  # see `transaction`
    if migrate:
        key = str(Path(path).resolve()) if str(path) != ":memory:" else f":memory:{id(conn)}"
        with _migrate_lock:
            if key not in _migrated:
                run_migrations(db)
                _migrated.add(key)
    return db


class Connections:
    """Connections to one database, reused from request to request (at most `KEEP` idle).

    Each serves one caller at a time: under gevent a request waiting for the write lock lets
    another request of its worker run, which takes another connection. A connection whose
    user raised is closed, not reused. Opening one costs ~0.7 ms (file checks, pragmas), twice
    a whole webhook request: a connection per thread meant one per greenlet under gevent, so
    one per event behind a proxy that opens a connection per request (nginx by default).
    """

    KEEP = 8

    def __init__(self, path: str | Path, busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self.idle: collections.deque[sqlite_utils.Database] = collections.deque()

    @contextlib.contextmanager
    def __call__(self) -> Iterator[sqlite_utils.Database]:
        """`with connections() as db:` a connection of this pool for the block."""
        try:
            db = self.idle.pop()
        except IndexError:
            db = connect(self.path, busy_timeout=self.busy_timeout)
        try:
            yield db
        except BaseException:
            db.conn.close()
            raise
        if db.conn.in_transaction or len(self.idle) >= self.KEEP:
            db.conn.close()
        else:
            self.idle.append(db)


def run_migrations(db: sqlite_utils.Database) -> None:
    """Run the migrations this database lacks, in order, each in its own transaction; safe to
    call from several processes at once."""
    from bot.storage.migrations import MIGRATIONS  # the list imports every table family

    db.execute(
        "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
    )
    with transaction(db):
        applied = {row[0] for row in db.execute("SELECT name FROM migrations")}
        if not applied:
            applied = _legacy_names(db)
    for name, step in MIGRATIONS:
        if name in applied:
            continue
        with transaction(db):
            if db.execute("SELECT 1 FROM migrations WHERE name = ?", [name]).fetchone():
                continue  # another process ran it meanwhile
            if callable(step):
                step(db)
            else:
                for statement in _statements(step):
                    db.execute(statement)
            db.execute(
                "INSERT INTO migrations (name, applied_at) VALUES (?, ?)", [name, time.time()]
            )
        logger.info("migrated: %s", name)


def _legacy_names(db: sqlite_utils.Database) -> set[str]:
    """Record as names the per-area versions an older database kept (inside a transaction)."""
    from bot.storage.migrations import LEGACY_AREAS

    exists = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    if not exists:
        return set()
    names = set()
    for area, version in db.execute("SELECT area, version FROM schema_migrations"):
        if area in LEGACY_AREAS:
            names.update(f"{area}-{n}" for n in range(1, int(version) + 1))
    for name in sorted(names):
        db.execute("INSERT INTO migrations (name, applied_at) VALUES (?, ?)", [name, time.time()])
    return names


def checkpoint_wal(db: sqlite_utils.Database) -> None:
    """Copy committed WAL pages into the database without waiting for readers or writers
    (PASSIVE; the next writer then starts the WAL afresh). Must run outside a transaction."""
    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (our scripts have no semicolons in strings)."""
    return [s.strip() for s in script.split(";") if s.strip()]


class transaction:
    """`with transaction(db):` runs the block in one IMMEDIATE transaction (nested: savepoint).

    Writers first take an OS file lock beside the database (`<db>.lock`, flock), polled every
    few milliseconds, so they get their turn within ~5 ms of the previous writer's commit.
    Without it, SQLite's busy handler sleeps in growing steps (up to 100 ms) and, with several
    processes writing, a webhook request could stall for a second. The wait is bounded by the
    connection's busy timeout: past it, `LockTimeout` is raised (the webhook answers 503). A
    thread that already holds the lock through another connection does not take it again
    (SQLite's busy timeout still applies). Opening the lock file and taking the lock costs
    ~8 us, against ~60 us for the commit of one small insert.
    """

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.conn = db.conn
        self.nested = False
        self.lock_path: str | None = getattr(db, "write_lock_path", None)
        self.wait: float = getattr(db, "busy_timeout", BUSY_TIMEOUT_SECONDS)
        self.fd: int | None = None

    def __enter__(self) -> sqlite3.Connection:
        self.nested = self.conn.in_transaction
        if self.nested:
            self.conn.execute("SAVEPOINT nested")
        else:
            self._lock()
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except BaseException:
                self._unlock()
                raise
        return self.conn

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        try:
            if self.nested:
                if kind is None:
                    self.conn.execute("RELEASE nested")
                else:
                    self.conn.execute("ROLLBACK TO nested")
                    self.conn.execute("RELEASE nested")
            elif kind is None:
                self.conn.execute("COMMIT")
            else:
                self.conn.execute("ROLLBACK")
        finally:
            self._unlock()

    def _lock(self) -> None:
        held = _write_locks_held.__dict__.setdefault("paths", set())
        if self.lock_path is None or self.lock_path in held:
            return
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            _flock_within(fd, self.wait)
        except OSError:  # no flock here: SQLite's busy timeout still applies
            os.close(fd)
            return
        except BaseException:  # LockTimeout, or the serving worker's deadline while waiting
            os.close(fd)
            raise
        self.fd = fd
        held.add(self.lock_path)

    def _unlock(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing releases the flock
            self.fd = None
            _write_locks_held.__dict__.get("paths", set()).discard(self.lock_path)


_write_locks_held = threading.local()


def _flock_within(fd: int, seconds: float) -> None:
    """Take an exclusive flock on `fd`, polling every few ms; LockTimeout after `seconds`."""
    deadline = time.monotonic() + seconds
    pause = 0.0005
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise LockTimeout(f"database is locked (waited {seconds:g} s)") from None
            time.sleep(pause)
            pause = min(pause * 2, 0.005)
