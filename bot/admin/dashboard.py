"""The dashboard: citizens served, honest answer quality by outcome, topics, hours, hand-overs.

The quality figure counts a question as well answered only when its answer was not followed by
a rephrase, a 👎 or a hand-over (see `bot.admin.outcomes`). Every figure can be downloaded as
CSV for the same date range.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from flask import Blueprint, Response, render_template, request

from bot.admin import BadInput, charts, dates, quality, security
from bot.admin.kbstatus import topic_titles
from bot.admin.outcomes import CLASSES, LABELS, REASON_LABELS
from bot.outreach.audience import REASON_LABELS as UNREACHABLE_LABELS
from bot.storage import reports as store

SOURCE_LABELS = {"reply": "Trả lời", "broadcast": "Thông báo", "reminder": "Nhắc hẹn"}
NO_TOPIC = "(chưa xác định chủ đề)"


def register(bp: Blueprint) -> None:
    """Add the dashboard routes."""
    bp.add_url_rule("/", "dashboard", dashboard)
    bp.add_url_rule("/report.csv", "dashboard_csv", dashboard_csv)


def _range() -> tuple[dt.date, dt.date, float, float, int, str | None]:
    """The chosen date range (default: the last 30 days), its epoch bounds and UTC offset."""
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
    return start, end, lo, hi, dates.utc_offset_seconds(start, tz), error


def _figures(lo: float, hi: float, offset: int, days: int) -> dict[str, Any]:
    """Outcome figures for the range, after classifying any turns not yet classified."""
    db = security.db()
    now = security.now()
    quality.refresh(db, now)
    bucket = 1 if days <= 31 else 7 if days <= 190 else 30
    found = quality.figures(db, lo, hi, offset, now, bucket)
    found["bucket_days"] = bucket
    ratings = store.satisfaction_per_topic(db, lo, hi)
    for row in ratings:
        row["percent"] = quality.percent(row["helpful"], row["total"])
    found["ratings"] = ratings
    return found


@security.roles(*security.ROLES)
def dashboard() -> Any:
    """Figures for the chosen date range (default: the last 30 days)."""
    start, end, lo, hi, offset, error = _range()
    db = security.db()
    q = _figures(lo, hi, offset, (end - start).days + 1)
    days = [day for day, _, _ in q["daily"]]
    messages = [count for _, count, _ in q["daily"]]
    people = [count for _, _, count in q["daily"]]
    chart = charts.daily_chart(days, {"Tin nhắn": messages, "Người dân": people})
    return render_template(
        "admin/dashboard.html",
        error=error,
        start=start,
        end=end,
        chart=chart,
        daily=list(zip(days, messages, people, strict=True)),
        total_messages=sum(messages),
        total_people=q["people"],
        q=q,
        classes=CLASSES,
        labels=LABELS,
        reason_labels=REASON_LABELS,
        no_topic=NO_TOPIC,
        titles=topic_titles(),
        unreachable=unreachable(db, lo, hi),
        source_labels=SOURCE_LABELS,
    )


@security.roles(*security.ROLES)
def dashboard_csv() -> Any:
    """The outcome figures of the range as a CSV file (UTF-8 with BOM, opens in Excel)."""
    start, end, lo, hi, offset, error = _range()
    if error:
        raise BadInput(error)
    q = _figures(lo, hi, offset, (end - start).days + 1)
    titles = topic_titles()
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    figures = ["Câu hỏi", "Trả lời tốt", "Chất lượng (%)"]
    writer.writerow(["Nhóm", "Mục", *(LABELS[c] for c in CLASSES), *figures])
    rows: list[tuple[str, str, dict[str, Any] | None]] = [("Tổng", "", q["totals"])]
    rows += [("Theo thời gian", dates.fmt_day(p["start"]), p) for p in q["over_time"]]
    rows += [("Theo giờ", f"{hour:02d}h", row) for hour, row in q["per_hour"] if row]
    rows += [("Theo chủ đề", titles.get(t, t) if t else NO_TOPIC, row) for t, row in q["per_topic"]]
    for group, key, row in rows:
        counts = [row["counts"].get(c, 0) for c in CLASSES]
        writer.writerow([group, key, *counts, row["total"], row["good"], row["quality"]])
    for reason, count in q["reasons"].items():
        writer.writerow(["Lý do chuyển cán bộ", REASON_LABELS.get(reason, reason), count])
    for r in q["ratings"]:
        title = titles.get(r["topic"], r["topic"])
        writer.writerow(["Hài lòng (👍, 👎, %)", title, r["helpful"], r["unhelpful"], r["percent"]])
    name = f"bao-cao-{start.isoformat()}-{end.isoformat()}.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def unreachable(db: Any, lo: float, hi: float) -> dict[str, Any]:
    """Citizens a message did not reach (outbox, broadcasts never queued, reminders), by reason."""
    found = store.unreachable_recipients(db, lo, hi)
    found["by_reason"] = {
        UNREACHABLE_LABELS.get(reason, reason): count
        for reason, count in found["by_reason"].items()
    }
    return found
