"""Forgetting a citizen: everything we store about them, in one transaction."""

from __future__ import annotations

import logging

import sqlite_utils

from bot.outreach.clock import Moment
from bot.storage import core, transaction
from bot.storage import outreach as store

logger = logging.getLogger(__name__)


def forget_user(db: sqlite_utils.Database, user_id: str, now: Moment) -> None:
    """Delete a citizen's messages, conversation, ward, subscriptions, tags and dossier links.

    Pending proactive messages to them are dropped; the `users` row stays (without ward or
    name) so that Zalo's rules on when we may write still apply.
    """
    with transaction(db):
        core.delete_user_data(db, user_id)
        store.delete_user(db, user_id)
    logger.info("deleted the stored data of a citizen on request")
