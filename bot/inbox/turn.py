"""One recorded event in, one transaction out: read, decide what to say, remember, enqueue.

This is the only place that ties the pure dialogue to storage. The turn worker holds a claim on
the event; everything the event changes, its replies in the outbox and the event's 'done' are
committed in a single SQLite transaction, so an answered event always has its replies queued,
and an event whose turn did not commit is answered again (never twice: the commit checks the
claim, and reply keys are unique per event).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlite_utils

from bot import clock, outreach
from bot.config import Config
from bot.dialogue.answers import unsupported, welcome
from bot.dialogue.decide import respond
from bot.dialogue.messages import Conversation, Turn
from bot.kb.model import KnowledgeBase
from bot.outreach import citizen_texts
from bot.outreach.text import Texts
from bot.storage import core, transaction
from bot.storage import inbox as inbox_store
from bot.understanding import Index
from bot.zalo.events import STATUS_EVENTS, Event

logger = logging.getLogger(__name__)

GREETING_EVENTS = frozenset({"follow", "user_click_chatnow"})
POISON_TEXT = "processing_failed"
"""The knowledge-base text (texts/dialogue.toml) answering a message that could not be processed
(a poison event), instead of silence; `kb check` requires it (`bot.kb.needs.INBOX_TEXTS`)."""
POISON_REPLY = (
    "Trợ lý chưa đọc được tin nhắn vừa rồi của anh/chị. Anh/chị gõ lại câu hỏi giúp, "
    'ví dụ: "làm giấy khai sinh cần gì".'
)
"""The same answer, said only when no knowledge base can be read at all."""


class LostClaim(RuntimeError):
    """Another worker took the event over (this worker's lease lapsed): nothing is committed."""


class Status(StrEnum):
    """What happened to a recorded event."""

    TURN = "turn"  # the dialogue (or outreach) answered
    SILENCED = "silenced"  # staff are talking with the citizen: the bot keeps quiet
    STAFF_ECHO = "staff_echo"  # staff wrote from the OA: the bot keeps quiet for a while
    UNFOLLOW = "unfollow"
    WITHDRAWN = "withdrawn"  # the citizen's data was deleted
    RECORDED = "recorded"  # an event the bot does not act on, noted
    IGNORED = "ignored"  # a status receipt
    POISON = "poison"  # the turn failed: the citizen got an apology
    # statuses of `handle_event` when nothing was recorded or answered
    DUPLICATE = "duplicate"
    ECHO = "echo"
    PENDING = "pending"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to an event: its status and, for a turn, its kind and replies queued."""

    status: Status
    kind: str = ""
    replies: int = 0
    inbound_id: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))


def _local(now: float, config: Config) -> dt.datetime:
    return clock.local(now, config.outreach.timezone)


def answer(
    db: sqlite_utils.Database,
    inbound_id: int,
    event: Event,
    index: Index,
    config: Config,
    now: float,
    owner: str,
) -> Outcome:
    """Compute and commit the turn of one claimed event; see the module docstring.

    For a text message the dialogue runs first on the state read outside the write lock (it is
    pure and takes a few milliseconds); inside the transaction the state is read again and the
    turn recomputed only if something else (the console, a deletion) changed it meanwhile.
    """
    guess = _speculate(db, event, index, config, now)
    with transaction(db):
        if not inbox_store.finish(db, inbound_id, owner, "done", now):
            raise LostClaim(f"inbound event {inbound_id} was taken over")
        return _effects(db, inbound_id, event, index, config, now, guess)


def poison_reply(kb: KnowledgeBase | None) -> str:
    """The apology for a message that could not be processed: the knowledge base's
    `POISON_TEXT`, or `POISON_REPLY` when there is no knowledge base or it lacks the text."""
    if kb is not None:
        try:
            return kb.text(POISON_TEXT)
        except (KeyError, IndexError):
            logger.error("knowledge base has no usable text %r; saying the default", POISON_TEXT)
    return POISON_REPLY


def poison(
    db: sqlite_utils.Database,
    inbound_id: int,
    event: Event,
    now: float,
    owner: str,
    kb: KnowledgeBase | None = None,
) -> Outcome:
    """An event whose turn failed for a reason other than storage: give it up, say sorry.

    The failed transaction left nothing behind; this one marks the event 'poison' and, for a
    citizen's message, queues `poison_reply(kb)`.
    """
    replies = 0
    with transaction(db):
        if not inbox_store.finish(db, inbound_id, owner, "poison", now):
            raise LostClaim(f"inbound event {inbound_id} was taken over")
        if event.is_user_message and event.user_id:
            key = f"reply:{inbound_id}:0"
            payload = {"text": poison_reply(kb)}
            replies = int(
                bool(core.enqueue(db, key, event.user_id, payload, now, source_id=str(inbound_id)))
            )
    return Outcome("poison", replies=replies, inbound_id=inbound_id)


def _effects(
    db: sqlite_utils.Database,
    inbound_id: int,
    event: Event,
    index: Index,
    config: Config,
    now: float,
    guess: tuple[dict[str, Any], Turn] | None,
) -> Outcome:
    """Inside the transaction: decide the turn (if any) and write what it changes."""
    if event.name in STATUS_EVENTS:
        return Outcome("ignored", inbound_id=inbound_id)
    if event.is_echo:
        # The webhook records only the echoes staff sent (ours are dropped there).
        until = now + config.bot.handover_quiet_minutes * 60
        core.mark_staff_active(db, event.user_id, until, now)
        return Outcome("staff_echo", inbound_id=inbound_id)
    turn = _decide(db, event, index, config, now, guess)
    if isinstance(turn, Outcome):
        return Outcome(turn.status, turn.kind, turn.replies, inbound_id)
    queued = _apply(db, event, turn, inbound_id, now)
    return Outcome("turn", turn.kind, queued, inbound_id)


def _speculate(
    db: sqlite_utils.Database, event: Event, index: Index, config: Config, now: float
) -> tuple[dict[str, Any], Turn] | None:
    """The dialogue's turn for a text message on the state as read now, outside the lock."""
    if event.name != "user_send_text" or not event.text.strip() or not event.user_id:
        return None
    state = core.load_conversation(db, event.user_id)["state"]
    turn = respond(
        event.text, state, index, _local(now, config), config.bot, buttons=config.zalo.buttons
    )
    return state, turn


def _decide(
    db: sqlite_utils.Database,
    event: Event,
    index: Index,
    config: Config,
    now: float,
    guess: tuple[dict[str, Any], Turn] | None = None,
) -> Turn | Outcome:
    """Read what the turn needs, decide it (pure), write its outreach effects; the Turn, or an
    Outcome when nothing is to be said."""
    if not event.is_user_message or not event.user_id:
        return _platform_event(db, event, index, config, now)
    conversation = Conversation.from_row(core.load_conversation(db, event.user_id))
    facts = citizen_texts.read(db, event.user_id, event.text)
    texts = citizen_texts.texts_for(index.kb, config)
    decided = decide_message(event, conversation, facts, texts, index, config, now, guess)
    core.touch_user(db, event.user_id, now)
    if decided is None:
        core.record_turn(db, None, event.user_id, now, "silenced", None, None, 0.0)
        return Outcome(Status.SILENCED)
    turn, effects = decided
    citizen_texts.apply(db, event.user_id, effects, _local(now, config))
    return turn


def decide_message(
    event: Event,
    conversation: Conversation,
    facts: citizen_texts.Facts,
    texts: Texts,
    index: Index,
    config: Config,
    now: float,
    guess: tuple[dict[str, Any], Turn] | None = None,
) -> tuple[Turn, tuple[citizen_texts.Effect, ...]] | None:
    """The turn for a citizen's message and the outreach writes it asks for (pure: dialogue and
    outreach together); None when staff are talking with the citizen (the bot keeps quiet)."""
    if conversation.silenced(now):
        return None
    state, buttons = conversation.state, config.zalo.buttons
    if event.name != "user_send_text" or not event.text.strip():
        kind = event.attachments[0].type if event.attachments else event.name[len("user_send_") :]
        return unsupported(kind, index, config.bot, buttons=buttons, state=state), ()
    decided = citizen_texts.decide(event.text, facts, texts, state)
    if decided is not None:
        return decided
    if guess is not None and guess[0] == state:
        return guess[1], ()
    return respond(event.text, state, index, _local(now, config), config.bot, buttons=buttons), ()


def _platform_event(
    db: sqlite_utils.Database, event: Event, index: Index, config: Config, now: float
) -> Turn | Outcome:
    """A follow, an unfollow, a withdrawal, or an event the bot only notes."""
    name, user = event.name, event.user_id
    if name in GREETING_EVENTS and user:
        core.touch_user(db, user, now, follow_state="follower" if name == "follow" else None)
        state = core.load_conversation(db, user)["state"]
        return welcome(index, config.bot, buttons=config.zalo.buttons, state=state)
    if name == "unfollow" and user:
        core.touch_user(db, user, now, follow_state="unfollowed", interaction=False)
        return Outcome(Status.UNFOLLOW)
    if name == "user_withdraw" and user:
        outreach.forget(db, user, _local(now, config))
        return Outcome(Status.WITHDRAWN)
    core.record_other_event(db, name, user, now)
    return Outcome(Status.RECORDED)


def _apply(db: sqlite_utils.Database, event: Event, turn: Turn, inbound_id: int, now: float) -> int:
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
