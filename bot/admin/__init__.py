"""The staff console: a Flask blueprint mounted at /admin by `bot.web.create_app`.

Pages are rendered on the server in Vietnamese. Each page module (`auth`, `dashboard`,
`inbox`, `flags`, `suggestions`, `handover`, `kbstatus`, `broadcasts`, `dossiers`) adds its
routes with `register(bp)`; `security` decides who may see what before any view runs.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, g, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from bot.admin import dates, security
from bot.config import Config

logger = logging.getLogger(__name__)

UPLOAD_MAX_BYTES = 5 * 1024 * 1024
UPLOAD_ENDPOINTS = frozenset({"admin.dossiers_preview"})
ERROR_MESSAGES = {
    400: "Yêu cầu không hợp lệ.",
    403: "Tài khoản của bạn không có quyền dùng chức năng này.",
    404: "Không tìm thấy trang hoặc mục bạn yêu cầu.",
    405: "Thao tác này không được hỗ trợ.",
    413: "Dữ liệu gửi lên quá lớn. Tệp tải lên tối đa 5 MB, mỗi ô nhập tối đa vài nghìn ký tự.",
    429: "Bạn thao tác quá nhanh, vui lòng thử lại sau ít phút.",
}
CSRF_MESSAGE = (
    "Biểu mẫu đã hết hạn hoặc không hợp lệ (thiếu mã bảo vệ). Vui lòng tải lại trang và thử lại."
)


class BadInput(Exception):
    """Staff input that cannot be used; `message` is shown to them in Vietnamese."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def create_blueprint(config: Config) -> Blueprint:
    """The /admin blueprint with every page, the access checks and the error pages."""
    bp = Blueprint(
        "admin",
        __name__,
        template_folder="templates",
        static_folder="static",
        static_url_path="/static",
    )
    tz = dates.zone(config.outreach.timezone)

    from bot.admin import (
        auth,
        broadcasts,
        dashboard,
        dossiers,
        flags,
        handover,
        inbox,
        kbstatus,
        suggestions,
    )

    pages = (auth, dashboard, inbox, flags, suggestions, handover, kbstatus, broadcasts, dossiers)
    for module in pages:
        module.register(bp)
    bp.add_url_rule("/<path:anything>", "not_found", not_found)

    @bp.before_request
    def guard() -> Any:
        if request.endpoint in UPLOAD_ENDPOINTS:
            request.max_content_length = UPLOAD_MAX_BYTES
        security.load_session()
        if request.endpoint in security.PUBLIC_ENDPOINTS:
            if request.method == "POST" and not security.csrf_ok():
                return error_page(CSRF_MESSAGE, 400)
            return None
        if g.account is None:
            return redirect(url_for("admin.login", next=request.full_path[:500]))
        if g.account["role"] not in security.allowed_roles(request.endpoint):
            return error_page(ERROR_MESSAGES[403], 403)
        if request.method == "POST" and not security.csrf_ok():
            security.audit("csrf_refused", request.path)
            return error_page(CSRF_MESSAGE, 400)
        return None

    @bp.after_request
    def headers(response: Response) -> Response:
        if g.get("set_anon_csrf"):
            response.set_cookie(
                security.ANON_CSRF_COOKIE, g.csrf_token, **security.cookie_options(12)
            )
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
        )
        return response

    @bp.teardown_request
    def close_db(exc: BaseException | None) -> None:
        database = g.pop("admin_db", None)
        if database is not None:
            database.conn.close()

    @bp.context_processor
    def helpers() -> dict[str, Any]:
        return {
            "account": g.get("account"),
            "csrf_token": g.get("csrf_token", ""),
            "can": security.can,
            "role_labels": security.ROLE_LABELS,
            "take_notice": security.take_notice,
            "fmt_time": lambda epoch, seconds=False: dates.fmt_time(epoch, tz, seconds),
            "fmt_day": dates.fmt_day,
            "fmt_iso_day": dates.fmt_iso_day,
            "office_name": config.bot.office_name,
            "zalo_buttons": config.zalo.buttons,
        }

    @bp.errorhandler(BadInput)
    def bad_input(exc: BadInput) -> Any:
        return error_page(exc.message, exc.status)

    @bp.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        code = exc.code or 500
        return error_page(ERROR_MESSAGES.get(code, "Yêu cầu không thực hiện được."), code)

    @bp.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        logger.exception("admin page failed: %s", request.path)
        return error_page(
            "Đã có lỗi trong hệ thống. Vui lòng thử lại hoặc báo bộ phận kỹ thuật.", 500
        )

    return bp


@security.roles(*security.ROLES)
def not_found(anything: str) -> Any:
    """Any other /admin address: a Vietnamese 404 (after the login check, so nothing leaks)."""
    raise BadInput(ERROR_MESSAGES[404], 404)


def error_page(message: str, status: int) -> tuple[str, int]:
    """A page with one clear Vietnamese message and a way back."""
    if "account" not in g:
        g.account = None
    return render_template("admin/error.html", message=message, status=status), status
