"""Who a proactive message goes to, and by which channel Zalo allows it to reach each of them."""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from bot.config import ZaloConfig
from bot.storage import broadcasts as store


class OutreachError(ValueError):
    """Bad input from staff (audience, time, state change); the message says what and why."""


@dataclass(frozen=True, slots=True)
class Audience:
    """A parsed audience: kind in all, tag, ward, recent; value is the tag, ward id or days."""

    kind: str
    value: str = ""

    def __str__(self) -> str:
        """The audience as staff write it (`all`, `tag:NAME`...)."""
        return self.kind if self.kind == "all" else f"{self.kind}:{self.value}"


def parse_audience(text: str) -> Audience:
    """Parse `all`, `tag:NAME`, `ward:NAME` or `recent:DAYS`; raise OutreachError otherwise."""
    raw = (text or "").strip()
    kind, _, value = raw.partition(":")
    kind, value = kind.strip().lower(), value.strip()
    if kind == "all" and not value:
        return Audience("all")
    if kind in ("tag", "ward") and value:
        return Audience(kind, value)
    if kind == "recent" and value.isdigit() and 0 < int(value) <= 3650:
        return Audience("recent", str(int(value)))
    raise OutreachError(
        f"Nhóm người nhận “{raw}” không hợp lệ. Hãy ghi một trong các dạng: all (tất cả), "
        "tag:TÊN_NHÃN, ward:MÃ_PHƯỜNG, recent:SỐ_NGÀY (từ 1 đến 3650)."
    )


REASON_LABELS = {
    "unfollowed": "đã bỏ quan tâm OA",
    "unknown user": "chưa từng tương tác",
    "no interaction recorded and no template configured": "chưa từng nhắn tin với OA",
    "outside the free window and no template configured": "quá 48 giờ chưa nhắn tin với OA",
    "unreachable": "Zalo báo không nhận được tin (chặn OA, bỏ quan tâm hoặc lâu không dùng Zalo)",
    "template_needed": "quá 7 ngày chưa tương tác, Zalo chỉ cho gửi tin mẫu",
}
"""Why a citizen could not be reached, as staff read it: `Route.reason` codes (stored with
deliveries and reminders) and the outbox's final statuses."""


@dataclass(frozen=True, slots=True)
class Route:
    """How to reach one recipient: channel 'cs' or 'template', or None with the reason."""

    channel: str | None
    reason: str = ""


def route(
    follow_state: str | None, last_interaction_at: float | None, now: float, zalo: ZaloConfig
) -> Route:
    """Pick the channel Zalo allows for a proactive message to this user right now.

    Inside `free_window_hours` of the last interaction: a consultation message. Between that
    and `consultation_window_hours`: a consultation message only if `allow_billed_window`.
    Otherwise a template message when `template_id` is configured, else not reachable.
    """
    if follow_state == "unfollowed":
        return Route(None, "unfollowed")
    if follow_state is None:
        return Route(None, "unknown user")
    if last_interaction_at is not None:
        age_hours = (now - last_interaction_at) / 3600
        if age_hours <= zalo.free_window_hours:
            return Route("cs")
        if zalo.allow_billed_window and age_hours <= zalo.consultation_window_hours:
            return Route("cs")
    if zalo.template_id:
        return Route("template")
    if last_interaction_at is None:
        return Route(None, "no interaction recorded and no template configured")
    return Route(None, "outside the free window and no template configured")


def preview(
    db: sqlite_utils.Database, audience: str | Audience, now: float, zalo: ZaloConfig
) -> dict[str, object]:
    """Count an audience and how it would be reached: total, cs, template, unreachable, reasons."""
    parsed = audience if isinstance(audience, Audience) else parse_audience(audience)
    counts: dict[str, object] = {
        "audience": str(parsed),
        "total": 0,
        "cs": 0,
        "template": 0,
        "unreachable": 0,
    }
    reasons: dict[str, int] = {}
    for _, follow_state, last in store.audience_rows(db, parsed.kind, parsed.value, now):
        counts["total"] += 1  # type: ignore[operator]
        way = route(follow_state, last, now, zalo)
        if way.channel is None:
            counts["unreachable"] += 1  # type: ignore[operator]
            reasons[way.reason] = reasons.get(way.reason, 0) + 1
        else:
            counts[way.channel] += 1  # type: ignore[operator]
    counts["reasons"] = reasons
    return counts
