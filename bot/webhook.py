"""The Zalo webhook endpoint: verify, parse, hand to the conversation layer, answer fast.

No network call happens here: replies go to the outbox, which the scheduler process delivers.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import sqlite_utils
from flask import Blueprint, Response, current_app, request

from bot import storage
from bot.config import Config
from bot.conversation import handle_event
from bot.events import EventError, decode, from_data, timestamp_of

logger = logging.getLogger(__name__)

_local = threading.local()


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
        cached[path] = storage.connect(path)
    return cached[path]


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
        try:
            data = decode(raw)
            timestamp = timestamp_of(data)
        except EventError as exc:
            return error_response(400, "not_an_event", str(exc))
        if not verify_signature(header, raw, timestamp, config.zalo):
            logger.warning("webhook: bad signature from %s", request.remote_addr)
            return error_response(403, "bad_signature", "signature does not match")
        try:
            event = from_data(data)
        except EventError as exc:
            return error_response(400, "not_an_event", str(exc))
        try:
            num_retry = int(request.headers.get("num_retry", "0") or 0)
        except ValueError:
            num_retry = 0
        live = current_app.extensions["bot.live_kb"]
        clock = current_app.extensions["bot.clock"]
        try:
            outcome = handle_event(database(), event, live.current, config, clock(), num_retry)
        except Exception:
            # Zalo redelivers on failure, and nothing was committed: ask it to try again.
            logger.exception("webhook: could not process %s", event.name)
            return error_response(503, "retry_later", "temporarily unable to process the event")
        logger.debug(
            "webhook: %s -> %s (%.1f ms)",
            event.name,
            outcome.status,
            (time.monotonic() - started) * 1000,
        )
        return {"status": outcome.status, "replies": outcome.replies}

    return bp
