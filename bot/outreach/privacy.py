"""Privacy: forgetting a citizen on request, and the retention of everything citizens send.

Both end with a WAL checkpoint: `secure_delete` overwrites deleted content in the database
file, and the checkpoint truncates the -wal file that still held the old pages.
"""

from __future__ import annotations

import logging

import sqlite_utils

from bot.outreach.clock import Moment
from bot.storage import core, transaction
from bot.storage import outreach as store

logger = logging.getLogger(__name__)

UPLOAD_HOURS = 1
"""A dossier file uploaded for a preview can be applied this long (`bot.storage.admin`)."""


def forget_user(db: sqlite_utils.Database, user_id: str, now: Moment) -> None:
    """Delete a citizen's messages, conversation, ward, subscriptions, tags and dossier links.

    Pending proactive messages to them are dropped; the `users` row stays (without ward or
    name) so that Zalo's rules on when we may write still apply. Inside a caller's transaction
    (the webhook) the caller checkpoints after its commit (`core.checkpoint`).
    """
    nested = db.conn.in_transaction
    with transaction(db):
        core.delete_user_data(db, user_id)
        store.delete_user(db, user_id)
    if not nested:
        core.checkpoint(db)
    logger.info("deleted the stored data of a citizen on request")


def apply_retention(
    db: sqlite_utils.Database, now: float, retention_days: int, final_statuses: tuple[str, ...]
) -> dict[str, int]:
    """Remove what is older than `retention_days` (texts, closed dossiers) and stale uploads."""
    before = now - retention_days * 86400
    with transaction(db):
        removed = {
            "texts": core.purge_texts(db, before),
            "dossiers": store.purge(db, before, final_statuses),
            "uploads": store.purge_uploads(db, now - UPLOAD_HOURS * 3600),
        }
    core.checkpoint(db)
    return removed
