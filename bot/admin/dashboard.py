"""The dashboard: citizens served, how the bot answered, top topics, satisfaction, reach."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from bot.admin import charts, dates, security
from bot.admin.kbstatus import topic_titles
from bot.outreach.audience import REASON_LABELS
from bot.storage import reports as store

OUTCOME_LABELS = {
    "answer": "Trả lời được",
    "choices": "Đưa lựa chọn",
    "fallback": "Chưa hiểu câu hỏi",
}
SOURCE_LABELS = {"reply": "Trả lời", "broadcast": "Thông báo", "reminder": "Nhắc hẹn"}


def register(bp: Blueprint) -> None:
    """Add the dashboard route."""
    bp.add_url_rule("/", "dashboard", dashboard)


@security.roles(*security.ROLES)
def dashboard() -> Any:
    """Figures for the chosen date range (default: the last 30 days)."""
    tz = dates.zone(security.config().outreach.timezone)
    today = dates.local_today(security.now(), tz)
    error = None
    try:
        start, end = dates.day_range(
            request.args.get("from", "")[:40], request.args.get("to", "")[:40], today
        )
    except dates.DateInputError as exc:
        error = str(exc)
        start, end = dates.day_range("", "", today)
    lo, hi = dates.epoch_bounds(start, end, tz)
    db = security.db()
    per_day = {
        row["day"]: row
        for row in store.activity_per_day(db, lo, hi, dates.utc_offset_seconds(start, tz))
    }
    days = dates.days_between(start, end)
    messages = [per_day.get(d.isoformat(), {}).get("messages", 0) for d in days]
    people = [per_day.get(d.isoformat(), {}).get("conversations", 0) for d in days]
    chart = charts.daily_chart(days, {"Tin nhắn": messages, "Người dân": people})
    outcomes = store.outcome_counts(db, lo, hi)
    titles = topic_titles()
    topics = store.top_topics(db, lo, hi)
    peak = max((t["count"] for t in topics), default=0)
    ratings = store.satisfaction_per_topic(db, lo, hi)
    for row in ratings:
        row["percent"] = round(100 * row["helpful"] / row["total"], 1) if row["total"] else 0
    return render_template(
        "admin/dashboard.html",
        error=error,
        start=start,
        end=end,
        chart=chart,
        daily=list(zip(days, messages, people, strict=True)),
        total_messages=sum(messages),
        total_people=store.distinct_citizens(db, lo, hi),
        shares=charts.shares(outcomes, list(OUTCOME_LABELS)),
        outcome_labels=OUTCOME_LABELS,
        other_turns=sum(v for k, v in outcomes.items() if k not in OUTCOME_LABELS),
        topics=topics,
        topic_peak=peak,
        titles=titles,
        ratings=ratings,
        unreachable=unreachable(db, lo, hi),
        source_labels=SOURCE_LABELS,
    )


def unreachable(db: Any, lo: float, hi: float) -> dict[str, Any]:
    """Citizens a message did not reach (outbox, broadcasts never queued, reminders), by reason."""
    found = store.unreachable_recipients(db, lo, hi)
    found["by_reason"] = {
        REASON_LABELS.get(reason, reason): count for reason, count in found["by_reason"].items()
    }
    return found
