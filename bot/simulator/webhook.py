"""Events the simulator posts to the bot's webhook, built and signed the way Zalo does."""

from __future__ import annotations

import http.client
import json
import logging
import queue
import threading
from typing import Any
from urllib.parse import urlsplit

from bot.simulator.state import SimState, new_id, now_ms
from bot.zalo.signature import sign

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


def staff_echo_event(state: SimState, user_id: str, text: str, admin_id: str) -> dict[str, Any]:
    """The `oa_send_text` echo of a message a staff member typed in Zalo's OA chat console."""
    message = {"user_id": user_id, "message_id": new_id(), "text": text, "sent_time": str(now_ms())}
    body = echo_event(state, message)
    body["sender"] = {"id": state.oa_id, "admin_id": admin_id}
    return body


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

    def _connection(self, fresh: bool = False) -> http.client.HTTPConnection:
        """This thread's keep-alive connection to the webhook (http.client: cheap per call)."""
        conn = getattr(self.local, "conn", None)
        target = urlsplit(self.url)
        if fresh or conn is None or getattr(self.local, "netloc", None) != target.netloc:
            if conn is not None:
                conn.close()
            factory = (
                http.client.HTTPSConnection
                if target.scheme == "https"
                else http.client.HTTPConnection
            )
            conn = self.local.conn = factory(target.hostname, target.port, timeout=self.timeout)
            self.local.netloc = target.netloc
        return conn

    def post(self, body: dict[str, Any]) -> int:
        """Sign and post one event; return the HTTP status (0 when unreachable)."""
        if not self.url:
            return 0
        raw, headers = signed(self.state, body)
        target = urlsplit(self.url)
        path = (target.path or "/") + (f"?{target.query}" if target.query else "")
        status = 0
        for attempt in range(2):  # a kept-alive connection may have been closed: retry once
            try:
                conn = self._connection(fresh=attempt > 0)
                conn.request("POST", path, body=raw, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
                break
            except (OSError, http.client.HTTPException) as exc:
                if attempt:
                    logger.warning("simulator: webhook unreachable: %s", type(exc).__name__)
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
