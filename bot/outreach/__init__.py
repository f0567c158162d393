"""Outreach: dossier lookups and reminders, privacy requests, broadcasts and the news feed.

The conversation layer calls `intercept` before the dialogue for every citizen text, and `forget`
on Zalo's `user_withdraw` event. Staff-facing functions (for the CLI and the admin console) live
in `broadcasts`, `audience`, `dossiers`, `followers` and `news`.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlite_utils

from bot.config import Config
from bot.dialogue.messages import Reply, Turn
from bot.outreach import citizen_texts
from bot.outreach.citizen_texts import texts_for
from bot.outreach.clock import Moment, epoch
from bot.outreach.privacy import forget_user
from bot.outreach.text import REQUIRED_TEXTS
from bot.storage import core

__all__ = ["REQUIRED_TEXTS", "intercept", "forget"]

logger = logging.getLogger(__name__)


def intercept(
    db: sqlite_utils.Database, user_id: str, text: str, now: Moment, kb: Any, config: Config
) -> Turn | None:
    """Handle a citizen text that is for outreach (data deletion, "dừng nhắc", dossier codes,
    "tra cứu hồ sơ" from a citizen with linked dossiers); None when it is not, so the dialogue
    answers it. Read, decide (pure), write: `bot.outreach.citizen_texts`; the turn uses the parts.

    Runs inside the caller's transaction; writes only subscriptions and deletions.
    """
    facts = citizen_texts.read(db, user_id, text)
    state = core.load_conversation(db, user_id)["state"]
    decided = citizen_texts.decide(text, facts, texts_for(kb, config), state)
    if decided is None:
        return None
    turn, effects = decided
    citizen_texts.apply(db, user_id, effects, now)
    return turn


def forget(
    db: sqlite_utils.Database,
    user_id: str,
    now: Moment,
    kb: Any = None,
    config: Config | None = None,
) -> Turn | None:
    """Delete what we store about a citizen (on `user_withdraw`).

    Returns a confirming Turn when `kb` (or `config`) is given, else None: after a withdrawal
    Zalo no longer lets the OA write to the citizen, so the caller normally sends nothing.
    """
    forget_user(db, user_id, epoch(now))
    if kb is None and config is None:
        return None
    return Turn(
        replies=(Reply(texts_for(kb, config).text("data_deleted")),), state={}, kind="privacy"
    )
