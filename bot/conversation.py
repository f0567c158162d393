"""One webhook event in, one transaction out: dedupe, decide what to say, remember, enqueue.

This is the only place that ties the pure dialogue to storage. Everything an event changes
happens in a single SQLite transaction, so an accepted event always has its replies in the
outbox, and a redelivered event (same dedup key) changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import sqlite_utils

from bot import dialogue, outreach
from bot.config import Config
from bot.events import STATUS_EVENTS, Event
from bot.messages import Turn
from bot.storage import core, transaction
from bot.storage import outbox as outbox_store

logger = logging.getLogger(__name__)

GREETING_EVENTS = frozenset({"follow", "user_click_chatnow"})


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to an event: its status and, for a turn, its kind and replies queued."""

    status: str  # turn, duplicate, echo, staff_echo, ignored, recorded, silenced, unfollow
    kind: str = ""
    replies: int = 0
    inbound_id: int | None = None


def _local(now: float, config: Config) -> dt.datetime:
    return dt.datetime.fromtimestamp(now, ZoneInfo(config.outreach.timezone))


def _is_staff_echo(db: sqlite_utils.Database, event: Event) -> bool:
    """An OA send made by a person: it carries an admin id, or its text is not one we sent.

    An echo without text (image, file, list) and without an admin id cannot be told apart from
    ours before the sender records Zalo's id for it, so it never silences the bot.
    """
    if event.admin_id:
        return True
    if not event.msg_id or not event.text.strip():
        return False
    # Any part of a split message, also before the sender recorded Zalo's id (texts compared
    # on the decoded payload: JSON escapes line breaks) -- see bot.storage.outbox.is_own_echo.
    return not outbox_store.is_own_echo(db, event.user_id, event.msg_id, event.text)


def handle_event(
    db: sqlite_utils.Database,
    event: Event,
    index: Any,
    config: Config,
    now: float,
    num_retry: int = 0,
) -> Outcome:
    """Process one verified event in one transaction; see the module docstring.

    Status receipts and the echoes of our own messages write nothing. For a text message the
    dialogue runs first on the state read outside the write lock (it is pure and takes about a
    millisecond); inside the transaction the state is read again and the turn recomputed only
    if another message of the same citizen changed it meanwhile.
    """
    if event.name in STATUS_EVENTS:
        return Outcome("ignored")
    if event.is_echo:
        if not event.user_id or not _is_staff_echo(db, event):
            return Outcome("echo")
        with transaction(db):
            if _record(db, event, num_retry, now) is None:
                return Outcome("duplicate")
            until = now + config.bot.handover_quiet_minutes * 60
            core.mark_staff_active(db, event.user_id, until, now)
        return Outcome("staff_echo")
    guess = _speculate(db, event, index, config, now)
    with transaction(db):
        inbound_id = _record(db, event, num_retry, now)
        if inbound_id is None:
            return Outcome("duplicate")
        turn = _decide(db, event, index, config, now, guess)
        if isinstance(turn, Outcome):
            return turn
        queued = _apply(db, event, turn, inbound_id, config, now)
        return Outcome("turn", turn.kind, queued, inbound_id)


def _record(db: sqlite_utils.Database, event: Event, num_retry: int, now: float) -> int | None:
    """Store the inbound event; None when it was seen before (a redelivery)."""
    return core.record_inbound(
        db,
        event.dedup_key,
        event.name,
        event.user_id,
        event.msg_id,
        event.text,
        event.timestamp,
        num_retry,
        now,
    )


def _speculate(
    db: sqlite_utils.Database, event: Event, index: Any, config: Config, now: float
) -> tuple[dict[str, Any], Turn] | None:
    """The dialogue's turn for a text message on the state as read now, outside the lock."""
    if event.name != "user_send_text" or not event.text.strip() or not event.user_id:
        return None
    state = core.load_conversation(db, event.user_id)["state"]
    turn = dialogue.respond(
        event.text, state, index, _local(now, config), config.bot, buttons=config.zalo.buttons
    )
    return state, turn


def _decide(
    db: sqlite_utils.Database,
    event: Event,
    index: Any,
    config: Config,
    now: float,
    guess: tuple[dict[str, Any], Turn] | None = None,
) -> Turn | Outcome:
    """Pick the turn for an event, or an Outcome when nothing is to be said."""
    buttons = config.zalo.buttons
    name = event.name
    if name in GREETING_EVENTS and event.user_id:
        core.touch_user(
            db, event.user_id, now, follow_state="follower" if name == "follow" else None
        )
        state = core.load_conversation(db, event.user_id)["state"]
        return dialogue.welcome(index, config.bot, buttons=buttons, state=state)
    if name == "unfollow" and event.user_id:
        core.touch_user(db, event.user_id, now, follow_state="unfollowed", interaction=False)
        return Outcome("unfollow")
    if name == "user_withdraw" and event.user_id:
        outreach.forget(db, event.user_id, _local(now, config))
        return Outcome("withdrawn")
    if not event.is_user_message:
        core.record_other_event(db, name, event.user_id, now)
        return Outcome("recorded")

    core.touch_user(db, event.user_id, now)
    conversation = core.load_conversation(db, event.user_id)
    staff_until = conversation.get("staff_active_until")
    if staff_until and staff_until > now:
        core.record_turn(db, None, event.user_id, now, "silenced", None, None, 0.0)
        return Outcome("silenced")
    if name != "user_send_text" or not event.text.strip():
        kind = event.attachments[0].type if event.attachments else name.removeprefix("user_send_")
        return dialogue.unsupported(
            kind, index, config.bot, buttons=buttons, state=conversation["state"]
        )
    turn = outreach.intercept(db, event.user_id, event.text, _local(now, config), index.kb, config)
    if turn is not None:
        return turn
    if guess is not None and guess[0] == conversation["state"]:
        return guess[1]
    return dialogue.respond(
        event.text, conversation["state"], index, _local(now, config), config.bot, buttons=buttons
    )


def _apply(
    db: sqlite_utils.Database,
    event: Event,
    turn: Turn,
    inbound_id: int,
    config: Config,
    now: float,
) -> int:
    """Store what the turn decided and queue its replies; return how many were queued."""
    user = event.user_id
    if turn.state is not None and event.user_id:
        core.save_state(db, user, turn.state, now)
        ward = turn.state.get("ward") if isinstance(turn.state, dict) else None
        if ward:
            core.set_ward(db, user, ward)
    if turn.unanswered:
        core.add_unanswered(
            db, user, event.text, turn.candidates[0] if turn.candidates else None, turn.score, now
        )
    if turn.rating is not None:
        core.add_rating(db, user, turn.rating[0], turn.rating[1], now)
    if turn.handover:
        core.set_handover(db, user, True, now, reason=turn.kind)
    core.record_turn(
        db, inbound_id, user, now, turn.kind, turn.topic, turn.section, turn.score, faq=turn.faq
    )
    queued = 0
    for number, reply in enumerate(turn.replies):
        key = f"reply:{inbound_id}:{number}"
        if core.enqueue(
            db, key, user, reply.to_json(), now, source="reply", source_id=str(inbound_id)
        ):
            queued += 1
    return queued
