"""Dossiers: upload the one-stop CSV export, check the preview, apply it; look a code up.

Validation and storage are `bot.outreach.dossiers`'; the uploaded file is kept (per account, for
an hour) between the preview and the apply, so what is applied is exactly what was previewed.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, g, redirect, render_template, request, url_for

from bot.admin import BadInput, dates, security
from bot.admin.forms import field
from bot.outreach import dossiers as outreach
from bot.outreach.audience import OutreachError
from bot.outreach.dossiers import STATUS_NAMES as STATUS_LABELS
from bot.storage import admin as store

FIELD_LABELS = {
    "procedure": "thủ tục",
    "applicant": "người nộp",
    "phone": "số điện thoại",
    "status": "trạng thái",
    "office": "nơi tiếp nhận",
    "appointment": "ngày hẹn",
    "zalo_user_id": "Zalo",
}
PREVIEW_ROWS = 100


def register(bp: Blueprint) -> None:
    """Add the dossier routes."""
    bp.add_url_rule("/dossiers", "dossiers", index)
    bp.add_url_rule("/dossiers/preview", "dossiers_preview", preview, methods=["POST"])
    bp.add_url_rule("/dossiers/apply", "dossiers_apply", apply, methods=["POST"])


REMINDER_STATUS = {
    "queued": "đã gửi đi",
    "unreachable": "không liên lạc được",
    "informed": "đã báo trong lúc tra cứu",
}


def _reminder(row: dict[str, Any]) -> dict[str, Any]:
    """A reminder of a dossier as staff read it: what it was about and what became of it."""
    kind, _, day = row["kind"].partition(":")
    if kind == "appointment":
        label = "Nhắc lịch hẹn" + (f" ngày {dates.fmt_iso_day(day)}" if day else "")
    elif kind == "result_ready":
        label = "Báo đã có kết quả"
    else:
        label = row["kind"]
    return {**row, "label": label, "outcome": REMINDER_STATUS.get(row["status"], row["status"])}


@security.roles("admin", "staff")
def index() -> Any:
    """The upload form and the search by code."""
    code = request.args.get("code", "").strip()[:80]
    found, error = None, None
    if code:
        if outreach.normalize_code(code) is None:
            error = "Mã hồ sơ không đúng dạng. Mã hồ sơ có dạng 000.00.01.H26-260930-0012."
        else:
            found = outreach.search_dossier(security.db(), code, security.now())
            if found is None:
                error = "Không tìm thấy hồ sơ có mã này."
            else:
                found["reminders"] = [_reminder(r) for r in found["reminders"]]
    return render_template(
        "admin/dossiers.html", code=code, found=found, error=error, statuses=STATUS_LABELS
    )


def _report(data: bytes, apply: bool) -> Any:
    """Run the outreach import (preview or apply); a broken file becomes outreach's message."""
    try:
        if apply:
            return outreach.apply_import(security.db(), data, security.now())
        return outreach.preview_import(security.db(), data, security.now())
    except OutreachError as exc:
        raise BadInput(f"Tệp CSV không dùng được: {exc}") from None


@security.roles("admin", "staff")
def preview() -> Any:
    """Validate the uploaded CSV and show what would change; nothing is written yet."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise BadInput("Vui lòng chọn tệp CSV xuất từ hệ thống một cửa.")
    data = upload.read()
    if not data.strip():
        raise BadInput("Tệp tải lên trống.")
    report = _report(data, apply=False)
    token = secrets.token_urlsafe(24)
    filename = upload.filename[-120:]
    store.save_upload(security.db(), token, g.account["username"], filename, data, security.now())
    security.audit("dossiers_previewed", f"file={filename} {report.summary()}")
    return render_template(
        "admin/dossiers_preview.html",
        report=report,
        token=token,
        filename=filename,
        statuses=STATUS_LABELS,
        fields=FIELD_LABELS,
        limit=PREVIEW_ROWS,
    )


@security.roles("admin", "staff")
def apply() -> Any:
    """Store the good rows of the file that was previewed."""
    token = field("token", "Mã tệp tải lên", max_length=64)
    upload = store.get_upload(security.db(), token, g.account["username"], security.now())
    if upload is None:
        raise BadInput(
            "Không còn tệp đã xem trước (quá 1 giờ hoặc đã áp dụng). Vui lòng tải tệp lên lại."
        )
    report = _report(bytes(upload["data"]), apply=True)
    store.delete_upload(security.db(), token)
    summary = report.summary()
    security.audit("dossiers_applied", f"file={upload['filename']} {summary}")
    security.notice(
        f"Đã cập nhật hồ sơ từ tệp {upload['filename']}: {summary['new']} hồ sơ mới, "
        f"{summary['changed']} hồ sơ thay đổi, {summary['rejected']} dòng bị bỏ qua do lỗi."
    )
    return redirect(url_for("admin.dossiers"))
