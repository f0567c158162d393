"""Delivering queued messages to Zalo: leases, retries with backoff, splitting long texts.

Delivery guarantee. A row is claimed with a lease, each part is sent, and Zalo's answer is
committed right after it arrives. Retryable failures (5xx, -32 rate limit, -200, a token
refresh that failed) go back to 'pending' with exponential backoff and jitter, up to
`outbox.max_attempts`; permanent ones end as 'failed' with Zalo's error code, 'unreachable'
(the user cannot receive) or 'template_needed' (outside the 7-day window). A sender that dies
leaves its rows 'sending'; they are taken over when the lease ends, or at once when the dead
process ran on this host. Zalo has no idempotency key for consultation messages, so a part
that may have gone out unseen (a send that timed out or lost its connection after the request
was written, or a row taken over from a dead sender) is in doubt: it is never resent before
`bot.outbox.indoubt` has settled from the citizen's conversation history, searched back to the row's
first attempt, that it did not go out. Later messages to that citizen wait meanwhile.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import random
import re
import threading
import time
import unicodedata
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import sqlite_utils

from bot import storage
from bot.config import Config
from bot.leases import holder_is_dead, new_owner
from bot.outbox import indoubt
from bot.storage import outbox as store
from bot.threads import join_all, start_daemons
from bot.zalo.client import TEXT_LIMIT, ZaloClient, ZaloError

logger = logging.getLogger(__name__)

_SENTENCE_END = re.compile(r"[.!?…;:](?=\s)")


# -- Message parts -------------------------------------------------------------------------------


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """NFC-normalise `text` and cut it into parts of at most `limit` characters.

    Cuts fall at a paragraph break, else a line break, else a sentence end, else a space, each
    preferred only when it keeps the part at least half full; a single word longer than the
    limit (a long link) is the only thing ever cut inside.
    """
    rest = unicodedata.normalize("NFC", text).strip()
    parts: list[str] = []
    while len(rest) > limit:
        cut = _cut_point(rest, limit)
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not parts:
        parts.append(rest)
    return parts


def _cut_point(text: str, limit: int) -> int:
    window = text[: limit + 1]
    floor = limit // 2
    for separator in ("\n\n", "\n"):
        at = window.rfind(separator, 0, limit)
        if at >= floor:
            return at
    ends = [m.end() for m in _SENTENCE_END.finditer(window) if floor <= m.end() <= limit]
    if ends:
        return ends[-1]
    at = max(window.rfind(" ", 0, limit + 1), window.rfind("\n", 0, limit + 1))
    return at if at > 0 else limit


def numbered(text: str, buttons: list[dict[str, str]]) -> str:
    """The text with its buttons written out (when the OA shows no buttons).

    Choices become numbered lines (a typed "1" selects them); links become "title: url" lines
    after them.
    """
    choices = [b for b in buttons if not b.get("url")]
    lines = [f"{n}. {b['title']}" for n, b in enumerate(choices, start=1)]
    links = [f"{b['title']}: {b['url']}" for b in buttons if b.get("url")]
    blocks = [block for block in ("\n".join(lines), "\n".join(links)) if block]
    return "\n\n".join([text.rstrip(), *blocks])


def message_parts(payload: dict[str, Any], buttons_enabled: bool) -> list[tuple[str, list]]:
    """The (text, buttons) sends for one 'cs' payload: buttons ride on the last part.

    Buttons are query choices `{"title", "payload"}` or links `{"title", "url"}`; the
    payload's `image_url`, if any, rides on the last part too (see `_deliver_row`).
    """
    text = str(payload.get("text", ""))
    buttons = list(payload.get("buttons") or [])
    if buttons and not buttons_enabled:
        text, buttons = numbered(text, buttons), []
    texts = split_text(text)
    return [(part, buttons if i == len(texts) - 1 else []) for i, part in enumerate(texts)]


# -- Retry policy --------------------------------------------------------------------------------


def backoff(attempts: int, config: Config, rng: random.Random) -> float:
    """Seconds to wait after the `attempts`-th failure: exponential, capped, with jitter."""
    base = config.outbox.backoff_base_seconds * 2 ** max(0, attempts - 1)
    return min(config.outbox.backoff_max_seconds, base) * rng.uniform(0.5, 1.0)


def next_morning(now: float, config: Config) -> float:
    """The next 06:00 local time (Zalo's night block ends then)."""
    local = dt.datetime.fromtimestamp(now, ZoneInfo(config.outreach.timezone))
    morning = local.replace(hour=6, minute=0, second=0, microsecond=0)
    if morning <= local:
        morning += dt.timedelta(days=1)
    return morning.timestamp()


DEAD_CHECK_SECONDS = 5.0
_last_dead_check = [float("-inf")]
_passes = itertools.count(1)

_FINAL_BY_ACTION = {"unreachable": "unreachable", "template": "template_needed"}


# -- One pass ------------------------------------------------------------------------------------


def deliver_due(
    db: sqlite_utils.Database,
    client: ZaloClient,
    config: Config,
    now: float,
    *,
    owner: str | None = None,
    rng: random.Random | None = None,
) -> int:
    """Claim due messages and send them once each; return how many were fully sent.

    `now` is the time at the start of the pass; later steps add the time elapsed since.
    """
    # Each pass leases under its own id, so of a dead pass's rows still 'sending' only the
    # lowest id can have been in flight (see `store.claim`).
    owner = f"{owner or new_owner()}/{next(_passes)}"
    rng = rng or random.Random()
    started = time.monotonic()

    def clock() -> float:
        return now + (time.monotonic() - started)

    if time.monotonic() - _last_dead_check[0] > DEAD_CHECK_SECONDS:
        _last_dead_check[0] = time.monotonic()
        free_dead_leases(db, now)
    lease = config.outbox.lease_seconds
    rows = store.claim(db, owner, now, config.outbox.batch_size, lease)
    sent = 0
    held: set[str] = set()  # users whose earlier message did not go out in this pass
    for row in rows:
        if row["user_id"] in held:
            store.release(db, row["id"], owner)
            continue
        if _deliver_row(db, client, config, row, owner, clock, rng):
            sent += 1
        else:
            held.add(row["user_id"])
    return sent


def _deliver_row(
    db: sqlite_utils.Database,
    client: ZaloClient,
    config: Config,
    row: dict[str, Any],
    owner: str,
    clock: Callable[[], float],
    rng: random.Random,
) -> bool:
    """Send the remaining parts of one row; record the result; True when it is fully sent."""
    lease = config.outbox.lease_seconds
    payload = row["payload"]
    if row["channel"] == "template":
        parts: list[tuple[str, list]] = [("", [])]  # one send, no text of ours
    else:
        parts = message_parts(payload, config.zalo.buttons)
    start = row["parts_sent"]
    if row["doubt_since"] is not None and start < len(parts):
        start = _settle_doubt(db, client, config, row, parts, owner, clock, rng)
        if start is None:
            return False
    for index in range(start, len(parts)):
        if clock() > row["lease_until"] - lease / 2:  # claimed a while ago: extend first
            if not store.renew(db, row["id"], owner, clock(), lease):
                logger.warning("outbox %s: lease lost before sending, skipped", row["id"])
                return False
            row["lease_until"] = clock() + lease
        attempt_at = clock()
        try:
            if row["channel"] == "template":
                message_id = client.send_template(
                    row["user_id"], payload["template_id"], payload.get("template_data") or {}
                )
            else:
                text, buttons = parts[index]
                last = index == len(parts) - 1
                image = payload.get("image_url") if last else None
                message_id = client.send_text(row["user_id"], text, buttons, image_url=image)
        except ZaloError as exc:
            _record_failure(db, config, row, owner, exc, clock(), rng, attempt_at)
            return False
        except Exception as exc:  # a bug must not lose the message nor send it twice
            logger.exception("outbox %s: unexpected error while sending", row["id"])
            error = ZaloError(0, f"{type(exc).__name__}: {exc}", True, "retry", in_doubt=True)
            _record_failure(db, config, row, owner, error, clock(), rng, attempt_at)
            return False
        if not store.record_part(db, row["id"], owner, index, len(parts), message_id, clock()):
            logger.warning("outbox %s: lease lost; its new holder settles the part", row["id"])
            return False
    logger.debug("outbox %s: sent in %d part(s)", row["id"], len(parts))
    return True


def _settle_doubt(
    db: sqlite_utils.Database,
    client: ZaloClient,
    config: Config,
    row: dict[str, Any],
    parts: list[tuple[str, list]],
    owner: str,
    clock: Callable[[], float],
    rng: random.Random,
) -> int | None:
    """Settle the row's in-doubt part from Zalo's history: the index of the next part to send,
    or None when the row must wait (rescheduled) or has ended."""
    index = row["parts_sent"]
    # A row taken over from a dead sender is in doubt from its claim (`store.claim`): its last
    # send may still be under way at Zalo, so an absence is only believed after the settling
    # time from then.
    since = row["doubt_since"]
    verdict = indoubt.resolve(db, client, config, row, parts[index][0], since, clock())
    if verdict.kind == "found":
        logger.warning("outbox %s: part %d had reached Zalo; not resent", row["id"], index)
        recorded = store.record_part(
            db, row["id"], owner, index, len(parts), verdict.message_id, clock()
        )
        return index + 1 if recorded else None
    if verdict.kind == "absent" and row["attempts"] < config.outbox.max_attempts:
        logger.info("outbox %s: part %d is not in Zalo's history; sending it", row["id"], index)
        return index
    if verdict.kind in ("absent", "given_up"):
        reason = verdict.reason or f"not sent after {row['attempts']} attempt(s)"
        store.finish(db, row["id"], owner, "failed", row["attempts"], 0, reason)
        logger.error("outbox %s: failed: %s", row["id"], reason)
        return None
    checks = row["doubt_checks"] + 1
    when = clock() + backoff(checks, config, rng)
    store.hold_in_doubt(
        db,
        row["id"],
        owner,
        attempts=row["attempts"],
        since=since,
        checks=checks,
        next_check_at=when,
        error=verdict.reason,
    )
    logger.info("outbox %s: %s; next check in %.1f s", row["id"], verdict.reason, when - clock())
    return None


def _record_failure(
    db: sqlite_utils.Database,
    config: Config,
    row: dict[str, Any],
    owner: str,
    exc: ZaloError,
    now: float,
    rng: random.Random,
    attempt_at: float,
) -> None:
    """Hold a send that may have gone out in doubt, reschedule a retryable failure, or give
    the row its final status."""
    attempts = row["attempts"] + 1
    if exc.in_doubt:
        store.hold_in_doubt(
            db,
            row["id"],
            owner,
            attempts=attempts,
            since=attempt_at,
            checks=0,
            next_check_at=now + backoff(1, config, rng),
            error=f"in doubt: {exc.message}",
        )
        logger.warning("outbox %s: attempt %d in doubt (%s)", row["id"], attempts, exc.message)
        return
    retryable = exc.retryable or exc.action == "refresh"
    if retryable and attempts < config.outbox.max_attempts:
        if exc.action == "night":
            when = next_morning(now, config)
        else:
            when = now + backoff(attempts, config, rng)
        store.reschedule(db, row["id"], owner, attempts, when, exc.code, exc.message)
        logger.info(
            "outbox %s: attempt %d failed (%s %s), retry in %.1f s",
            row["id"],
            attempts,
            exc.code,
            exc.message,
            when - now,
        )
        return
    status = _FINAL_BY_ACTION.get(exc.action, "failed")
    store.finish(db, row["id"], owner, status, attempts, exc.code, exc.message)
    level = (
        logging.ERROR if exc.action in ("human", "give_up", "retry", "refresh") else logging.INFO
    )
    logger.log(level, "outbox %s: %s after %d attempt(s): %s", row["id"], status, attempts, exc)


def free_dead_leases(db: sqlite_utils.Database, now: float) -> int:
    """Free rows leased by sender processes of this host that no longer run."""
    dead = [owner for owner in store.lease_owners(db, now) if holder_is_dead(owner)]
    freed = store.expire_leases(db, dead, now)
    if freed:
        logger.warning("outbox: took over %d message(s) from a sender that died", freed)
    return freed


# -- The loop ------------------------------------------------------------------------------------


class Sender:
    """Background delivery: `workers` threads, each running `deliver_due` in a loop."""

    def __init__(
        self,
        config: Config,
        *,
        client_factory: Callable[[sqlite_utils.Database], ZaloClient] | None = None,
        clock: Callable[[], float] = time.time,
        workers: int | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.workers = max(1, workers if workers is not None else config.outbox.workers)
        self.client_factory = client_factory or self._default_client
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []

    def _default_client(self, db: sqlite_utils.Database) -> ZaloClient:
        from bot.zalo.tokens import TokenStore

        return ZaloClient(self.config.zalo, TokenStore(db, self.config))

    def start(self) -> Sender:
        """Start the worker threads (daemons) and return self."""
        db = storage.connect(self.config.storage.database)
        free_dead_leases(db, self.clock())
        self.threads += start_daemons(self.run, self.workers, "outbox-sender")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the workers to finish their current message and wait for them."""
        self.stopping.set()
        join_all(self.threads, timeout)

    def run(self) -> None:
        """One worker's loop: deliver, sleep `poll_seconds` when there was nothing to do."""
        db = storage.connect(self.config.storage.database)
        client = self.client_factory(db)
        owner = new_owner()
        rng = random.Random()
        poll = self.config.outbox.poll_seconds
        while not self.stopping.is_set():
            try:
                busy = deliver_due(db, client, self.config, self.clock(), owner=owner, rng=rng)
            except Exception:
                logger.exception("outbox: delivery pass failed")
                busy = 0
            if not busy:
                self.stopping.wait(poll)
