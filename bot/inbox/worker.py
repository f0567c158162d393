"""The turn worker: answers recorded events off the webhook request, durably and in order.

Each thread claims a few events (`bot.storage.inbox.claim`: the earliest pending event of each
citizen whose claim is not live), answers each in its own transaction (`turn.answer`) and looks
again; it waits `inbox.poll_seconds` when there was nothing to do. A worker that is killed
leaves its claims behind: they are retaken when their lease lapses, or at once when the
holder's process is gone (it ran on this host). An event recorded before a crash is therefore
answered after the restart, exactly once (the commit checks the claim).

The worker runs in the scheduler process (`bot.jobs`), beside the outbox delivery it wakes up
after each committed turn. It does not run in the webhook's gevent workers: a turn is a few
milliseconds of CPU, which would stall every request of that worker meanwhile. Its knowledge
base (`answering_kb`) reports its state to the `kb_state` table, where the staff console, served
by the webhook process, reads it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import sqlite_utils

from bot import storage
from bot.config import Config
from bot.inbox.record import accept
from bot.inbox.turn import LostClaim, Outcome, answer, poison
from bot.kb.live import KBUnavailable, LiveKB, last_good
from bot.leases import holder_is_dead, new_owner
from bot.storage import core, kbstate
from bot.storage import inbox as store
from bot.threads import join_all, lower_priority, start_daemons
from bot.understanding import Index, build_index
from bot.zalo.events import Event

logger = logging.getLogger(__name__)

STORAGE_ERRORS = (sqlite3.OperationalError, OSError)
"""Failures a later attempt can cure (locked, busy, disk full): the event is handed back."""
BATCH = 4
"""Events claimed at a time by one thread (each the earliest of its citizen)."""
RETRY_SECONDS = 1.0
"""After a storage failure, the event is claimable again this much later."""
REPORT_SECONDS = 10.0
"""The answering knowledge base's state is written at least this often while its files are
looked at (and at once when it loads or refuses an edit), so the console sees it is alive."""


class LiveIndex(Protocol):
    """What the worker needs of the live knowledge base: its current index."""

    @property
    def current(self) -> Index:
        """The matcher index of the last good knowledge base (raises when none is loaded)."""
        ...


class KBReport:
    """Writes the answering knowledge base's `LiveKB.status()` to `kb_state` for the console:
    at once when anything but the time of the last look changed, else every `REPORT_SECONDS`."""

    def __init__(self, database: str, owner: str, clock: Callable[[], float] = time.time) -> None:
        """Report into the database at `database`, under the process id `owner`."""
        self.database = database
        self.owner = owner
        self.clock = clock
        self._lock = threading.Lock()
        self._last: tuple[dict[str, Any], float] | None = None

    def __call__(self, status: dict[str, Any]) -> None:
        """Record `status` unless the same was recorded less than `REPORT_SECONDS` ago."""
        now = self.clock()
        same = {key: value for key, value in status.items() if key != "checked_at"}
        with self._lock:
            last = self._last
            if last is not None and last[0] == same and now - last[1] < REPORT_SECONDS:
                return
            db = storage.connect(self.database)
            try:
                kbstate.report(db, self.owner, status, now)
            finally:
                db.conn.close()
            self._last = (same, now)


def answering_kb(config: Config, *, clock: Callable[[], float] = time.time) -> LiveKB:
    """The live knowledge base citizens are answered from, as the scheduler runs it (it calls
    `.watch()`), reporting its state for the console's knowledge-base page."""
    report = KBReport(config.storage.database, new_owner(), clock)
    return LiveKB(
        config.bot.knowledge_base,
        build_index,
        config.bot.reload_seconds,
        clock=clock,
        report=report,
    )


def free_dead_claims(db: sqlite_utils.Database, now: float) -> int:
    """Free events claimed by worker processes of this host that no longer run."""
    dead = [owner for owner in store.lease_owners(db, now) if holder_is_dead(owner)]
    freed = store.expire_leases(db, dead, now)
    if freed:
        logger.warning("inbox: took over %d event(s) from a turn worker that died", freed)
    return freed


def answer_claimed(
    db: sqlite_utils.Database,
    row: dict[str, Any],
    live: LiveIndex,
    config: Config,
    now: float,
    owner: str,
) -> Outcome | None:
    """Answer one claimed event; None when it was handed back (storage) or taken over."""
    event = Event.from_json(row["event"])
    try:
        index = live.current
        outcome = answer(db, row["id"], event, index, config, now, owner)
    except LostClaim:
        logger.warning("inbox: event %s was taken over by another worker", row["id"])
        return None
    except (KBUnavailable, *STORAGE_ERRORS) as exc:
        logger.error("inbox: cannot answer event %s yet: %s", row["id"], exc)
        try:
            store.release(db, row["id"], owner, now + RETRY_SECONDS)
        except STORAGE_ERRORS:
            pass  # the lease lapses by itself
        return None
    except Exception:
        logger.exception("inbox: could not answer %s (event %s); poison", event.name, row["id"])
        try:
            return poison(db, row["id"], event, now, owner, last_good(live))
        except (LostClaim, *STORAGE_ERRORS):
            return None
    if outcome.status == "withdrawn" or outcome.kind == "privacy":
        core.checkpoint(db)  # the deleted texts leave the -wal file too
    return outcome


def answer_pending(
    db: sqlite_utils.Database, live: LiveIndex, config: Config, now: float, owner: str = ""
) -> list[Outcome]:
    """Answer every claimable event now, in this thread (tests, `ask`-style tools, a sweep)."""
    owner = owner or new_owner()
    outcomes: list[Outcome] = []
    while rows := store.claim(db, owner, now, BATCH, config.inbox.lease_seconds):
        for row in rows:
            outcome = answer_claimed(db, row, live, config, now, owner)
            if outcome is not None:
                outcomes.append(outcome)
    return outcomes


class TurnWorker:
    """`threads` threads answering recorded events while `leading()` says so."""

    def __init__(
        self,
        config: Config,
        live: LiveIndex,
        *,
        clock: Callable[[], float] = time.time,
        threads: int | None = None,
        leading: Callable[[float], bool] = lambda now: True,
        answered: threading.Event | None = None,
    ) -> None:
        """`answered` is set after each committed turn (the outbox sender waits on it)."""
        self.config = config
        self.live = live
        self.clock = clock
        self.count = max(1, threads if threads is not None else config.inbox.workers)
        self.leading = leading
        self.answered = answered
        self.owner = new_owner()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> TurnWorker:
        """Free the claims of dead workers, start the threads (daemons) and return self."""
        free_dead_claims(storage.connect(self.config.storage.database), self.clock())
        self.threads += start_daemons(self.run, self.count, "turns")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Let each thread finish the event in hand, then wait for them."""
        self.stopping.set()
        join_all(self.threads, timeout)

    def run(self) -> None:
        """One thread's loop: claim, answer, repeat; wait a poll when there was nothing."""
        lower_priority()  # the webhook acknowledges first (bot.threads.NICENESS)
        db = storage.connect(self.config.storage.database)
        owner = f"{self.owner}:{threading.current_thread().name}"
        poll = self.config.inbox.poll_seconds
        lease = self.config.inbox.lease_seconds
        last_sweep = 0.0
        while not self.stopping.is_set():
            busy = 0
            try:
                now = self.clock()
                if now - last_sweep > 5.0:
                    last_sweep = now
                    free_dead_claims(db, now)
                if self.leading(now):
                    busy = self._pass(db, owner, lease)
            except Exception:
                logger.exception("inbox: turn pass failed; retrying")
            if not busy:
                self.stopping.wait(poll)

    def _pass(self, db: sqlite_utils.Database, owner: str, lease: float) -> int:
        """Claim and answer one batch; return how many events were answered."""
        rows = store.claim(db, owner, self.clock(), BATCH, lease)
        done = 0
        for row in rows:
            if self.stopping.is_set():  # hand the rest back for the next worker
                store.release(db, row["id"], owner, self.clock())
                continue
            if answer_claimed(db, row, self.live, self.config, self.clock(), owner) is not None:
                done += 1
                if self.answered is not None:
                    self.answered.set()
        return len(rows) if rows else done


class FixedIndex:
    """A `LiveIndex` that always serves one index (tools and tests without a live KB)."""

    def __init__(self, index: Index) -> None:
        self.current = index


def handle_event(
    db: sqlite_utils.Database,
    event: Event,
    index: Any,
    config: Config,
    now: float,
    num_retry: int = 0,
) -> Outcome:
    """Record one event as the webhook does and answer it at once as the worker does (with
    anything recorded before it): its Outcome, or the webhook's status when nothing was
    recorded ('duplicate', 'echo', 'ignored')."""
    status, inbound = accept(db, event, num_retry, now)
    if inbound is None:
        return Outcome(status)
    outcomes = answer_pending(db, FixedIndex(index), config, now)
    return next((o for o in outcomes if o.inbound_id == inbound), Outcome("pending"))
