"""Speaking to Zalo: the OA API v3 client, and the `ZaloError` family.

Errors come back from Zalo with HTTP 200 and a non-zero `error`; every call checks it and raises
a `ZaloError` whose `action` says what the caller should do (see `zalo-oa.md` §7): retry, refresh,
give_up, unreachable, template, human or night. Transport failures (timeouts, connection errors,
HTTP 5xx/429) are `retry` with code 0, and `in_doubt` when the call may have been carried out.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import requests
import urllib3

from bot.config import ZaloConfig
from bot.dialogue.messages import Button

logger = logging.getLogger(__name__)

SEND_PATH = "/v3.0/oa/message/cs"
TEMPLATE_PATH = "/v3.0/oa/message/template"
QUOTA_PATH = "/v3.0/oa/quota/message"
USER_DETAIL_PATH = "/v3.0/oa/user/detail"
USER_LIST_PATH = "/v3.0/oa/user/getlist"
TAGS_PATH = "/v2.0/oa/tag/gettagsofoa"
CONVERSATION_PATH = "/v2.0/oa/conversation"
TOKEN_PATH = "/v4/oa/access_token"
TEXT_LIMIT = 2000

ACTIONS = ("retry", "refresh", "give_up", "unreachable", "template", "human", "night")

_CODES: dict[str, tuple[int, ...]] = {
    "retry": (-32, -211, -218, -214, -200, -144, -147, -1441, -1472),
    "refresh": (-216, -220, -124),
    "give_up": (-100, -201, -210, -233, -240, -248, -249, -1121, -1122, -126, -127),
    "unreachable": (-213, -217, -227, -244, -108, -114, -118, -119, -139, -141),
    "template": (-230, -232),
    "night": (-234, -133),
    "human": (
        *(-209, -212, -219, -223, -204, -205, -235, -242, -221, -224, -320, -321),
        *(-109, -115, -117, -125, -131, -135, -136, -137, -146),
        *(-14002, -14003, -14014, -14020),
    ),
}
ACTION_BY_CODE = {code: action for action, codes in _CODES.items() for code in codes}
"""Zalo error code -> client action, from the table in `zalo-oa.md` §7."""


class ZaloError(Exception):
    """A failed Zalo call: `code` (0 for transport), `retryable`, and the `action` to take.

    `in_doubt` is True when the request may have reached Zalo and been carried out although no
    answer came back (a read timeout, a connection dropped after the request was written, a
    gateway error, an unreadable answer): a send that fails so must not simply be repeated.
    """

    def __init__(
        self,
        code: int,
        message: str,
        retryable: bool = False,
        action: str = "give_up",
        *,
        in_doubt: bool = False,
    ):
        super().__init__(f"Zalo error {code}: {message}")
        self.code = code
        self.message = message
        self.retryable = retryable
        self.action = action
        self.in_doubt = in_doubt


class RetryableError(ZaloError):
    """Transient: back off and try again (timeouts, 5xx, -32 rate limit, -200...)."""


class TokenError(ZaloError):
    """The access token is invalid or expired: refresh once and retry once."""


class PermanentError(ZaloError):
    """A bug or bad input (invalid parameter, message too long...): log it, do not retry."""


class UnreachableError(ZaloError):
    """The user cannot receive messages (not a follower, blocked, inactive)."""


class TemplateNeededError(ZaloError):
    """Outside the 7-day consultation window: only a template message reaches the user."""


class NightError(ZaloError):
    """Blocked at night: retry after 06:00 local time."""


class HumanError(ZaloError):
    """Console, package, billing or grant problem that a person must fix."""


_CLASSES: dict[str, type[ZaloError]] = {
    "retry": RetryableError,
    "refresh": TokenError,
    "give_up": PermanentError,
    "unreachable": UnreachableError,
    "template": TemplateNeededError,
    "night": NightError,
    "human": HumanError,
}


def error_for(code: int, message: str) -> ZaloError:
    """The `ZaloError` for a Zalo error code; unknown codes are permanent."""
    action = ACTION_BY_CODE.get(code, "give_up")
    return _CLASSES[action](code, message, retryable=action in ("retry", "night"), action=action)


def transport_error(message: str, in_doubt: bool = False) -> RetryableError:
    """A timeout, connection failure or 5xx: retryable with code 0 (in doubt if it may have
    been carried out)."""
    return RetryableError(0, message, retryable=True, action="retry", in_doubt=in_doubt)


NOT_CARRIED_OUT_STATUSES = (429, 503)
"""HTTP statuses saying the request was refused before any work (others >= 500 are in doubt)."""


def never_reached(exc: requests.RequestException) -> bool:
    """True when a transport failure happened before the request could reach Zalo."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
    return isinstance(reason, urllib3.exceptions.ConnectTimeoutError)  # incl. refused, DNS


# -- API client ----------------------------------------------------------------------------------


class TokenSource(Protocol):
    """What the client needs from a token store (see `bot.zalo.tokens.TokenStore`)."""

    def access_token(self, now: float | None = None) -> str: ...

    def refresh(
        self, now: float | None = None, stale: str | None = None, rejected: bool = False
    ) -> str: ...


def button_json(button: Button | Mapping[str, str], title_max: int) -> dict[str, Any]:
    """One button: the title (cut at `title_max`) and what a tap does.

    A link (a mapping with `url`) is `oa.open.url` with payload `{"url": ...}`. A machine
    payload (starting with '#') uses `oa.query.hide`, so the citizen does not see
    '#section:...' appear as their own message; a readable one uses `oa.query.show`.
    """
    if isinstance(button, Mapping):
        title = str(button["title"])
        url = button.get("url")
        payload: Any = {"url": str(url)} if url else str(button["payload"])
    else:
        title, payload = button.title, button.payload
    if len(title) > title_max:
        title = title[: max(1, title_max - 1)].rstrip() + "…"
    if isinstance(payload, dict):
        kind = "oa.open.url"
    else:
        kind = "oa.query.hide" if payload.startswith("#") else "oa.query.show"
    return {"title": title, "type": kind, "payload": payload}


def attachment_json(
    buttons: Sequence[Button | Mapping[str, str]], image_url: str | None, title_max: int
) -> dict[str, Any] | None:
    """The message's `attachment`: an image (`media` template) and/or buttons, or None.

    With an image the text is its caption. Buttons ride in the same template payload; Zalo
    documents no combined form (zalo-oa.md §3 ⚠), so check it on the real OA.
    """
    payload: dict[str, Any] = {}
    if image_url:
        payload["template_type"] = "media"
        payload["elements"] = [{"media_type": "image", "url": image_url}]
    if buttons:
        payload["buttons"] = [button_json(b, title_max) for b in buttons]
    return {"type": "template", "payload": payload} if payload else None


def make_session(base_url: str) -> requests.Session:
    """A `requests` session that reads proxy and CA settings from the environment once.

    By default `requests` rescans the whole environment on every call (a fifth of a
    millisecond here); the settings are fixed for the life of the process anyway.
    """
    session = requests.Session()
    session.proxies.update(requests.utils.get_environ_proxies(base_url))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    session.trust_env = False
    return session


class ZaloClient:
    """The OA API v3 over a `requests` session with timeouts; token errors refresh once."""

    def __init__(
        self, config: ZaloConfig, tokens: TokenSource, session: requests.Session | None = None
    ) -> None:
        self.config = config
        self.tokens = tokens
        self.session = session or make_session(config.api_base_url)
        self.base = config.api_base_url.rstrip("/")

    def send_text(
        self,
        user_id: str,
        text: str,
        buttons: Sequence[Button | Mapping[str, str]] = (),
        quote_msg_id: str | None = None,
        image_url: str | None = None,
    ) -> str:
        """Send a consultation message (text or image caption, optional buttons); return its id."""
        message: dict[str, Any] = {"text": text}
        attachment = attachment_json(buttons, image_url, self.config.button_title_max)
        if attachment:
            message["attachment"] = attachment
        if quote_msg_id:
            message["quote_message_id"] = quote_msg_id
        body = {"recipient": {"user_id": user_id}, "message": message}
        data = self._call("POST", SEND_PATH, body)
        return str(data.get("message_id", ""))

    def send_template(self, user_id: str, template_id: str, data: Mapping[str, Any]) -> str:
        """Send a ZBS template message by user id; return Zalo's message id."""
        body: dict[str, Any] = {"template_id": template_id, "template_data": dict(data)}
        if self.config.template_user_field == "recipient.user_id":
            body["recipient"] = {"user_id": user_id}
        else:
            body["user_id"] = user_id
        result = self._call("POST", TEMPLATE_PATH, body)
        return str(result.get("message_id") or result.get("msg_id") or "")

    def get_quota(self, user_id: str) -> dict[str, Any]:
        """The user's last interaction and remaining consultation/promotion quota."""
        return self._call("POST", QUOTA_PATH, {"user_id": user_id})

    def user_detail(self, user_id: str) -> dict[str, Any]:
        """The user's profile as Zalo returns it (`display_name`, `user_is_follower`...)."""
        return self._call("GET", USER_DETAIL_PATH, {"user_id": user_id})

    def list_followers(
        self, offset: int = 0, count: int = 50, tag: str | None = None
    ) -> tuple[int, list[str]]:
        """One page of followers (count <= 50): the total and the user ids."""
        query: dict[str, Any] = {"offset": offset, "count": min(count, 50), "is_follower": "true"}
        if tag:
            query["tag_name"] = tag
        data = self._call("GET", USER_LIST_PATH, query)
        users = [str(u["user_id"]) for u in data.get("users", []) if isinstance(u, dict)]
        return int(data.get("total", len(users))), users

    def iter_followers(self, tag: str | None = None) -> Iterable[str]:
        """Every follower id, page by page."""
        offset = 0
        while True:
            total, ids = self.list_followers(offset, 50, tag)
            yield from ids
            offset += len(ids)
            if not ids or offset >= total:
                return

    def recent_messages(
        self, user_id: str, count: int = 10, offset: int = 0, timeout: float | None = None
    ) -> list[dict[str, Any]]:
        """One page (<= 10) of the messages with a user, newest first (`src` 0 = by the OA)."""
        query = {"user_id": user_id, "offset": offset, "count": min(count, 10)}
        data = self._call("GET", CONVERSATION_PATH, query, timeout=timeout)
        return [m for m in data if isinstance(m, dict)] if isinstance(data, list) else []

    def list_tags(self) -> list[str]:
        """The names of the OA's tags."""
        data = self._call("GET", TAGS_PATH, None)
        items = data if isinstance(data, list) else data.get("tags", data.get("data", []))
        return [str(t["name"]) if isinstance(t, dict) else str(t) for t in items]

    def _call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        timeout: float | None = None,
    ) -> Any:
        """One API call with the current token; on a token error refresh once and retry once.

        The refresh itself is single-flight and throttled (`bot.zalo.tokens`): when the token was
        just refreshed and is rejected again, it raises instead of refreshing once more.
        """
        token = self.tokens.access_token()
        try:
            return self._request(method, path, body, token, timeout)
        except TokenError as exc:
            logger.info("zalo %s: token rejected (%s), refreshing", path, exc.code)
            fresh = self.tokens.refresh(stale=token, rejected=True)
            return self._request(method, path, body, fresh, timeout)

    def _request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        token: str,
        timeout: float | None = None,
    ) -> Any:
        url = self.base + path
        headers = {"access_token": token}
        timeout = timeout or self.config.timeout_seconds
        try:
            if method == "GET":
                params = {"data": json.dumps(body, separators=(",", ":"))} if body else None
                response = self.session.get(url, params=params, headers=headers, timeout=timeout)
            else:
                response = self.session.post(url, json=body, headers=headers, timeout=timeout)
        except requests.Timeout as exc:
            doubt = not never_reached(exc)
            raise transport_error(f"timeout after {timeout} s on {path}", doubt) from None
        except requests.RequestException as exc:
            doubt = not never_reached(exc)
            raise transport_error(f"{type(exc).__name__} on {path}", doubt) from None
        return parse_response(response, path)


def parse_response(response: requests.Response, path: str) -> Any:
    """The `data` of a Zalo envelope, or the `ZaloError` its HTTP status or `error` calls for."""
    status = response.status_code
    if status >= 500 or status == 429:
        doubt = status not in NOT_CARRIED_OUT_STATUSES
        raise transport_error(f"HTTP {status} on {path}", doubt)
    if status != 200:
        raise PermanentError(-status, f"HTTP {status} on {path}", retryable=False)
    try:
        payload = response.json()
    except ValueError:
        raise transport_error(f"response to {path} is not JSON", True) from None
    if not isinstance(payload, dict):
        raise transport_error(f"response to {path} is not a JSON object", True)
    try:
        code = int(payload.get("error", 0) or 0)
    except (TypeError, ValueError):
        code = -200
    if code != 0:
        raise error_for(code, str(payload.get("message", "")))
    return payload.get("data", {})
