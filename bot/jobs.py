"""The one scheduler process: APScheduler is the clock, the database says what is due.

Jobs (all in a memory job store; nothing pickled): answering recorded citizen events (the turn
worker's threads, `bot.inbox.worker`), outbox delivery (threads running
`bot.outbox.delivery.deliver_due`, woken as soon as a turn queued replies), token refresh ahead of
expiry, due broadcasts, dossier reminders, the news feed, data retention and, every second, the
WAL checkpoint (`storage.AUTOCHECKPOINT_PAGES`). A failing job is
logged and simply runs again at its next tick.

Only the holder of the SQLite lease `scheduler` does any work. It renews the lease every
`LEASE_RENEW` seconds; a second scheduler started by mistake finds the lease taken and stays idle
(a hot standby), checking every delivery poll. It takes over as soon as the holder's process is
gone (SQLite keeps every process on this host, so the holder's pid tells), or, for a holder
that is alive but hung, once the lease has lapsed (`LEASE_TTL` seconds after its last renewal).
"""

from __future__ import annotations

import logging
import random
import signal
import threading
import time
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import sqlite_utils
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from bot import storage
from bot.config import Config
from bot.leases import holder_is_dead, new_owner
from bot.outreach.broadcasts import Dispatcher
from bot.outreach.clock import Moment, epoch
from bot.outreach.dossiers import FINAL_STATUSES
from bot.outreach.news import poll_news
from bot.outreach.privacy import apply_retention
from bot.outreach.reminders import send_reminders
from bot.outreach.text import FileTexts, Texts
from bot.storage import core, transaction
from bot.storage import outbox as outbox_store
from bot.threads import lower_priority

logger = logging.getLogger(__name__)

LEASE = "scheduler"
LEASE_TTL = 15.0
LEASE_RENEW = 5.0


class Jobs:
    """Every job as a method taking `now`; each acts only while this process holds the lease."""

    def __init__(
        self,
        config: Config,
        owner: str | None = None,
        texts: Texts | None = None,
        client_factory: Callable[[sqlite_utils.Database], Any] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Jobs for `config`; `owner` names this process in the lease."""
        self.config = config
        self.owner = owner or new_owner()
        self.texts = texts or FileTexts(config.bot.knowledge_base)
        self.client_factory = client_factory or self._default_client
        self.clock = clock
        self.dispatcher = Dispatcher(config)
        self.stopping = threading.Event()
        self.queued = threading.Event()  # a turn queued replies: delivery looks at once
        self._local = threading.local()
        self._lead_until = 0.0
        self._lead_lock = threading.Lock()

    def _default_client(self, db: sqlite_utils.Database) -> Any:
        """A Zalo client with its own token store on `db`."""
        from bot.zalo.client import ZaloClient
        from bot.zalo.tokens import TokenStore

        return ZaloClient(self.config.zalo, TokenStore(db, self.config))

    def db(self) -> sqlite_utils.Database:
        """This thread's connection to the database."""
        if getattr(self._local, "db", None) is None:
            self._local.db = storage.connect(self.config.storage.database)
        return self._local.db

    # -- the lease ---------------------------------------------------------------------------

    def lead(self, now: Moment) -> bool:
        """Take or renew the scheduler lease when due; True while this process holds it."""
        ts = epoch(now)
        with self._lead_lock:
            if ts < self._lead_until - (LEASE_TTL - LEASE_RENEW):
                return True
            held = core.acquire_lock(self.db(), LEASE, self.owner, LEASE_TTL, ts)
            if not held:
                held = self._replace_dead_holder(ts)
            was = self._lead_until > ts
            self._lead_until = ts + LEASE_TTL if held else 0.0
        if held and not was:
            logger.info("scheduler %s holds the lease", self.owner)
        elif not held and was:
            logger.warning("scheduler %s lost the lease; standing by", self.owner)
        return held

    def _replace_dead_holder(self, now: float) -> bool:
        """Take the lease from a holder whose process is gone; True when it is ours now."""
        db = self.db()
        holder = outbox_store.lock_holder(db, LEASE)
        if not holder or not holder_is_dead(holder):
            return False
        with transaction(db):
            core.release_lock(db, LEASE, holder)
            held = core.acquire_lock(db, LEASE, self.owner, LEASE_TTL, now)
        if held:
            logger.warning(
                "scheduler %s takes over from %s, whose process is gone", self.owner, holder
            )
        return held

    def resign(self) -> None:
        """Give the lease up (on shutdown) so a standby can take over at once."""
        with self._lead_lock:
            core.release_lock(self.db(), LEASE, self.owner)
            self._lead_until = 0.0

    def run(self, name: str, now: Moment | None = None) -> Any:
        """Run job `name` once at `now` if this process leads; log and swallow its failure."""
        ts = self.clock() if now is None else epoch(now)
        try:
            if not self.lead(ts):
                return None
            return getattr(self, f"job_{name}")(self.db(), ts)
        except Exception:
            logger.exception("job %s failed; it runs again at its next tick", name)
            return None

    # -- the jobs ----------------------------------------------------------------------------

    def job_lease(self, db: sqlite_utils.Database, now: float) -> bool:
        """Keep the lease (the work is done by `run`'s call to `lead`)."""
        return True

    def job_broadcasts(self, db: sqlite_utils.Database, now: float) -> int:
        """Start due broadcasts and hand their recipients to the outbox at the throttled rate."""
        return self.dispatcher.tick(db, now)

    def job_reminders(self, db: sqlite_utils.Database, now: float) -> dict[str, int]:
        """Queue due dossier reminders."""
        return send_reminders(db, self.config, self.texts, now)

    def job_news(self, db: sqlite_utils.Database, now: float) -> list[int]:
        """Poll the news feed and draft new items."""
        return poll_news(db, self.config, self.texts, now)

    def job_token(self, db: sqlite_utils.Database, now: float) -> bool:
        """Refresh the Zalo access token ahead of expiry."""
        from bot.zalo.tokens import TokenStore

        if not self.config.zalo.app_id:
            return False
        return TokenStore(db, self.config).refresh_if_due(now)

    def job_retention(self, db: sqlite_utils.Database, now: float) -> int:
        """Remove citizens' texts, closed dossiers and stale uploads (`bot.outreach.privacy`)."""
        removed = apply_retention(db, now, self.config.storage.retention_days, FINAL_STATUSES)
        if any(removed.values()):
            logger.info("retention: removed %s", removed)
        return sum(removed.values())

    def job_checkpoint(self, db: sqlite_utils.Database, now: float) -> bool:
        """Copy the WAL into the database (the webhook's commits leave it to this job)."""
        storage.checkpoint_wal(db)
        return True

    def job_outbox(self, db: sqlite_utils.Database, now: float) -> int:
        """One delivery pass (tests; the running scheduler uses `deliver_forever` threads)."""
        from bot.outbox.delivery import deliver_due

        if getattr(self._local, "client", None) is None:
            self._local.client = self.client_factory(db)
        return deliver_due(db, self._local.client, self.config, now, owner=self.owner)

    def deliver_forever(self) -> None:
        """Delivery loop for one thread: deliver while leading, else wait."""
        from bot.outbox.delivery import deliver_due

        lower_priority()  # the webhook acknowledges first (bot.threads.NICENESS)

        db = storage.connect(self.config.storage.database)
        client = self.client_factory(db)
        owner = f"{self.owner}:{threading.current_thread().name}"
        rng = random.Random()
        poll = self.config.outbox.poll_seconds
        while not self.stopping.is_set():
            busy = 0
            try:
                now = self.clock()
                if self.lead(now):
                    busy = deliver_due(db, client, self.config, now, owner=owner, rng=rng)
            except Exception:
                logger.exception("outbox delivery pass failed; retrying")
            if not busy and not self.stopping.is_set():
                self.queued.wait(poll)
                self.queued.clear()

    def answer_forever(self) -> Any:
        """Once this process leads, load the knowledge base (with its watcher, reporting its
        state to the console) and start the turn worker; its threads answer recorded events
        while the lease is held. Returns the worker, or None when stopped first (a standby
        never builds the index)."""
        from bot.inbox.worker import TurnWorker, answering_kb

        while not self.lead(self.clock()):
            if self.stopping.wait(self.config.outbox.poll_seconds):
                return None

        live = answering_kb(self.config).watch()  # reports its state for the console
        worker = TurnWorker(
            self.config, live, clock=self.clock, leading=self.lead, answered=self.queued
        )
        return worker.start()


def build_scheduler(jobs: Jobs) -> BackgroundScheduler:
    """An APScheduler with every job at its interval, in the office timezone."""
    config = jobs.config
    scheduler = BackgroundScheduler(
        timezone=ZoneInfo(config.outreach.timezone),
        jobstores={"default": MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(4)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
    )
    intervals = {
        "lease": LEASE_RENEW,
        "broadcasts": 1.0,
        "reminders": 60.0,
        "token": 60.0,
        "checkpoint": 1.0,
    }
    if config.outreach.news_feed_url:
        intervals["news"] = config.outreach.news_poll_minutes * 60.0
    for name, seconds in intervals.items():
        scheduler.add_job(jobs.run, "interval", args=[name], seconds=seconds, id=name, name=name)
    scheduler.add_job(
        jobs.run, "cron", args=["retention"], hour=3, minute=30, id="retention", name="retention"
    )
    return scheduler


def run(config: Config, workers: int | None = None) -> None:
    """Run the scheduler until SIGINT or SIGTERM."""
    jobs = Jobs(config)
    scheduler = build_scheduler(jobs)
    count = max(1, workers if workers is not None else config.outbox.workers)
    threads = [
        threading.Thread(target=jobs.deliver_forever, name=f"outbox-{n}", daemon=True)
        for n in range(count)
    ]
    answering: list[Any] = []  # the turn worker, once leading and its knowledge base loaded
    threads.append(
        threading.Thread(
            target=lambda: answering.append(jobs.answer_forever()), name="turns", daemon=True
        )
    )

    def stop(signum: int, frame: object) -> None:
        """Signal handler: finish the current work and stop."""
        jobs.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if jobs.lead(jobs.clock()):
        from bot.outbox.delivery import free_dead_leases

        free_dead_leases(jobs.db(), jobs.clock())  # rows a crashed sender on this host held
        jobs.run("retention")
    else:
        logger.warning("another scheduler holds the lease; this one stands by")
    scheduler.start()
    for thread in threads:
        thread.start()
    logger.info("scheduler running (%s)", jobs.owner)
    try:
        while not jobs.stopping.wait(1.0):
            pass
    finally:
        scheduler.shutdown(wait=True)
        jobs.queued.set()
        for worker in answering:
            if worker is not None:
                worker.stop()
        for thread in threads:
            thread.join(30)
        jobs.resign()
        logger.info("scheduler stopped")
