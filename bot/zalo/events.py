"""Zalo webhook events parsed into typed values: the only place that knows their field names."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

ECHO_PREFIX = "oa_send_"
STATUS_EVENTS = frozenset(
    {"user_received_message", "user_seen_message", "user_reacted_message", "oa_reacted_message"}
)


_SURROGATE = re.compile("[\ud800-\udfff]")
_TIMESTAMP = re.compile(rb'"timestamp"\s*:\s*"?([0-9]{1,20})"?[\s,}]')
MAX_TIMESTAMPS = 4
"""At most this many `"timestamp"` values of a raw body are tried against its signature."""


class EventError(ValueError):
    """The body is not a Zalo event."""


@dataclass(frozen=True, slots=True)
class Attachment:
    """An attachment of a user message (image, sticker, file, location...)."""

    type: str
    url: str = ""


@dataclass(frozen=True, slots=True)
class Event:
    """One webhook event. Ids and the timestamp stay strings (they can exceed 2**53)."""

    name: str
    timestamp: str
    app_id: str = ""
    user_id: str = ""
    oa_id: str = ""
    msg_id: str = ""
    text: str = ""
    admin_id: str = ""
    attachments: tuple[Attachment, ...] = ()

    @property
    def dedup_key(self) -> str:
        """The key that recognises a redelivery: the message id, else event, user and time."""
        if self.msg_id:
            return f"msg:{self.msg_id}"
        return f"evt:{self.name}:{self.user_id}:{self.timestamp}"

    @property
    def is_echo(self) -> bool:
        """An OA send coming back to us (from the bot, or from staff when `admin_id` is set)."""
        return self.name.startswith(ECHO_PREFIX)

    @property
    def is_user_message(self) -> bool:
        """A message the citizen sent (text or anything else)."""
        return self.name.startswith("user_send_")

    def to_json(self) -> dict[str, Any]:
        """The event as stored for the turn worker (`from_json` reads it back)."""
        data = {f: getattr(self, f) for f in self.__slots__ if f != "attachments"}
        data["attachments"] = [{"type": a.type, "url": a.url} for a in self.attachments]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        """The event stored by `to_json`."""
        items = tuple(
            Attachment(str(a["type"]), str(a.get("url", ""))) for a in data["attachments"]
        )
        fields = {k: str(v) for k, v in data.items() if k != "attachments"}
        return cls(**fields, attachments=items)


def clean(text: str) -> str:
    """`text` with each lone UTF-16 surrogate (valid in JSON, not in UTF-8) replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def _id(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return clean(value)[:128]
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)[:128]
    raise EventError("ids must be strings")


def _text(value: Any, default: str = "") -> str:
    """A string field as a clean string; anything else is `default`."""
    return clean(value) if isinstance(value, str) else default


def raw_timestamps(raw: bytes) -> list[str]:
    """The `"timestamp"` values (digits) found in the raw bytes, read without parsing JSON.

    The signature covers the timestamp, so it must be known before the body is trusted enough
    to parse: deep nesting, huge integers or broken text in an unsigned body never reach the
    JSON parser. After the signature matched, `timestamp_of` checks that the value used is the
    top-level one.
    """
    return [m.group(1).decode() for m in _TIMESTAMP.finditer(raw[:1_000_000])][:MAX_TIMESTAMPS]


def decode(raw: bytes) -> dict[str, Any]:
    """The JSON object of a webhook body; raise EventError when it is not one."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # not UTF-8 or JSON, a 4,300-digit int, deep nesting
        raise EventError("body is not JSON") from None
    if not isinstance(data, dict):
        raise EventError("body is not a JSON object")
    return data


def timestamp_of(data: dict[str, Any]) -> str:
    """The event's timestamp string (it is part of the signature); EventError if absent."""
    timestamp = data.get("timestamp")
    if isinstance(timestamp, int) and not isinstance(timestamp, bool):
        timestamp = str(timestamp)
    if not isinstance(timestamp, str) or not timestamp.isascii() or not timestamp.isdigit():
        raise EventError("missing timestamp")
    return timestamp


def parse_event(raw: bytes) -> Event:
    """Parse a webhook body; raise EventError when it is not a Zalo event."""
    return from_data(decode(raw))


def from_data(data: dict[str, Any]) -> Event:
    """Build the typed event from a decoded body; raise EventError when it is not an event."""
    name = _text(data.get("event_name"))
    if not name or len(name) > 64:
        raise EventError("missing event_name")
    timestamp = timestamp_of(data)
    sender = data.get("sender") if isinstance(data.get("sender"), dict) else {}
    recipient = data.get("recipient") if isinstance(data.get("recipient"), dict) else {}
    message = data.get("message") if isinstance(data.get("message"), dict) else {}
    follower = data.get("follower") if isinstance(data.get("follower"), dict) else {}
    if name.startswith(ECHO_PREFIX) or name in STATUS_EVENTS:
        user_id, oa_id = _id(recipient.get("id")), _id(sender.get("id"))
    elif follower:
        user_id, oa_id = _id(follower.get("id")), _id(data.get("oa_id"))
    else:
        user_id = _id(sender.get("id") or data.get("user_id"))
        oa_id = _id(recipient.get("id") or data.get("oa_id"))
    if name.startswith("user_send_") and (not user_id or user_id == oa_id):
        raise EventError("user message without a sender")
    text = message.get("text", "")
    if not isinstance(text, str):
        raise EventError("message.text must be a string")
    items = message.get("attachments")
    attachments = []
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict):
            payload = item.get("payload") if isinstance(item.get("payload"), dict) else {}
            kind = _text(item.get("type"))[:32]
            attachments.append(Attachment(type=kind, url=_text(payload.get("url"))[:2000]))
    return Event(
        name=name,
        timestamp=timestamp,
        app_id=_id(data.get("app_id")),
        user_id=user_id,
        oa_id=oa_id,
        msg_id=_id(message.get("msg_id")),
        text=clean(text),
        admin_id=_id(sender.get("admin_id")),
        attachments=tuple(attachments),
    )
