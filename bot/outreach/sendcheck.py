"""Checks a broadcast passes before the CLI creates it: its time and whom it would reach.

A send time in the past is refused (`--now` sends now); a time in quiet hours is accepted with a
warning that the message waits for morning; a ward or tag nobody belongs to is refused naming the
valid ones (an old ward name, such as `ward:xuan-la`, names the new wards its area went to).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import sqlite_utils

from bot.config import Config
from bot.outreach.audience import OutreachError, parse_audience
from bot.outreach.clock import in_quiet_hours, local, parse_send_time
from bot.storage.outreach import tag_counts

PAST_GRACE_SECONDS = 60
"""A time up to a minute ago (typed a moment ago) still means now."""


def send_time(at: str, now: float, config: Config) -> float:
    """The epoch of `at` (`now` or an ISO time); a time already past is refused."""
    when = parse_send_time(at, now, config.outreach)
    if when < now - PAST_GRACE_SECONDS:
        shown = local(when, config.outreach).strftime("%d/%m/%Y %H:%M")
        raise OutreachError(
            f"Thời điểm gửi {shown} đã qua. Hãy chọn thời điểm trong tương lai, hoặc dùng --now "
            "để gửi ngay."
        )
    return when


def quiet_warning(when: float, config: Config) -> str | None:
    """A warning when `when` falls in quiet hours (the message then waits for their end)."""
    if not in_quiet_hours(when, config.outreach):
        return None
    shown = local(when, config.outreach).strftime("%H:%M")
    return (
        f"Lưu ý: {shown} nằm trong giờ nghỉ ({config.outreach.quiet_start}–"
        f"{config.outreach.quiet_end}); thông báo sẽ chờ đến {config.outreach.quiet_end} sáng "
        "mới bắt đầu gửi."
    )


def _wards(config: Config) -> tuple[dict[str, str], dict[str, list[str]]]:
    """New ward id -> name, and old ward id -> the new wards its area went to (from wards.toml)."""
    path = Path(config.bot.knowledge_base) / "wards.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}, {}
    new = {w["id"]: w.get("name", w["id"]) for w in data.get("ward", []) if "id" in w}
    old = {w["id"]: list(w.get("new_wards", [])) for w in data.get("old_ward", []) if "id" in w}
    return new, old


def check_audience(db: sqlite_utils.Database, text: str, config: Config) -> None:
    """Refuse a ward or tag audience that names no known ward or tag."""
    parsed = parse_audience(text)
    if parsed.kind == "ward":
        new, old = _wards(config)
        if not new or parsed.value in new:
            return
        valid = ", ".join(f"ward:{w}" for w in new)
        if parsed.value in old:
            went = ", ".join(f"ward:{w} ({new.get(w, w)})" for w in old[parsed.value])
            raise OutreachError(
                f"“ward:{parsed.value}” là phường cũ (trước 1/7/2025), không còn ai thuộc phường "
                f"này. Khu vực của phường nay thuộc: {went}. Các phường hợp lệ: {valid}."
            )
        raise OutreachError(f"Không có phường “{parsed.value}”. Các phường hợp lệ: {valid}.")
    if parsed.kind == "tag":
        tags = tag_counts(db)
        if parsed.value not in tags:
            known = ", ".join(f"tag:{t} ({n} người)" for t, n in tags.items()) or (
                "chưa có nhãn nào (chạy: python -m bot followers sync)"
            )
            raise OutreachError(f"Nhãn “{parsed.value}” không có ai. Các nhãn hiện có: {known}.")
