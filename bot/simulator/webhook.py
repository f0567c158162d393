"""Events the simulator posts to the bot's webhook, built and signed the way Zalo does."""

from __future__ import annotations

import json
import logging
import queue
import threading
from typing import Any

import requests

from bot.simulator.state import SimState, new_id, now_ms
from bot.zalo import sign

logger = logging.getLogger(__name__)


def user_text_event(state: SimState, user_id: str, text: str, msg_id: str = "") -> dict[str, Any]:
    """A `user_send_text` body from `user_id` to the OA."""
    return {
        "app_id": state.app_id,
        "user_id_by_app": "app" + user_id,
        "event_name": "user_send_text",
        "sender": {"id": user_id},
        "recipient": {"id": state.oa_id},
        "message": {"msg_id": msg_id or new_id(), "text": text},
        "timestamp": str(now_ms()),
    }


def follow_event(state: SimState, user_id: str) -> dict[str, Any]:
    """A `follow` body: the user followed the OA from its profile."""
    return {
        "app_id": state.app_id,
        "oa_id": state.oa_id,
        "follower": {"id": user_id},
        "user_id_by_app": "app" + user_id,
        "event_name": "follow",
        "source": "oa_profile",
        "timestamp": str(now_ms()),
    }


def echo_event(state: SimState, message: dict[str, Any]) -> dict[str, Any]:
    """The `oa_send_text` echo Zalo posts after the OA sent a message."""
    return {
        "app_id": state.app_id,
        "user_id_by_app": "app" + message["user_id"],
        "event_name": "oa_send_text",
        "sender": {"id": state.oa_id},
        "recipient": {"id": message["user_id"]},
        "message": {"msg_id": message["message_id"], "text": message.get("text", "")},
        "timestamp": message["sent_time"],
    }


def signed(state: SimState, body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """The raw body and headers (with `X-ZEvent-Signature`) for posting `body`."""
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    mac = sign(state.app_id, raw, body["timestamp"], state.oa_secret_key)
    return raw, {"Content-Type": "application/json", "X-ZEvent-Signature": "mac=" + mac}


class WebhookPoster:
    """Posts events to the webhook: synchronously for chat input, in order for echoes."""

    def __init__(self, state: SimState, url: str, timeout: float = 5.0) -> None:
        self.state = state
        self.url = url
        self.timeout = timeout
        self.local = threading.local()
        self.echoes: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.thread = threading.Thread(target=self._echo_loop, name="sim-echo", daemon=True)
        self.thread.start()

    def _session(self) -> requests.Session:
        session = getattr(self.local, "session", None)
        if session is None:
            session = self.local.session = requests.Session()
        return session

    def post(self, body: dict[str, Any]) -> int:
        """Sign and post one event; return the HTTP status (0 when unreachable)."""
        if not self.url:
            return 0
        raw, headers = signed(self.state, body)
        try:
            response = self._session().post(
                self.url, data=raw, headers=headers, timeout=self.timeout
            )
            status = response.status_code
        except requests.RequestException as exc:
            logger.warning("simulator: webhook unreachable: %s", type(exc).__name__)
            status = 0
        with self.state.lock:
            self.state.webhook_results.append(status)
        return status

    def echo(self, message: dict[str, Any]) -> None:
        """Queue the `oa_send_text` echo of a delivered message."""
        if self.url:
            self.echoes.put(echo_event(self.state, message))

    def _echo_loop(self) -> None:
        while True:
            body = self.echoes.get()
            if body is None:
                return
            self.post(body)
            self.echoes.task_done()

    def stop(self) -> None:
        """Stop the echo thread."""
        self.echoes.put(None)
