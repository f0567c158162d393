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
from bot.outreach.clock import Moment, epoch
from bot.outreach.dossiers import find_codes
from bot.outreach.privacy import forget_user
from bot.outreach.reminders import (
    has_linked_dossiers,
    linked_replies,
    lookup_replies,
    stop_replies,
)
from bot.outreach.text import (
    REQUIRED_TEXTS,
    FileTexts,
    Texts,
    is_deletion_request,
    is_lookup_request,
    is_stop_request,
)
from bot.storage import core

__all__ = ["REQUIRED_TEXTS", "intercept", "forget"]

logger = logging.getLogger(__name__)


def _texts(kb: Any, config: Config | None) -> Texts:
    """The knowledge base when it has the outreach texts, else the texts file itself."""
    texts = getattr(kb, "texts", None)
    if kb is not None and (texts is None or "dossier_status" in texts):
        return kb
    folder = config.bot.knowledge_base if config is not None else "knowledge_base"
    return FileTexts(folder)


def intercept(
    db: sqlite_utils.Database, user_id: str, text: str, now: Moment, kb: Any, config: Config
) -> Turn | None:
    """Handle a citizen text that is for outreach (data deletion, "dừng nhắc", dossier codes,
    "tra cứu hồ sơ" from a citizen with linked dossiers); None when it is not, so the dialogue
    answers it.

    Runs inside the caller's transaction; writes only subscriptions and deletions.
    """
    if not text or len(text) > 2000:
        return None
    texts = _texts(kb, config)
    if is_deletion_request(text):
        forget_user(db, user_id, now)
        return Turn(replies=(Reply(texts.text("data_deleted")),), state={}, kind="privacy")
    if is_stop_request(text):
        replies = stop_replies(db, user_id, texts)
    elif codes := find_codes(text):
        replies = lookup_replies(db, user_id, codes, now, texts)
    elif is_lookup_request(text) and has_linked_dossiers(db, user_id):
        # Without linked dossiers the knowledge base's "tra-cuu-ho-so" topic guides them.
        replies = linked_replies(db, user_id, texts)
    else:
        return None
    # The dialogue's state (ward, last topic) carries over unchanged.
    state = core.load_conversation(db, user_id)["state"]
    return Turn(replies=tuple(replies), state=state, kind="dossier")


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
    return Turn(replies=(Reply(_texts(kb, config).text("data_deleted")),), state={}, kind="privacy")
