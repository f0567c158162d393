"""A fake Zalo: the OA API subset the bot uses, OAuth v4, fault controls and a chat page.

`start_simulator(...)` serves it on a thread and returns a `Simulator` whose methods are the fault
controls tests use; the same controls exist over HTTP as `POST /_sim/fail` (see `server.py`).
The chat page at `/` lets a person play a citizen: what they type is posted to the bot's webhook
as a correctly signed `user_send_text` event, and the bot's replies appear with their buttons.
Every delivered message is recorded (`delivered()`) and echoed to the webhook as `oa_send_text`,
as Zalo does.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from bot.simulator.server import SimServer
from bot.simulator.state import SimState
from bot.simulator.webhook import (
    WebhookPoster,
    follow_event,
    staff_echo_event,
    user_text_event,
)

__all__ = ["Simulator", "start_simulator"]


class Simulator:
    """A running simulator: `.url`, `.stop()`, fault controls and what was delivered."""

    def __init__(self, server: SimServer, thread: threading.Thread) -> None:
        self.server = server
        self.state: SimState = server.state
        self.poster: WebhookPoster = server.poster
        self.thread = thread
        host, port = server.server_address[:2]
        self.url = f"http://{host}:{port}"

    def stop(self) -> None:
        """Stop serving and posting."""
        self.server.shutdown()
        self.server.server_close()
        self.poster.stop()

    def set_webhook(self, url: str) -> None:
        """Post events to `url` from now on."""
        self.poster.url = url

    # fault controls ------------------------------------------------------------------------
    def outage(self, count: int = 0, seconds: float = 0.0, mode: str = "503") -> None:
        """Fail the next `count` API calls, or all for `seconds`, with HTTP 503 or a dropped
        connection (`mode='close'`)."""
        self.state.outage(count, seconds, mode)

    def rate_limit(self, count: int) -> None:
        """Answer the next `count` sends with -32."""
        self.state.rate_limit(count)

    def fail_sends(self, count: int, code: int = -200) -> None:
        """Answer the next `count` sends with Zalo error `code`."""
        self.state.fail_sends(count, code)

    def expire_tokens(self) -> None:
        """Make every access token invalid (-216) until the bot refreshes."""
        self.state.expire_tokens()

    def slow(self, seconds: float) -> None:
        """Delay every API answer."""
        self.state.slow(seconds)

    def late(self, seconds: float) -> None:
        """Accept every API call at once but answer it `seconds` later (0 to stop)."""
        self.state.late(seconds)

    def chat_jitter(self, seconds: float) -> None:
        """Delay each chat-page poll answer by a random time of up to `seconds`."""
        self.state.chat_jitter(seconds)

    def block_user(self, user_id: str, code: int = -213) -> None:
        """Refuse sends to one user with `code`."""
        self.state.block_user(user_id, code)

    def clear_faults(self) -> None:
        """Back to normal."""
        self.state.clear_faults()

    # users and citizens --------------------------------------------------------------------
    def seed_followers(self, user_ids: list[str], tags: list[str] = ()) -> None:
        """Add followers, optionally with tags."""
        self.state.seed_followers(user_ids, list(tags))

    def set_last_interaction(self, user_id: str, at_ms: int) -> None:
        """Set when a user last interacted (older than 7 days: sends get -230)."""
        self.state.interact(user_id, at_ms)

    def user_says(self, user_id: str, text: str, msg_id: str = "") -> int:
        """Post a signed `user_send_text` to the webhook; return its HTTP status."""
        self.state.interact(user_id)
        self.state.chat_user_said(user_id, text)
        return self.poster.post(user_text_event(self.state, user_id, text, msg_id))

    def staff_replies(self, user_id: str, text: str, admin_id: str = "cb-motcua") -> int:
        """A staff member answers `user_id` from Zalo's OA chat console: post the message's echo
        (carrying `admin_id`) to the webhook; return the webhook's HTTP status."""
        return self.poster.post(staff_echo_event(self.state, user_id, text, admin_id))

    def user_follows(self, user_id: str) -> int:
        """Post a signed `follow` event to the webhook; return its HTTP status."""
        self.state.interact(user_id, follow=True)
        return self.poster.post(follow_event(self.state, user_id))

    # records -------------------------------------------------------------------------------
    def delivered(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """Messages the OA sent, in order (all or to one user)."""
        return self.state.delivered(user_id)

    def calls_to(self, path: str) -> int:
        """How many API calls were made to `path` (e.g. "/v2.0/oa/conversation")."""
        with self.state.lock:
            return self.state.calls.get(path, 0)

    @property
    def refresh_count(self) -> int:
        """How many token refreshes succeeded."""
        return self.state.refresh_count

    @property
    def refresh_token(self) -> str:
        """The refresh token that is valid now."""
        return self.state.refresh_token

    def issue_access_token(self) -> str:
        """A fresh valid access token (tests seed the bot's store with it)."""
        import secrets

        token = secrets.token_urlsafe(48)
        with self.state.lock:
            self.state.access_tokens.add(token)
        return token

    def wait_for(self, count: int, timeout: float = 10.0, user_id: str | None = None) -> bool:
        """Wait until at least `count` messages were delivered (to `user_id`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.delivered(user_id)) >= count:
                return True
            time.sleep(0.02)
        return len(self.delivered(user_id)) >= count


def start_simulator(
    host: str = "127.0.0.1",
    port: int = 0,
    webhook_url: str = "",
    app_id: str = "1234567890123456789",
    oa_secret_key: str = "sim-oa-secret",
    *,
    oa_id: str = "388613280878808645",
    app_secret: str = "",
    refresh_token: str = "",
    access_token: str = "",
    echo: bool = True,
) -> Simulator:
    """Serve a simulator on `host:port` (0 = any free port) in a daemon thread."""
    state = SimState(app_id, oa_id, oa_secret_key, app_secret, refresh_token, access_token)
    poster = WebhookPoster(state, webhook_url)
    if not echo:
        poster.echo = lambda message: None  # type: ignore[method-assign]
    server = SimServer((host, port), state, poster)
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="zalo-simulator", daemon=True
    )
    thread.start()
    return Simulator(server, thread)
