"""Reading form fields with limits, turning bad input into a clear Vietnamese message."""

from __future__ import annotations

from flask import request

from bot.admin import BadInput


def field(name: str, label: str, max_length: int = 200, required: bool = True) -> str:
    """The stripped text of form field `name`, refused when missing or longer than allowed."""
    value = request.form.get(name, "").strip()
    if required and not value:
        raise BadInput(f"Vui lòng nhập “{label}”.")
    if len(value) > max_length:
        raise BadInput(f"“{label}” quá dài: {len(value)} ký tự, tối đa {max_length} ký tự.")
    if "\x00" in value:
        raise BadInput(f"“{label}” chứa ký tự không hợp lệ.")
    return value


def int_list(name: str, label: str, limit: int = 500) -> list[int]:
    """Several positive whole numbers from repeated form field `name`."""
    values = request.form.getlist(name)
    if not values:
        raise BadInput(f"Vui lòng chọn ít nhất một “{label}”.")
    if len(values) > limit or not all(v.isdigit() and len(v) <= 12 for v in values):
        raise BadInput(f"Danh sách “{label}” không hợp lệ.")
    return [int(v) for v in values]
