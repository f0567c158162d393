"""Zalo webhook events parsed into typed values: the only place that knows their field names."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

ECHO_PREFIX = "oa_send_"
STATUS_EVENTS = frozenset(
    {"user_received_message", "user_seen_message", "user_reacted_message", "oa_reacted_message"}
)


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


def _id(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return str(value)
    raise EventError("ids must be strings")


def decode(raw: bytes) -> dict[str, Any]:
    """The JSON object of a webhook body; raise EventError when it is not one."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise EventError("body is not JSON") from None
    if not isinstance(data, dict):
        raise EventError("body is not a JSON object")
    return data


def timestamp_of(data: dict[str, Any]) -> str:
    """The event's timestamp string (it is part of the signature); EventError if absent."""
    timestamp = data.get("timestamp")
    if not isinstance(timestamp, (str, int)) or isinstance(timestamp, bool) or not str(timestamp):
        raise EventError("missing timestamp")
    return str(timestamp)


def parse_event(raw: bytes) -> Event:
    """Parse a webhook body; raise EventError when it is not a Zalo event."""
    return from_data(decode(raw))


def from_data(data: dict[str, Any]) -> Event:
    """Build the typed event from a decoded body; raise EventError when it is not an event."""
    name = data.get("event_name")
    if not isinstance(name, str) or not name or len(name) > 64:
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
    attachments = []
    for item in message.get("attachments") or ():
        if isinstance(item, dict):
            payload = item.get("payload") if isinstance(item.get("payload"), dict) else {}
            url = payload.get("url", "")
            attachments.append(
                Attachment(type=str(item.get("type", "")), url=url if isinstance(url, str) else "")
            )
    return Event(
        name=name,
        timestamp=timestamp,
        app_id=_id(data.get("app_id")),
        user_id=user_id,
        oa_id=oa_id,
        msg_id=_id(message.get("msg_id")),
        text=text,
        admin_id=_id(sender.get("admin_id")),
        attachments=tuple(attachments),
    )
