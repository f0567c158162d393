"""What the simulator accepts as a consultation message's attachment, with Zalo's error codes.

Accepted: `{"type": "template", "payload": {...}}` whose payload holds buttons, an image
(`template_type` "media" with one element), or both. Malformed shapes answer -201 (invalid
parameter); a template or media type Zalo does not send here answers -233 (unsupported type).
"""

from __future__ import annotations

from typing import Any

BUTTON_TYPES = ("oa.query.show", "oa.query.hide", "oa.open.url", "oa.open.phone", "oa.open.sms")
BUTTONS_MAX = 5
TITLE_MAX = 100


class Refused(ValueError):
    """An attachment Zalo would refuse: `code` and `message` go into the envelope."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("https://", "http://")) and " " not in value


def parse_attachment(attachment: Any) -> tuple[str | None, list[dict[str, Any]]]:
    """The image URL (or None) and the buttons of an attachment; raise `Refused` if malformed."""
    if attachment is None:
        return None, []
    if not isinstance(attachment, dict) or not isinstance(attachment.get("payload"), dict):
        raise Refused(-201, "attachment.payload is required")
    if attachment.get("type") != "template":
        raise Refused(-233, f"attachment type {attachment.get('type')!r} is not supported")
    payload = attachment["payload"]
    image = _image(payload) if "template_type" in payload else None
    buttons = _buttons(payload.get("buttons", []))
    if image is None and not buttons:
        raise Refused(-201, "attachment has neither elements nor buttons")
    return image, buttons


def _image(payload: dict[str, Any]) -> str:
    """The one image element of a `media` template."""
    if payload["template_type"] != "media":
        raise Refused(-233, f"template_type {payload['template_type']!r} is not supported")
    elements = payload.get("elements")
    if not isinstance(elements, list) or len(elements) != 1 or not isinstance(elements[0], dict):
        raise Refused(-201, "elements must hold exactly one media element")
    element = elements[0]
    if element.get("media_type") not in ("image", "gif"):
        raise Refused(-233, f"media_type {element.get('media_type')!r} is not supported")
    if element["media_type"] == "gif" and not (element.get("width") and element.get("height")):
        raise Refused(-201, "a gif needs width and height")
    if element.get("attachment_id"):
        return f"attachment:{element['attachment_id']}"
    if not _is_url(element.get("url")):
        raise Refused(-201, "element url is invalid")
    return str(element["url"])


def _buttons(raw: Any) -> list[dict[str, Any]]:
    """The buttons as recorded: title, type, payload (a string, or `{"url": ...}`)."""
    if not isinstance(raw, list) or len(raw) > BUTTONS_MAX:
        raise Refused(-201, f"buttons must be a list of at most {BUTTONS_MAX}")
    buttons = []
    for button in raw:
        if not isinstance(button, dict):
            raise Refused(-201, "button is invalid")
        title, kind, payload = button.get("title"), button.get("type"), button.get("payload")
        if not isinstance(title, str) or not title.strip() or len(title) > TITLE_MAX:
            raise Refused(-201, "button title is invalid")
        if kind not in BUTTON_TYPES:
            raise Refused(-201, f"button type {kind!r} is invalid")
        if kind == "oa.open.url":
            if not isinstance(payload, dict) or not _is_url(payload.get("url")):
                raise Refused(-201, 'oa.open.url needs payload {"url": "https://..."}')
            payload = {"url": payload["url"]}
        elif kind.startswith("oa.query."):
            if not isinstance(payload, str) or not payload:
                raise Refused(-201, f"{kind} needs a text payload")
        elif not isinstance(payload, dict) or not payload.get("phone_code"):
            raise Refused(-201, f'{kind} needs payload {{"phone_code": ...}}')
        buttons.append({"title": title, "payload": payload, "type": kind})
    return buttons
