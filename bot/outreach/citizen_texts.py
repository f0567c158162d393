"""Citizen texts that are for outreach, decided purely: data deletion, "dừng nhắc", dossier codes,
and "tra cứu hồ sơ" from a citizen with linked dossiers.

The turn reads the `Facts` first (`read`), `decide` is a pure function of the text, the facts
and the texts, and returns the Turn with the `Effect`s to write, which `apply` writes inside the
turn's transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from bot.config import Config
from bot.dialogue.messages import Reply, Turn, TurnKind
from bot.outreach.clock import Moment, epoch
from bot.outreach.dossiers import FINAL_STATUSES, find_codes
from bot.outreach.privacy import forget_user
from bot.outreach.reminders import MAX_CODES, status_text
from bot.outreach.text import (
    FileTexts,
    Texts,
    is_deletion_request,
    is_lookup_request,
    is_stop_request,
)
from bot.storage import dossiers as store

logger = logging.getLogger(__name__)

MAX_TEXT = 2000
"""Longer texts are not outreach requests (the dialogue reads them)."""


@dataclass(frozen=True, slots=True)
class Facts:
    """What outreach must know of a citizen before deciding on their text."""

    dossiers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # codes typed
    subscribed: frozenset[str] = frozenset()  # codes the citizen gets reminders for
    linked: tuple[Mapping[str, Any], ...] = ()  # dossiers the one-stop export links to them


@dataclass(frozen=True, slots=True)
class Effect:
    """A write the decision asks for: "forget", "unsubscribe_all" or "subscribe" (a code)."""

    kind: str
    code: str = ""
    informed: bool = False  # "subscribe": the reply already said the result is ready


def texts_for(kb: Any, config: Config | None) -> Texts:
    """The knowledge base when it has the outreach texts, else the texts file itself."""
    texts = getattr(kb, "texts", None)
    if kb is not None and (texts is None or "dossier_status" in texts):
        return kb
    folder = config.bot.knowledge_base if config is not None else "knowledge_base"
    return FileTexts(folder)


def read(db: sqlite_utils.Database, user_id: str, text: str) -> Facts:
    """The facts `decide` needs for this text (reads only)."""
    if not text or len(text) > MAX_TEXT:
        return Facts()
    codes = find_codes(text)[: MAX_CODES + 1]
    subscribed = frozenset(store.subscriptions_of(db, user_id))
    linked = ()
    if not codes and is_lookup_request(text):
        linked = tuple(store.dossiers_linked_to(db, user_id))
    return Facts(store.get_dossiers(db, codes) if codes else {}, subscribed, linked)


def decide(
    text: str, facts: Facts, texts: Texts, state: Mapping[str, Any]
) -> tuple[Turn, tuple[Effect, ...]] | None:
    """The outreach turn for `text` and what it writes; None when the text is not for outreach.
    The dialogue's state (ward, last topic) carries over unchanged."""
    if not text or len(text) > MAX_TEXT:
        return None
    if is_deletion_request(text):
        turn = Turn(replies=(Reply(texts.text("data_deleted")),), state={}, kind=TurnKind.PRIVACY)
        return turn, (Effect("forget"),)
    effects: tuple[Effect, ...] = ()
    if is_stop_request(text):
        count = len(facts.subscribed)
        replies = [Reply(texts.text("reminders_stopped", count=count))] if count else []
        replies = replies or [Reply(texts.text("reminders_none"))]
        effects = (Effect("unsubscribe_all"),) if count else ()
    elif codes := find_codes(text):
        replies, effects = _lookup(codes, facts, texts)
    elif is_lookup_request(text) and facts.linked:
        # Without linked dossiers the knowledge base's "tra-cuu-ho-so" topic guides them.
        replies = _linked(facts.linked, texts)
    else:
        return None
    return Turn(replies=tuple(replies), state=dict(state), kind=TurnKind.DOSSIER), effects


def _lookup(
    codes: Sequence[str], facts: Facts, texts: Texts
) -> tuple[list[Reply], tuple[Effect, ...]]:
    """Answer typed dossier codes; subscribe the citizen to reminders for open ones."""
    if len(codes) > MAX_CODES:
        return [Reply(texts.text("dossier_too_many", limit=MAX_CODES))], ()
    replies, effects = [], []
    for code in codes:
        row = facts.dossiers.get(code)
        if row is None:
            replies.append(Reply(texts.text("dossier_not_found", code=code)))
            continue
        replies.append(Reply(status_text(texts, dict(row))))
        if row["status"] not in FINAL_STATUSES and code not in facts.subscribed:
            effects.append(Effect("subscribe", code, informed=row["status"] == "co_ket_qua"))
    if effects:
        replies.append(Reply(texts.text("dossier_consent")))
    return replies, tuple(effects)


def _linked(rows: Sequence[Mapping[str, Any]], texts: Texts) -> list[Reply]:
    """Guidance for "tra cứu hồ sơ", listing the dossiers linked to this citizen's own Zalo id."""
    items = "\n".join(
        texts.text(
            "dossier_linked_item",
            code=r["code"],
            status=texts.text(f"dossier_status_{r['status']}"),
        )
        for r in rows
    )
    return [Reply(texts.text("dossier_help")), Reply(texts.text("dossier_linked", items=items))]


def apply(db: sqlite_utils.Database, user_id: str, effects: Sequence[Effect], now: Moment) -> None:
    """Write what `decide` asked for (inside the caller's transaction)."""
    ts = epoch(now)
    for effect in effects:
        if effect.kind == "forget":
            forget_user(db, user_id, now)
        elif effect.kind == "unsubscribe_all":
            count = store.unsubscribe_all(db, user_id)
            logger.info("reminders stopped for a citizen (%d dossiers)", count)
        elif effect.kind == "subscribe" and store.subscribe(db, user_id, effect.code, ts):
            if effect.informed:
                # The reply already says the result is ready: no reminder for that.
                store.record_reminder(
                    db, effect.code, user_id, "result_ready", ts, None, "informed"
                )
