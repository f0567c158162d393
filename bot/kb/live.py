"""The knowledge base the running bot answers from, reloaded when staff edit the files.

Every `reload_seconds`, a watcher thread started by `.watch()` (the running bot's processes
start it) compares the files' names, sizes and modification times with the last look; this
costs a few `stat` calls, and notices an edit within seconds even when no citizen writes.
Without a watcher (tools, tests), asking for `.current` or calling `.maybe_reload(now)` looks.
When something changed, the whole knowledge base is loaded again, built (the matcher index)
and checked for errors, including the self-test that each topic's phrasings find it.
Only then is the new one swapped in, as one attribute assignment, so a request sees either the
old or the new knowledge base, never a mix. A failing edit is refused and logged with its
problems, and the last good knowledge base keeps answering. After every load, refusal and look,
`report` (when given) receives `.status()`: the answering process passes one that records it
for the console, which runs in another process.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from bot.clock import Moment, epoch
from bot.kb.check import audit
from bot.kb.loader import KBError, Problem, kb_files, read_kb
from bot.kb.model import KnowledgeBase
from bot.threads import real_sleep, start_real_thread, wait_until

logger = logging.getLogger(__name__)

Fingerprint = tuple[tuple[str, int, int], ...]


class Live(Protocol):
    """What the running bot needs of a live knowledge base: `LiveKB`, or a fixed one in tests."""

    @property
    def current(self) -> Any:
        """The built index of the last good knowledge base (raises when none is loaded)."""
        ...

    @property
    def kb(self) -> KnowledgeBase | None:
        """The last good knowledge base (None before the first good load)."""
        ...

    def status(self) -> dict[str, Any]:
        """Its state: version, loads, the last refused edit (`healthz`; the console reads the
        answering process's, which `LiveKB` hands to its `report`)."""
        ...


class KBUnavailable(KBError):
    """No good knowledge base has been loaded yet."""


def last_good(live: Any) -> KnowledgeBase | None:
    """The knowledge base `live` answers from (its `.kb`, else `.current.kb`), or None when none
    can be read: the console must work, and a poison turn say sorry, before a first good load."""
    if live is None:
        return None
    kb = getattr(live, "kb", None)
    if kb is not None:
        return kb
    try:
        return live.current.kb
    except Exception:  # noqa: BLE001 - a broken knowledge base is a reason to be here
        return None


def fingerprint(path: str | Path) -> Fingerprint:
    """Name, size and modification time of every knowledge-base file."""
    found = []
    for file in kb_files(path):
        try:
            stat = file.stat()
        except OSError:
            continue
        found.append((str(file), stat.st_size, stat.st_mtime_ns))
    return tuple(found)


class LiveKB:
    """The last good knowledge base, built by `build(kb)`, reloaded live from `path`."""

    def __init__(
        self,
        path: str | Path,
        build: Callable[[KnowledgeBase], Any],
        reload_seconds: float = 3.0,
        *,
        clock: Callable[[], float] = time.time,
        report: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        """Load once now; a failure is logged and `.current` raises until a good edit lands."""
        self.path = Path(path)
        self.build = build
        self.reload_seconds = reload_seconds
        self.clock = clock
        self.report = report
        self._lock = threading.Lock()
        self._good: tuple[KnowledgeBase, Any] | None = None
        self._seen: Fingerprint | None = None
        self._checked_at = float("-inf")
        self._loaded_at: float | None = None
        self._last_error_at: float | None = None
        self._last_errors: list[Problem] = []
        self._attempt_at: float | None = None
        self._reloads = 0
        self._refused = 0
        self._watching = False
        self._wanted = 0  # reloads asked of the watcher
        self._looked = 0  # of those, how many it has done
        self.reload(clock())

    def watch(self) -> LiveKB:
        """Look at the files every `reload_seconds` in a real background thread from now on,
        building a new index there, off every request; `.current` then never reloads."""
        if not self._watching:
            self._watching = True
            start_real_thread(self._watch)
        return self

    def _watch(self) -> None:
        """The watcher's loop: look when due or asked; never raises."""
        step = min(0.25, self.reload_seconds)
        while True:
            real_sleep(step)
            wanted = self._wanted
            try:
                if wanted != self._looked:
                    self._reload_unlocked(self.clock())
                elif self.clock() - self._checked_at >= self.reload_seconds:
                    self._look(self.clock())
            except Exception:  # noqa: BLE001 - the watcher must keep watching
                logger.exception("looking at the knowledge base in %s failed", self.path)
            self._looked = wanted

    @property
    def current(self) -> Any:
        """The built object (the matcher index) of the last good knowledge base."""
        if not self._watching:
            self.maybe_reload(self.clock())
        good = self._good
        if good is None:
            raise KBUnavailable(self._last_errors)
        return good[1]

    @property
    def kb(self) -> KnowledgeBase | None:
        """The last good knowledge base itself (None before the first good load)."""
        return None if self._good is None else self._good[0]

    def maybe_reload(self, now: Moment) -> bool:
        """Reload if `reload_seconds` passed since the last look and a file changed (with a
        watcher running, it looks by itself: nothing is done here)."""
        at = epoch(now)
        if self._watching or at - self._checked_at < self.reload_seconds:
            return False
        if not self._lock.acquire(blocking=False):
            return False  # another thread is looking; keep serving the current one
        try:
            return self._look(at)
        finally:
            self._lock.release()

    def _look(self, at: float) -> bool:
        """Compare the files with the last look; reload when one changed."""
        self._checked_at = at
        if fingerprint(self.path) == self._seen:
            self._report()
            return False
        return self._reload_locked(at)

    def reload(self, now: Moment, timeout: float = 120.0) -> bool:
        """Load, build and check now, whatever the files' times say; True when swapped in.

        With a watcher running, the watcher does it and the caller waits (cooperatively under
        gevent), so the build never runs on a request's thread.
        """
        if self._watching:
            before = self._reloads
            self._wanted += 1
            wanted = self._wanted
            wait_until(lambda: self._looked >= wanted, timeout)
            return self._reloads > before
        with self._lock:
            return self._reload_unlocked(epoch(now))

    def _reload_unlocked(self, at: float) -> bool:
        self._checked_at = at
        return self._reload_locked(at)

    def _reload_locked(self, at: float) -> bool:
        """The reload itself, then its report; the caller holds the lock."""
        try:
            return self._load(at)
        finally:
            self._report()

    def _report(self) -> None:
        """Hand `.status()` to `report`; a failing report is logged, never raised."""
        if self.report is None:
            return
        try:
            self.report(self.status())
        except Exception:  # noqa: BLE001 - reporting must not stop the reloads
            logger.exception("reporting the state of the knowledge base in %s failed", self.path)

    def _load(self, at: float) -> bool:
        """Load, build and check the files; swap the result in when it has no error."""
        seen = fingerprint(self.path)
        self._attempt_at = at
        loaded_at = dt.datetime.fromtimestamp(at, dt.UTC)
        kb, problems = read_kb(self.path, loaded_at)
        built = None
        if not any(p.severity == "error" for p in problems):
            try:
                built = self.build(kb)
            except Exception as exc:  # noqa: BLE001 - any build failure refuses the edit
                logger.exception("building the knowledge base from %s failed", self.path)
                problems.append(Problem(str(self.path), 1, "error", f"build failed: {exc}"))
            else:
                index = built if hasattr(built, "match") else None
                problems += audit(
                    kb,
                    self.path,
                    loaded_at.date(),
                    index=index,
                    self_test=index is not None,
                    strict_dates=False,
                )
        errors = [p for p in problems if p.severity == "error"]
        self._seen = seen
        if errors:
            self._refused += 1
            self._last_error_at = at
            self._last_errors = errors
            keeping = f"keeping version {self._good[0].version}" if self._good else "none loaded"
            logger.error(
                "knowledge base edit refused (%d errors; %s):\n%s",
                len(errors),
                keeping,
                "\n".join(str(p) for p in errors[:20]),
            )
            return False
        self._good = (kb, built)
        self._loaded_at = at
        self._last_errors = []
        self._reloads += 1
        logger.info(
            "knowledge base %s loaded from %s: %d topics", kb.version, self.path, len(kb.topics)
        )
        return True

    def status(self) -> dict[str, Any]:
        """Version, when loaded, topic count, last refused edit and its errors, last look."""
        kb = self.kb
        return {
            "path": str(self.path),
            "ok": kb is not None and not self._last_errors,
            "version": kb.version if kb else "",
            "topics": len(kb.topics) if kb else 0,
            "loaded_at": self._loaded_at,
            "last_reload_at": self._attempt_at,
            "checked_at": self._checked_at if self._checked_at > float("-inf") else None,
            "reloads": self._reloads,
            "refused": self._refused,
            "last_error_at": self._last_error_at,
            "last_errors": [str(p) for p in self._last_errors],
            "reload_seconds": self.reload_seconds,
            "watching": self._watching,
        }
