"""Recording a verified event for the turn worker: the webhook's only write.

A status receipt, and the echo of a message the bot itself sent, need no turn and are not
recorded; everything else is stored 'pending' under its dedup key (a redelivery stops here).
"""

from __future__ import annotations

import sqlite_utils

from bot.storage import inbox as inbox_store
from bot.storage import outbox as outbox_store
from bot.storage import transaction
from bot.zalo.events import STATUS_EVENTS, Event


def is_staff_echo(db: sqlite_utils.Database, event: Event) -> bool:
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


def accept(
    db: sqlite_utils.Database, event: Event, num_retry: int, now: float
) -> tuple[str, int | None]:
    """Record `event` unless it needs no turn: ('recorded', row id), ('duplicate', None),
    ('ignored', None) for a status receipt or ('echo', None) for the bot's own message."""
    if event.name in STATUS_EVENTS:
        return "ignored", None
    if event.is_echo and (not event.user_id or not is_staff_echo(db, event)):
        return "echo", None
    with transaction(db):
        inbound = inbox_store.record(db, event.dedup_key, event.to_json(), num_retry, now)
    return ("recorded", inbound) if inbound is not None else ("duplicate", None)


def record_unreadable(
    db: sqlite_utils.Database, key: str, num_retry: int, now: float
) -> tuple[str, int | None]:
    """Record a signed body that is no event we understand, once: ('unreadable', id) or
    ('duplicate', None)."""
    with transaction(db):
        inbound = inbox_store.record(
            db, key, {"name": "unreadable"}, num_retry, now, status="unreadable"
        )
    return ("unreadable", inbound) if inbound is not None else ("duplicate", None)
