"""Local time for outreach: the office timezone and quiet hours (conversions: `bot.clock`)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from bot import clock
from bot.clock import Moment, epoch
from bot.config import OutreachConfig

__all__ = ["Moment", "epoch", "local", "in_quiet_hours", "parse_hhmm", "parse_send_time"]


def local(now: Moment, config: OutreachConfig) -> dt.datetime:
    """`now` in the office timezone."""
    return clock.local(now, config.timezone)


def parse_hhmm(value: str) -> dt.time:
    """Parse "HH:MM" into a time; raise ValueError naming the value otherwise."""
    try:
        hours, minutes = value.strip().split(":")
        return dt.time(int(hours), int(minutes))
    except (ValueError, TypeError):
        raise ValueError(f"'{value}' is not a time of day HH:MM") from None


def in_quiet_hours(now: Moment, config: OutreachConfig) -> bool:
    """Whether proactive sends must wait: local time within [quiet_start, quiet_end)."""
    start, end = parse_hhmm(config.quiet_start), parse_hhmm(config.quiet_end)
    if start == end:
        return False
    clock = local(now, config).time()
    if start < end:
        return start <= clock < end
    return clock >= start or clock < end


def parse_send_time(value: str, now: Moment, config: OutreachConfig) -> float:
    """Parse `now` or an ISO time (naive means office-local time) into epoch seconds."""
    text = value.strip()
    if text.lower() == "now":
        return epoch(now)
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"Thời điểm gửi “{value}” không hợp lệ. Hãy ghi now (gửi ngay) hoặc thời điểm "
            "dạng ISO, ví dụ 2026-12-01T08:00 (giờ Việt Nam)."
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(config.timezone))
    return when.timestamp()


def format_local(ts: float | None, config: OutreachConfig) -> str:
    """An epoch time as "YYYY-MM-DD HH:MM" local time, or "" for None."""
    if ts is None:
        return ""
    return local(ts, config).strftime("%Y-%m-%d %H:%M")
