"""Dates as staff read them: dd/mm/yyyy in the office's time zone (Asia/Ho_Chi_Minh)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

MAX_RANGE_DAYS = 366


class DateInputError(ValueError):
    """A date typed by staff could not be understood; the message is Vietnamese."""


def zone(name: str) -> ZoneInfo:
    """The configured time zone."""
    return ZoneInfo(name)


def parse_day(text: str) -> dt.date:
    """A date from `dd/mm/yyyy` (what staff type) or `yyyy-mm-dd` (what date inputs send)."""
    text = text.strip()
    for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise DateInputError(f"Ngày “{text[:40]}” không hợp lệ, hãy nhập theo dạng dd/mm/yyyy.")


def parse_moment(text: str, tz: ZoneInfo) -> dt.datetime:
    """A local date and time from `yyyy-mm-ddTHH:MM` or `dd/mm/yyyy HH:MM`, made aware."""
    text = text.strip()
    for fmt in ("%Y-%m-%dT%H:%M", "%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M"):
        try:
            return dt.datetime.strptime(text, fmt).replace(tzinfo=tz)
        except ValueError:
            continue
    raise DateInputError(f"Thời điểm “{text[:40]}” không hợp lệ, hãy nhập dd/mm/yyyy HH:MM.")


def day_range(
    start_text: str, end_text: str, today: dt.date, default_days: int = 30
) -> tuple[dt.date, dt.date]:
    """The inclusive range staff asked for; defaults to the last `default_days` days."""
    end = parse_day(end_text) if end_text.strip() else today
    start = parse_day(start_text) if start_text.strip() else end - dt.timedelta(default_days - 1)
    if start > end:
        raise DateInputError("Ngày bắt đầu phải trước hoặc bằng ngày kết thúc.")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise DateInputError(f"Khoảng thời gian tối đa là {MAX_RANGE_DAYS} ngày.")
    return start, end


def epoch_bounds(start: dt.date, end: dt.date, tz: ZoneInfo) -> tuple[float, float]:
    """Epoch seconds from local midnight of `start` to local midnight after `end`."""
    first = dt.datetime.combine(start, dt.time(), tzinfo=tz)
    after = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    return first.timestamp(), after.timestamp()


def utc_offset_seconds(day: dt.date, tz: ZoneInfo) -> int:
    """The zone's offset from UTC on `day`, in seconds."""
    offset = dt.datetime.combine(day, dt.time(12), tzinfo=tz).utcoffset()
    return int(offset.total_seconds()) if offset else 0


def local_today(epoch: float, tz: ZoneInfo) -> dt.date:
    """The local calendar day at `epoch`."""
    return dt.datetime.fromtimestamp(epoch, tz).date()


def days_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every day from `start` to `end` inclusive."""
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


def fmt_day(value: dt.date | None) -> str:
    """`dd/mm/yyyy`, or an empty string."""
    return value.strftime("%d/%m/%Y") if value else ""


def fmt_iso_day(text: str | None) -> str:
    """An ISO date string (YYYY-MM-DD, as stored) as dd/mm/yyyy; other text unchanged."""
    try:
        return fmt_day(dt.date.fromisoformat(text)) if text else ""
    except ValueError:
        return text or ""


def fmt_time(epoch: float | None, tz: ZoneInfo, seconds: bool = False) -> str:
    """`dd/mm/yyyy HH:MM` in the local zone, or an empty string."""
    if epoch is None:
        return ""
    moment = dt.datetime.fromtimestamp(float(epoch), tz)
    return moment.strftime("%d/%m/%Y %H:%M:%S" if seconds else "%d/%m/%Y %H:%M")
