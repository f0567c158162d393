"""Broadcasts: write one with a Zalo-like preview, pick the audience, schedule, approve, cancel.

Every change goes through `bot.outreach.broadcasts`; this module only reads the form, shows
counts and progress, and records the action in the audit log.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, redirect, render_template, request, url_for

from bot.admin import BadInput, dates, security
from bot.admin.forms import field
from bot.admin.kbstatus import current_kb
from bot.outreach import broadcasts as outreach
from bot.outreach.audience import REASON_LABELS, OutreachError, parse_audience, preview
from bot.storage import outreach as outreach_store

STATE_LABELS = {
    "draft": "Nháp chờ duyệt",
    "scheduled": "Đã hẹn giờ",
    "sending": "Đang gửi",
    "done": "Đã gửi xong",
    "cancelled": "Đã hủy",
}
RECENT_DAYS = (7, 30, 90)


def register(bp: Blueprint) -> None:
    """Add the broadcast routes."""
    bp.add_url_rule("/broadcasts", "broadcasts", index)
    bp.add_url_rule("/broadcasts/new", "broadcasts_new", new)
    bp.add_url_rule("/broadcasts", "broadcasts_create", create, methods=["POST"])
    bp.add_url_rule("/broadcasts/audience", "broadcasts_audience", audience_count)
    bp.add_url_rule("/broadcasts/<int:broadcast_id>", "broadcasts_show", show)
    bp.add_url_rule("/broadcasts/<int:broadcast_id>/progress", "broadcasts_progress", progress)
    bp.add_url_rule(
        "/broadcasts/<int:broadcast_id>/approve", "broadcasts_approve", approve, methods=["POST"]
    )
    bp.add_url_rule(
        "/broadcasts/<int:broadcast_id>/cancel", "broadcasts_cancel", cancel, methods=["POST"]
    )


def audience_options() -> list[tuple[str, str]]:
    """(value, label) for every audience staff can pick."""
    options = [("all", "Tất cả người quan tâm OA")]
    options += [(f"recent:{d}", f"Người đã nhắn tin trong {d} ngày qua") for d in RECENT_DAYS]
    kb = current_kb()
    if kb is not None:
        options += [(f"ward:{w.id}", f"Người dân {w.name}") for w in kb.wards.values()]
    tags = outreach_store.tag_counts(security.db())
    options += [(f"tag:{tag}", f"Nhãn Zalo “{tag}” ({count} người)") for tag, count in tags.items()]
    return options


def _audience_labels() -> dict[str, str]:
    return dict(audience_options())


def _count(audience: str) -> dict[str, Any]:
    """Recipients of `audience` now, and how many can be reached by which channel."""
    counts = preview(security.db(), audience, security.now(), security.config().zalo)
    counts["reasons"] = {REASON_LABELS.get(k, k): v for k, v in counts["reasons"].items()}
    return counts


def _get(broadcast_id: int) -> dict[str, Any]:
    """The broadcast with progress, or a 404 page."""
    try:
        return outreach.show_broadcast(security.db(), broadcast_id, security.now())
    except OutreachError:
        raise BadInput("Không tìm thấy thông báo này.", 404) from None


@security.roles("admin", "comms")
def index() -> Any:
    """Latest broadcasts with their state and progress."""
    rows = outreach.list_broadcasts(security.db(), security.now())
    return render_template(
        "admin/broadcasts.html", rows=rows, states=STATE_LABELS, audiences=_audience_labels()
    )


@security.roles("admin", "comms")
def new() -> Any:
    """The form, with the live preview and the recipient count of the default audience."""
    return _form_page({}, None)


def _form_page(form: Any, error: str | None) -> Any:
    """The broadcast form, refilled with what staff typed and the reason it was refused."""
    options = audience_options()
    audience = form.get("audience", "all")
    counts = _count(audience if audience in dict(options) else "all")
    page = render_template(
        "admin/broadcast_new.html",
        options=options,
        counts=counts,
        text_max=outreach.TEXT_MAX,
        form=form,
        error=error,
    )
    return (page, 400) if error else page


@security.roles("admin", "comms")
def audience_count() -> Any:
    """JSON recipient counts for the audience picked in the form."""
    raw = request.args.get("audience", "")[:200]
    try:
        parse_audience(raw)
    except OutreachError:
        return jsonify({"error": "Nhóm người nhận không hợp lệ."}), 400
    return jsonify(_count(raw))


def _send_at(tz: Any) -> float | None:
    """The chosen send time (None = now); refused when in the past."""
    if request.form.get("when", "now") == "now":
        return None
    raw = field("send_at", "Thời điểm gửi", max_length=40)
    try:
        moment = dates.parse_moment(raw, tz).timestamp()
    except dates.DateInputError as exc:
        raise BadInput(str(exc)) from None
    if moment < security.now() - 60:
        raise BadInput("Thời điểm gửi đã qua, hãy chọn một thời điểm trong tương lai.")
    return moment


@security.roles("admin", "comms")
def create() -> Any:
    """Create the broadcast, or show the form again with what is wrong."""
    try:
        return _create()
    except BadInput as exc:
        if exc.status != 400:
            raise
        return _form_page(request.form, exc.message)


def _create() -> Any:
    """Create the broadcast (scheduled, or a draft when 'save as draft' was pressed)."""
    settings = security.config()
    tz = dates.zone(settings.outreach.timezone)
    text = field("text", "Nội dung", max_length=outreach.TEXT_MAX)
    audience = field("audience", "Người nhận", max_length=200)
    link_url = field("link_url", "Đường dẫn", max_length=500, required=False)
    link_title = field("link_title", "Tên đường dẫn", max_length=80, required=False)
    if link_url and not link_url.startswith(("https://", "http://")):
        raise BadInput("Đường dẫn phải bắt đầu bằng https:// hoặc http://")
    if audience not in _audience_labels():
        raise BadInput("Nhóm người nhận không hợp lệ, hãy chọn trong danh sách.")
    draft = request.form.get("action") == "draft"
    at = _send_at(tz)
    try:
        row = outreach.create_broadcast(
            security.db(),
            settings,
            text,
            audience,
            at,
            security.now(),
            link_url=link_url or None,
            link_title=link_title or None,
            draft=draft,
            source="admin",
        )
    except OutreachError as exc:
        raise BadInput(f"Không tạo được thông báo: {exc}") from None
    security.audit(
        "broadcast_created",
        f"id={row['id']} audience={audience} state={row['state']} chars={len(text)}",
    )
    security.notice("Đã lưu nháp thông báo." if draft else "Đã lên lịch gửi thông báo.")
    return redirect(url_for("admin.broadcasts_show", broadcast_id=row["id"]))


@security.roles("admin", "comms")
def show(broadcast_id: int) -> Any:
    """One broadcast: how it looks, who gets it, and its progress (updated live)."""
    row = _get(broadcast_id)
    counts = _count(row["audience"]) if row["state"] in ("draft", "scheduled") else None
    reasons = {REASON_LABELS.get(k, k): v for k, v in row["unreachable_reasons"].items()}
    return render_template(
        "admin/broadcast_show.html",
        b=row,
        states=STATE_LABELS,
        audiences=_audience_labels(),
        counts=counts,
        reasons=reasons,
    )


@security.roles("admin", "comms")
def progress(broadcast_id: int) -> Any:
    """JSON state and counts, polled by the detail page while the broadcast runs."""
    row = _get(broadcast_id)
    return jsonify(
        {
            "state": row["state"],
            "state_label": STATE_LABELS.get(row["state"], ""),
            "progress": row["progress"],
            "recipients": row.get("recipients"),
        }
    )


@security.roles("admin", "comms")
def approve(broadcast_id: int) -> Any:
    """Approve a draft (for example from the news feed): it is scheduled."""
    _get(broadcast_id)
    try:
        outreach.approve_broadcast(security.db(), security.config(), broadcast_id, security.now())
    except OutreachError:
        raise BadInput("Chỉ có thể duyệt thông báo đang ở trạng thái nháp.") from None
    security.audit("broadcast_approved", f"id={broadcast_id}")
    security.notice("Đã duyệt thông báo, thông báo sẽ được gửi theo lịch.")
    return redirect(url_for("admin.broadcasts_show", broadcast_id=broadcast_id))


@security.roles("admin", "comms")
def cancel(broadcast_id: int) -> Any:
    """Cancel a draft, scheduled or running broadcast."""
    _get(broadcast_id)
    try:
        row = outreach.cancel_broadcast(security.db(), broadcast_id, security.now())
    except OutreachError:
        raise BadInput("Thông báo này đã gửi xong hoặc đã bị hủy trước đó.") from None
    security.audit("broadcast_cancelled", f"id={broadcast_id}")
    security.notice(
        f"Đã hủy thông báo ({row['progress']['cancelled']} người chưa nhận sẽ không được gửi)."
    )
    return redirect(url_for("admin.broadcasts_show", broadcast_id=broadcast_id))
