"""The simulator's own endpoints: the chat page, its polling, records and fault controls.

Everything under `/_sim/` is for people and tests, never part of Zalo's API: `GET /` serves the
chat page, `/_sim/chat/*` is what the page calls, `/_sim/messages` and `/_sim/state` are the
records, and `POST /_sim/fail` sets a fault (`{"kind": ..., ...}`, see `fail`).
"""

from __future__ import annotations

import random
import time
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from bot.simulator.state import new_id
from bot.simulator.webhook import follow_event, user_text_event

if TYPE_CHECKING:
    from bot.simulator.server import Handler


def control(handler: Handler, method: str, path: str) -> None:
    """Answer one request to the chat page or a `/_sim/` endpoint."""
    state, poster = handler.server.state, handler.server.poster
    if path == "/" and method == "GET":
        page = resources.files("bot.simulator").joinpath("chat.html").read_bytes()
        return handler._send(200, page, "text/html; charset=utf-8")
    if path == "/_sim/messages" and method == "GET":
        return handler._send(200, {"messages": state.delivered()})
    if path == "/_sim/state" and method == "GET":
        with state.lock:
            info = {
                "refresh_count": state.refresh_count,
                "calls": dict(state.calls),
                "webhook_results": list(state.webhook_results),
            }
        return handler._send(200, info)
    if path == "/_sim/chat/messages" and method == "GET":
        return _chat_messages(handler)
    if method != "POST":
        return handler._send(404, {"error": "not found"})
    body = handler._json_body()
    if not isinstance(body, dict):
        return handler._send(400, {"error": "JSON object expected"})
    if path == "/_sim/chat/send":
        user_id, text = str(body.get("user_id", "")), str(body.get("text", "")).strip()
        if not user_id or not text:
            return handler._send(400, {"error": "user_id and text are required"})
        state.interact(user_id)
        if not body.get("hidden"):  # an oa.query.hide click shows nothing in the chat
            state.chat_user_said(user_id, text)
        status = poster.post(user_text_event(state, user_id, text, new_id()))
        return handler._send(200, {"webhook_status": status})
    if path == "/_sim/chat/follow":
        user_id = str(body.get("user_id", ""))
        if not user_id:
            return handler._send(400, {"error": "user_id is required"})
        state.interact(user_id, follow=True)
        return handler._send(200, {"webhook_status": poster.post(follow_event(state, user_id))})
    if path == "/_sim/fail":
        return fail(handler, body)
    if path == "/_sim/followers":
        state.seed_followers([str(u) for u in body.get("users", [])], body.get("tags", []))
        return handler._send(200, {"ok": True})
    return handler._send(404, {"error": "not found"})


def _chat_messages(handler: Handler) -> None:
    """The chat entries after `after`; with poll jitter on, the answer leaves late.

    The entries are read first and sent after the delay, as a slow network would deliver
    them, so two polls of the page can overlap and return the same entries.
    """
    state = handler.server.state
    query = parse_qs(urlsplit(handler.path).query)
    user_id = query.get("user_id", [""])[0]
    try:
        after = int(query.get("after", ["0"])[0] or 0)
    except ValueError:
        return handler._send(400, {"error": "after must be a number"})
    messages = state.chat_since(user_id, after)
    jitter = state.faults.chat_jitter_seconds
    if jitter:
        time.sleep(random.uniform(0, jitter))
    handler._send(200, {"messages": messages})


def fail(handler: Handler, body: dict[str, Any]) -> None:
    """Set the fault named by `body["kind"]` (400 for an unknown kind or a bad value)."""
    state = handler.server.state
    kind = body.get("kind", "")
    try:
        if kind == "outage":
            state.outage(
                int(body.get("count", 0)),
                float(body.get("seconds", 0)),
                str(body.get("mode", "503")),
            )
        elif kind == "rate_limit":
            state.rate_limit(int(body.get("count", 1)))
        elif kind == "expire_token":
            state.expire_tokens()
        elif kind == "slow":
            state.slow(float(body.get("seconds", 0)))
        elif kind == "late":
            state.late(float(body.get("seconds", 0)))
        elif kind == "chat_jitter":
            state.chat_jitter(float(body.get("seconds", 0)))
        elif kind == "error":
            state.fail_sends(int(body.get("count", 1)), int(body.get("code", -200)))
        elif kind == "block":
            state.block_user(str(body["user_id"]), int(body.get("code", -213)))
        elif kind == "clear":
            state.clear_faults()
        else:
            return handler._send(400, {"error": f"unknown fault kind '{kind}'"})
    except (KeyError, TypeError, ValueError) as exc:
        return handler._send(400, {"error": str(exc)})
    handler._send(200, {"ok": True})
