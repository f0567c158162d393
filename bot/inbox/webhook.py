"""The Zalo webhook endpoint: verify, parse, deduplicate, record, answer 200.

Nothing else happens in the request: no understanding, no knowledge-base reload, no network
call. The turn worker (`bot.inbox.worker`) answers the recorded event and queues the replies,
which the outbox delivers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import time
from contextlib import AbstractContextManager
from typing import Any

import sqlite_utils
from flask import Blueprint, Response, current_app, request

from bot.config import Config
from bot.inbox.record import accept, record_unreadable
from bot.zalo.events import Event, EventError, decode, from_data, raw_timestamps, timestamp_of

logger = logging.getLogger(__name__)

STORAGE_ERRORS = (sqlite3.OperationalError, OSError)
"""Failures a redelivery can cure (locked, busy, disk full or failing, `storage.LockTimeout`):
the event is answered 503 so that Zalo sends it again."""


def error_response(status: int, code: str, message: str) -> Response:
    """Our one JSON error shape: {"error": {"code", "message"}}."""
    body = json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False)
    return Response(body, status=status, mimetype="application/json")


def database() -> AbstractContextManager[sqlite_utils.Database]:
    """`with database() as db:` a connection of the app's pool (`storage.Connections`)."""
    return current_app.extensions["bot.connections"]()


def acknowledge(status: str) -> Response:
    """The 200 answer {"status": status}, its body built once per status."""
    body = _BODIES.get(status)
    if body is None:
        body = _BODIES[status] = json.dumps({"status": status}).encode() + b"\n"
    return Response(body, mimetype="application/json")


_BODIES: dict[str, bytes] = {}


def _num_retry(header: str) -> int:
    """The `num_retry` header as a small int (0 when absent or garbled)."""
    header = header.strip()
    return int(header) if header.isascii() and header.isdigit() and len(header) < 6 else 0


def _unreadable(raw: bytes, reason: str, num_retry: int) -> Any:
    """A signed body that is not an event we understand: record it once and answer 200.

    Zalo signed it, so a redelivery would carry the same bytes: answering an error would only
    make Zalo retry it for hours and then unsubscribe the app.
    """
    logger.warning("webhook: signed body recorded as unreadable (%s)", reason)
    key = "poison:" + hashlib.sha256(raw).hexdigest()[:40]
    now = current_app.extensions["bot.clock"]()
    try:
        with database() as db:
            status, _ = record_unreadable(db, key, num_retry, now)
    except STORAGE_ERRORS as exc:
        logger.error("webhook: storage unavailable for an unreadable event: %s", exc)
        return error_response(503, "retry_later", "temporarily unable to process the event")
    return acknowledge(status)


def _accept(event: Event, num_retry: int) -> Any:
    """Record a verified event for the turn worker (`bot.inbox.record.accept`)."""
    now = current_app.extensions["bot.clock"]()
    try:
        with database() as db:
            status, _ = accept(db, event, num_retry, now)
    except STORAGE_ERRORS as exc:
        # Zalo redelivers on failure, and nothing was committed: ask it to try again.
        logger.error("webhook: storage unavailable for %s: %s", event.name, exc)
        return error_response(503, "retry_later", "temporarily unable to process the event")
    return acknowledge(status)


def create_webhook_blueprint(config: Config) -> Blueprint:
    """The blueprint serving POST (events) and GET (a harmless 200) on the webhook path."""
    from bot.zalo.signature import verify_signature

    bp = Blueprint("webhook", __name__)
    path = config.webhook.path

    @bp.get(path)
    def probe() -> Any:
        return acknowledge("ok")

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
        answer = _accept(event, num_retry)
        logger.debug(
            "webhook: %s recorded (%.1f ms)", event.name, (time.monotonic() - started) * 1000
        )
        return answer

    return bp
