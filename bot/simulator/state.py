"""The simulator's memory: tokens, followers, delivered messages, chat threads and faults.

Everything here is guarded by one lock and touched only through methods, so the HTTP handlers
(one thread per connection) and the tests' Python calls see a consistent state.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

DAY_MS = 86_400_000


def now_ms() -> int:
    """Epoch milliseconds."""
    return int(time.time() * 1000)


def new_id(length: int = 20) -> str:
    """A Zalo-like hexadecimal message id."""
    return secrets.token_hex(length // 2 + 1)[:length]


@dataclass
class Faults:
    """What the simulator is told to get wrong, by request count or until a deadline."""

    outage_mode: str = "503"  # "503" (HTTP 503) or "close" (connection dropped)
    outage_count: int = 0
    outage_until: float = 0.0  # time.monotonic() deadline
    rate_limit_count: int = 0
    error_count: int = 0
    error_code: int = -200
    delay_seconds: float = 0.0  # every API call waits this long before it is handled
    late_seconds: float = 0.0  # every API call is handled at once and answered this late
    chat_jitter_seconds: float = 0.0  # chat page polls are answered up to this late
    blocked: dict[str, int] = field(default_factory=dict)  # user id -> error code


@dataclass
class User:
    """A follower (or a user who wrote in)."""

    user_id: str
    display_name: str = ""
    follower: bool = True
    tags: set[str] = field(default_factory=set)
    last_interaction_ms: int | None = None


class SimState:
    """The whole state of one simulated OA."""

    def __init__(
        self,
        app_id: str,
        oa_id: str,
        oa_secret_key: str,
        app_secret: str = "",
        refresh_token: str = "",
        access_token: str = "",
        window_days: int = 7,
    ) -> None:
        self.lock = threading.RLock()
        self.app_id = app_id
        self.oa_id = oa_id
        self.oa_secret_key = oa_secret_key
        self.app_secret = app_secret
        self.refresh_token = refresh_token or secrets.token_urlsafe(24)
        self.used_refresh_tokens: set[str] = set()
        self.access_tokens: set[str] = {access_token} if access_token else set()
        self.refresh_count = 0
        self.window_days = window_days
        self.faults = Faults()
        self.users: dict[str, User] = {}
        self.messages: list[dict[str, Any]] = []
        self.chat: dict[str, list[dict[str, Any]]] = {}
        self.webhook_results: list[int] = []
        self.calls: dict[str, int] = {}

    # -- faults ----------------------------------------------------------------------------

    def outage(self, count: int = 0, seconds: float = 0.0, mode: str = "503") -> None:
        """Fail the next `count` API calls, or all of them for `seconds` (503 or closed)."""
        if mode not in ("503", "close"):
            raise ValueError("outage mode is '503' or 'close'")
        with self.lock:
            self.faults.outage_mode = mode
            self.faults.outage_count = count
            self.faults.outage_until = time.monotonic() + seconds if seconds else 0.0

    def rate_limit(self, count: int) -> None:
        """Answer the next `count` send calls with -32 (rate limit)."""
        with self.lock:
            self.faults.rate_limit_count = count

    def fail_sends(self, count: int, code: int = -200) -> None:
        """Answer the next `count` send calls with Zalo error `code`."""
        with self.lock:
            self.faults.error_count, self.faults.error_code = count, code

    def slow(self, seconds: float) -> None:
        """Delay every API answer by `seconds` (0 to stop)."""
        with self.lock:
            self.faults.delay_seconds = seconds

    def late(self, seconds: float) -> None:
        """Handle every API call at once but answer it `seconds` later (0 to stop).

        A send is recorded, shown in the history and echoed before the answer leaves: a client
        whose timeout is shorter sees a failure for a message that went out.
        """
        with self.lock:
            self.faults.late_seconds = seconds

    def chat_jitter(self, seconds: float) -> None:
        """Answer each chat-page poll after a random delay of up to `seconds` (0 to stop)."""
        with self.lock:
            self.faults.chat_jitter_seconds = seconds

    def expire_tokens(self) -> None:
        """Invalidate every access token: calls get -216 until a refresh."""
        with self.lock:
            self.access_tokens.clear()

    def block_user(self, user_id: str, code: int = -213) -> None:
        """Refuse sends to `user_id` with `code` (-213 not a follower, -230 window...)."""
        with self.lock:
            self.faults.blocked[user_id] = code

    def clear_faults(self) -> None:
        """Back to normal service."""
        with self.lock:
            self.faults = Faults()

    def take_outage(self) -> str | None:
        """The outage mode if this call must fail, consuming one counted failure."""
        with self.lock:
            f = self.faults
            if f.outage_until and time.monotonic() < f.outage_until:
                return f.outage_mode
            if f.outage_count > 0:
                f.outage_count -= 1
                return f.outage_mode
        return None

    def take_send_error(self, user_id: str) -> tuple[int, str] | None:
        """The Zalo error a send to `user_id` must get now, if any."""
        with self.lock:
            f = self.faults
            if f.rate_limit_count > 0:
                f.rate_limit_count -= 1
                return -32, "Request exceeds the rate limit"
            if f.error_count > 0:
                f.error_count -= 1
                return f.error_code, "Simulated failure"
            if user_id in f.blocked:
                return f.blocked[user_id], "User cannot receive this message"
            user = self.users.get(user_id)
            if user and user.last_interaction_ms is not None:
                if now_ms() - user.last_interaction_ms > self.window_days * DAY_MS:
                    return -230, "User has not interacted with the OA in the past 7 days"
        return None

    # -- tokens ----------------------------------------------------------------------------

    def token_valid(self, token: str) -> bool:
        """True when `token` is a live access token."""
        with self.lock:
            return token in self.access_tokens

    def exchange(self, refresh_token: str, app_id: str, secret_key: str) -> dict[str, Any]:
        """OAuth v4 refresh: a new pair for the current (single-use) refresh token."""
        with self.lock:
            if app_id != self.app_id or (self.app_secret and secret_key != self.app_secret):
                return {"error": -14002, "error_name": "Invalid app", "error_reason": "app"}
            if refresh_token != self.refresh_token:
                reused = refresh_token in self.used_refresh_tokens
                return {
                    "error": -14014,
                    "error_name": "Invalid refresh token",
                    "error_reason": "used" if reused else "unknown",
                    "error_description": "Refresh token is invalid or expired",
                }
            self.used_refresh_tokens.add(refresh_token)
            self.refresh_token = secrets.token_urlsafe(24)
            access = secrets.token_urlsafe(48)
            self.access_tokens.add(access)
            self.refresh_count += 1
            return {
                "access_token": access,
                "refresh_token": self.refresh_token,
                "expires_in": "90000",
            }

    # -- users and messages ----------------------------------------------------------------

    def seed_followers(self, user_ids: list[str], tags: list[str] = ()) -> None:
        """Add followers (optionally tagged)."""
        with self.lock:
            for user_id in user_ids:
                user = self.users.setdefault(user_id, User(user_id, f"Công dân {user_id[-4:]}"))
                user.follower = True
                user.tags.update(tags)

    def interact(self, user_id: str, at_ms: int | None = None, follow: bool = False) -> None:
        """Record a user interaction (message or follow), which opens the window."""
        with self.lock:
            user = self.users.setdefault(user_id, User(user_id, f"Công dân {user_id[-4:]}"))
            user.last_interaction_ms = now_ms() if at_ms is None else at_ms
            if follow:
                user.follower = True

    def record_message(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Store a delivered OA message (and show it in the user's chat)."""
        with self.lock:
            entry = {"message_id": new_id(), "sent_time": str(now_ms()), **entry}
            self.messages.append(entry)
            self._chat_add(
                entry["user_id"],
                "oa",
                entry.get("text", ""),
                entry.get("buttons"),
                entry["message_id"],
                entry.get("image_url"),
            )
            return entry

    def _chat_add(
        self,
        user_id: str,
        side: str,
        text: str,
        buttons: Any = None,
        message_id: str = "",
        image_url: str | None = None,
    ) -> None:
        thread = self.chat.setdefault(user_id, [])
        thread.append(
            {
                "seq": len(thread) + 1,
                "from": side,
                "text": text,
                "image_url": image_url,
                "buttons": buttons or [],
                "message_id": message_id or new_id(),
                "time": now_ms(),
            }
        )

    def history(self, user_id: str, offset: int, count: int) -> list[dict[str, Any]]:
        """The conversation as `/v2.0/oa/conversation` returns it: newest first, src 0 = OA."""
        with self.lock:
            thread = list(reversed(self.chat.get(user_id, [])))[offset : offset + count]
            return [
                {
                    "src": 0 if e["from"] == "oa" else 1,
                    "time": e["time"],
                    "type": "photo" if e.get("image_url") else "text",
                    "message": e["text"],
                    "message_id": e["message_id"],
                    "from_id": self.oa_id if e["from"] == "oa" else user_id,
                    "to_id": user_id if e["from"] == "oa" else self.oa_id,
                }
                for e in thread
            ]

    def chat_user_said(self, user_id: str, text: str) -> None:
        """Show what the citizen typed in their chat thread."""
        with self.lock:
            self._chat_add(user_id, "user", text)

    def chat_since(self, user_id: str, after: int) -> list[dict[str, Any]]:
        """Chat entries of a user after sequence number `after`."""
        with self.lock:
            return [e for e in self.chat.get(user_id, []) if e["seq"] > after]

    def delivered(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """Delivered messages, all or to one user, in order."""
        with self.lock:
            return [dict(m) for m in self.messages if user_id is None or m["user_id"] == user_id]

    def count_call(self, path: str) -> None:
        """Count an API call by path (tests read `calls`)."""
        with self.lock:
            self.calls[path] = self.calls.get(path, 0) + 1
