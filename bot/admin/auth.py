"""Logging in and out, staff accounts (admin only) and the audit log."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, redirect, render_template, request, url_for

from bot.admin import BadInput, security
from bot.admin.forms import field
from bot.storage import admin as store

LOGIN_FAILED = "Tên đăng nhập hoặc mật khẩu không đúng."
LOGIN_LOCKED = (
    "Đăng nhập sai quá nhiều lần. Vui lòng chờ 15 phút rồi thử lại, hoặc liên hệ quản trị viên."
)


def register(bp: Blueprint) -> None:
    """Add the login, logout, accounts and audit routes."""
    bp.add_url_rule("/login", "login", login, methods=["GET", "POST"])
    bp.add_url_rule("/logout", "logout", logout, methods=["POST"])
    bp.add_url_rule("/accounts", "accounts", accounts)
    bp.add_url_rule("/accounts", "accounts_save", accounts_save, methods=["POST"])
    bp.add_url_rule("/accounts/<username>/lock", "accounts_lock", accounts_lock, methods=["POST"])
    bp.add_url_rule("/audit", "audit_log", audit_log)


def _safe_next(target: str) -> str:
    """Only local console paths are followed after login."""
    if target.startswith("/admin") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("admin.dashboard")


def login() -> Any:
    """Show the login form; on POST check the password, with rate limiting."""
    next_url = request.values.get("next", "")[:500]
    if g.account and request.method == "GET":
        return redirect(_safe_next(next_url))
    if request.method == "GET":
        return render_template("admin/login.html", error=None, username="", next=next_url)
    username = request.form.get("username", "").strip()[: security.USERNAME_MAX_LENGTH + 1]
    password = request.form.get("password", "")[:1025]
    if not username or not password:
        result = security.Login("failed")
    else:
        result = security.attempt_login(username, password)
    if result.status != "ok":
        locked = result.status == "locked"
        page = render_template(
            "admin/login.html",
            error=LOGIN_LOCKED if locked else LOGIN_FAILED,
            username=username,
            next=next_url,
        )
        return page, 429 if locked else 401
    response = redirect(_safe_next(next_url))
    hours = security.config().admin.session_hours
    response.set_cookie(security.SESSION_COOKIE, result.token, **security.cookie_options(hours))
    response.delete_cookie(security.ANON_CSRF_COOKIE, path="/admin")
    return response


@security.roles(*security.ROLES)
def logout() -> Any:
    """End the session and go back to the login page."""
    security.logout()
    response = redirect(url_for("admin.login"))
    response.delete_cookie(security.SESSION_COOKIE, path="/admin")
    return response


@security.roles("admin")
def accounts() -> Any:
    """List staff accounts, with a form to create one or change a password."""
    return render_template(
        "admin/accounts.html", accounts=store.list_accounts(security.db()), roles=security.ROLES
    )


@security.roles("admin")
def accounts_save() -> Any:
    """Create an account, or set a new password and role for an existing one."""
    username = field("username", "Tên đăng nhập", max_length=security.USERNAME_MAX_LENGTH)
    password = request.form.get("password", "")
    role = request.form.get("role", "")
    if role not in security.ROLES:
        raise BadInput("Vai trò không hợp lệ.")
    problem = security.password_problem(username, password)
    if problem:
        raise BadInput(problem)
    new = store.save_account(
        security.db(), username, security.hash_password(password), role, security.now()
    )
    security.audit("account_created" if new else "account_updated", f"{username} role={role}")
    security.notice(f"Đã {'tạo' if new else 'cập nhật'} tài khoản {username}.")
    return redirect(url_for("admin.accounts"))


@security.roles("admin")
def accounts_lock(username: str) -> Any:
    """Lock or unlock an account (not one's own)."""
    if store.get_account(security.db(), username) is None:
        raise BadInput("Không tìm thấy tài khoản này.", 404)
    if username == g.account["username"]:
        raise BadInput("Bạn không thể tự khóa tài khoản của mình.")
    lock = request.form.get("lock") == "1"
    store.set_disabled(security.db(), username, lock)
    security.audit("account_locked" if lock else "account_unlocked", username)
    security.notice(f"Đã {'khóa' if lock else 'mở khóa'} tài khoản {username}.")
    return redirect(url_for("admin.accounts"))


@security.roles("admin")
def audit_log() -> Any:
    """The latest actions of every account."""
    return render_template("admin/audit.html", rows=store.recent_audit(security.db()))
