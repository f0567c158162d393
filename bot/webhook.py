"""The Zalo webhook endpoint: verify, parse, hand to the conversation layer, answer fast.

No network call happens here: replies go to the outbox, which the scheduler process delivers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from typing import Any

import sqlite_utils
from flask import Blueprint, Response, current_app, request

from bot import storage
from bot.config import Config
from bot.conversation import handle_event
from bot.events import Event, EventError, decode, from_data, raw_timestamps, timestamp_of
from bot.storage import core, transaction

logger = logging.getLogger(__name__)

_local = threading.local()

STORAGE_ERRORS = (sqlite3.OperationalError, OSError)
"""Failures a redelivery can cure (locked, busy, disk full or failing, `storage.LockTimeout`):
the event is answered 503 so that Zalo sends it again. Errors the event itself causes (an
integrity error, a value SQLite cannot bind) would fail every time: those make it poison."""
POISON_REPLY = (
    "Trợ lý chưa đọc được tin nhắn vừa rồi của anh/chị. Anh/chị gõ lại câu hỏi giúp, "
    'ví dụ: "làm giấy khai sinh cần gì".'
)
"""The answer to a text that could not be processed (a poison event), instead of silence."""


def error_response(status: int, code: str, message: str) -> Response:
    """Our one JSON error shape: {"error": {"code", "message"}}."""
    body = json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False)
    return Response(body, status=status, mimetype="application/json")


def database() -> sqlite_utils.Database:
    """This thread's connection to the app's database (opened once per thread)."""
    path = current_app.extensions["bot.db_path"]
    cached = getattr(_local, "dbs", None)
    if cached is None:
        cached = _local.dbs = {}
    if path not in cached:
        wait = current_app.extensions["bot.config"].webhook.lock_wait_seconds
        cached[path] = storage.connect(path, busy_timeout=wait)
    return cached[path]


def _num_retry(header: str) -> int:
    """The `num_retry` header as a small int (0 when absent or garbled)."""
    header = header.strip()
    return int(header) if header.isascii() and header.isdigit() and len(header) < 6 else 0


def _poison_key(raw: bytes) -> str:
    return "poison:" + hashlib.sha256(raw).hexdigest()[:40]


def _unreadable(raw: bytes, reason: str, num_retry: int) -> Any:
    """A signed body that is not an event we understand: record it once and answer 200.

    Zalo signed it, so a redelivery would carry the same bytes: answering an error would only
    make Zalo retry it for hours and then unsubscribe the app.
    """
    now = current_app.extensions["bot.clock"]()
    try:
        with transaction(database()):
            core.record_inbound(
                database(), _poison_key(raw), "unreadable", "", "", None, "", num_retry, now
            )
    except STORAGE_ERRORS as exc:
        logger.error("webhook: storage unavailable for an unreadable event: %s", exc)
        return error_response(503, "retry_later", "temporarily unable to process the event")
    logger.warning("webhook: signed body recorded as unreadable (%s)", reason)
    return {"status": "unreadable", "replies": 0}


def _poison(event: Event, raw: bytes, num_retry: int) -> Any:
    """An event whose processing failed for a reason other than storage: record it, say sorry.

    The failed transaction left nothing behind; this one stores the event under a key of its
    raw bytes (so redeliveries are duplicates) and, for a text, queues `POISON_REPLY`.
    """
    now = current_app.extensions["bot.clock"]()
    db = database()
    replies = 0
    try:
        with transaction(db):
            inbound = core.record_inbound(
                db,
                _poison_key(raw),
                event.name,
                event.user_id,
                event.msg_id,
                None,
                event.timestamp,
                num_retry,
                now,
            )
            if inbound is not None and event.is_user_message and event.user_id:
                key = f"reply:{inbound}:0"
                payload = {"text": POISON_REPLY}
                replies = int(
                    bool(core.enqueue(db, key, event.user_id, payload, now, source_id=str(inbound)))
                )
    except STORAGE_ERRORS as exc:
        logger.error("webhook: storage unavailable for a poison event: %s", exc)
        return error_response(503, "retry_later", "temporarily unable to process the event")
    return {"status": "poison", "replies": replies}


def create_webhook_blueprint(config: Config) -> Blueprint:
    """The blueprint serving POST (events) and GET (a harmless 200) on the webhook path."""
    from bot.zalo import verify_signature

    bp = Blueprint("webhook", __name__)
    path = config.webhook.path

    @bp.get(path)
    def probe() -> Any:
        return {"status": "ok"}

    @bp.post(path)
    def receive() -> Any:
        started = time.monotonic()
        header = request.headers.get("X-ZEvent-Signature", "")
        raw = request.get_data(cache=True)
        if not header:
            return error_response(403, "missing_signature", "X-ZEvent-Signature is required")
        candidates = raw_timestamps(raw)
        if not candidates:
            return error_response(400, "not_an_event", "missing timestamp")
        timestamp = next(
            (t for t in candidates if verify_signature(header, raw, t, config.zalo)), None
        )
        if timestamp is None:
            logger.warning("webhook: bad signature from %s", request.remote_addr)
            return error_response(403, "bad_signature", "signature does not match")
        num_retry = _num_retry(request.headers.get("num_retry", ""))
        try:
            data = decode(raw)
            if timestamp_of(data) != timestamp:
                raise EventError("the signed timestamp is not the event's")
            event = from_data(data)
        except EventError as exc:
            return _unreadable(raw, str(exc), num_retry)
        live = current_app.extensions["bot.live_kb"]
        clock = current_app.extensions["bot.clock"]
        try:
            index = live.current
            outcome = handle_event(database(), event, index, config, clock(), num_retry)
        except STORAGE_ERRORS as exc:
            # Zalo redelivers on failure, and nothing was committed: ask it to try again.
            logger.error("webhook: storage unavailable for %s: %s", event.name, exc)
            return error_response(503, "retry_later", "temporarily unable to process the event")
        except Exception:
            logger.exception("webhook: could not process %s; recorded as poison", event.name)
            return _poison(event, raw, num_retry)
        if outcome.status == "withdrawn" or outcome.kind == "privacy":
            core.checkpoint(database())  # the deleted texts leave the -wal file too
        logger.debug(
            "webhook: %s -> %s (%.1f ms)",
            event.name,
            outcome.status,
            (time.monotonic() - started) * 1000,
        )
        return {"status": outcome.status, "replies": outcome.replies}

    return bp
