"""One clock: time is passed in as an aware datetime; epoch seconds only at the storage edge.

Entry points read the time once (`now()`) and pass it down; the dialogue and the matcher get it
as an aware datetime in the office timezone, SQL gets `epoch(now)`. Older callers still pass
epoch seconds: `Moment` accepts both while they move over.
"""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

Moment = dt.datetime | float
"""A point in time as passed in by callers: an aware datetime (naive means UTC) or epoch seconds."""


def now() -> dt.datetime:
    """The current time, aware, in UTC."""
    return dt.datetime.fromtimestamp(time.time(), dt.UTC)


def aware(moment: Moment) -> dt.datetime:
    """`moment` as an aware datetime (epoch seconds and naive datetimes are UTC)."""
    if isinstance(moment, dt.datetime):
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
    return dt.datetime.fromtimestamp(float(moment), dt.UTC)


def epoch(moment: Moment) -> float:
    """Epoch seconds of `moment`: what the database stores."""
    return aware(moment).timestamp() if isinstance(moment, dt.datetime) else float(moment)


def local(moment: Moment, timezone: str) -> dt.datetime:
    """`moment` in the office timezone (e.g. "Asia/Ho_Chi_Minh")."""
    return aware(moment).astimezone(ZoneInfo(timezone))
