"""Who is asking: server-side sessions, CSRF tokens, roles, login rate limits and the audit log.

A session is a random token in an HttpOnly, SameSite=Lax cookie (Secure over HTTPS); only its
SHA-256 is stored, so a copy of the database does not let anyone log in. Every POST must carry
the session's CSRF token (anonymous forms use a token from a separate cookie). Every view states
the roles allowed to use it with `@roles(...)`; a view without it is refused to everyone.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, g, request
from werkzeug.security import check_password_hash, generate_password_hash

from bot import storage
from bot.config import Config
from bot.storage import admin as store

logger = logging.getLogger(__name__)

ROLES = ("admin", "comms", "staff")
ROLE_LABELS = {"admin": "Quản trị", "comms": "Truyền thông", "staff": "Cán bộ một cửa"}
SESSION_COOKIE = "admin_session"
ANON_CSRF_COOKIE = "admin_csrf"
PUBLIC_ENDPOINTS = frozenset({"admin.login", "admin.static"})
"""Endpoints reachable without logging in; everything else needs a session and a role."""
PASSWORD_MIN_LENGTH = 10
USERNAME_MAX_LENGTH = 64
RATE_WINDOW_SECONDS = 15 * 60

F = TypeVar("F", bound=Callable[..., Any])


def roles(*allowed: str) -> Callable[[F], F]:
    """Mark a view as usable by the given roles only."""
    unknown = set(allowed) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown role(s): {', '.join(sorted(unknown))}")

    def mark(view: F) -> F:
        view.admin_roles = frozenset(allowed)  # type: ignore[attr-defined]
        return view

    return mark


def hash_password(password: str) -> str:
    """A salted scrypt hash of `password`."""
    return generate_password_hash(password, method="scrypt")


def check_password(password_hash: str, password: str) -> bool:
    """True when `password` matches the stored hash."""
    try:
        return check_password_hash(password_hash, password)
    except ValueError:
        return False


_DUMMY_HASH = generate_password_hash("not-a-real-password", method="scrypt")


def password_problem(username: str, password: str) -> str | None:
    """A Vietnamese explanation of why the username or password is not acceptable, or None."""
    if not username or len(username) > USERNAME_MAX_LENGTH:
        return f"Tên đăng nhập phải có từ 1 đến {USERNAME_MAX_LENGTH} ký tự."
    if not all(c.isalnum() or c in "._-" for c in username) or not username.isascii():
        return "Tên đăng nhập chỉ gồm chữ không dấu, số và các ký tự . _ -"
    if len(password) < PASSWORD_MIN_LENGTH:
        return f"Mật khẩu phải có ít nhất {PASSWORD_MIN_LENGTH} ký tự."
    if len(password) > 1024:
        return "Mật khẩu quá dài."
    return None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def now() -> float:
    """The app's clock (tests pass one to create_app as `clock`)."""
    clock = current_app.extensions.get("bot.clock", time.time)
    return float(clock())


def config() -> Config:
    """The app's configuration."""
    return current_app.extensions["bot.config"]


def db() -> Any:
    """The database for this request, opened on first use."""
    if "admin_db" not in g:
        g.admin_db = storage.connect(current_app.extensions["bot.db_path"])
    return g.admin_db


def client_ip() -> str:
    """The client address as seen by this process (a reverse proxy should set remote_addr)."""
    return request.remote_addr or "unknown"


def load_session() -> None:
    """Attach the logged-in account (or None) and the CSRF token to `g`."""
    g.account = None
    g.session_key = None
    g.csrf_token = None
    g.set_anon_csrf = False
    token = request.cookies.get(SESSION_COOKIE, "")
    if token and len(token) < 200:
        row = store.get_session(db(), _token_hash(token), now())
        if row:
            g.account = {"username": row["username"], "role": row["role"]}
            g.session_key = row["token_hash"]
            g.csrf_token = row["csrf_token"]
            g.pending_notice = row["notice"]
    if g.csrf_token is None:
        anon = request.cookies.get(ANON_CSRF_COOKIE, "")
        if len(anon) != 43:
            anon = secrets.token_urlsafe(32)
            g.set_anon_csrf = True
        g.csrf_token = anon


def csrf_ok() -> bool:
    """True when the POST carries this session's CSRF token."""
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token", "")
    return bool(sent) and hmac.compare_digest(sent.encode(), g.csrf_token.encode())


def allowed_roles(endpoint: str | None) -> frozenset[str]:
    """The roles allowed on `endpoint` (empty: nobody)."""
    view = current_app.view_functions.get(endpoint or "")
    return getattr(view, "admin_roles", frozenset())


def can(endpoint: str) -> bool:
    """True when the logged-in account may use `endpoint` (for showing links)."""
    account = g.get("account")
    return bool(account) and account["role"] in allowed_roles(endpoint)


def rate_limited(username: str, ip: str) -> bool:
    """True when too many logins failed recently for this username or from this address."""
    limit = config().admin.login_attempts_per_15min
    by_user, by_ip = store.failed_logins_since(db(), username, ip, now() - RATE_WINDOW_SECONDS)
    return by_user >= limit or by_ip >= limit * 4


def attempt_login(username: str, password: str) -> str | None:
    """Check the password; on success store a session and return its cookie token."""
    ip = client_ip()
    account = store.get_account(db(), username)
    ok = check_password(account["password_hash"] if account else _DUMMY_HASH, password)
    ok = ok and bool(account) and not account["disabled"]
    store.record_login_attempt(db(), username[:USERNAME_MAX_LENGTH], ip, ok, now())
    if not ok:
        audit("login_failed", f"username={username[:USERNAME_MAX_LENGTH]}", username=None)
        return None
    token = secrets.token_urlsafe(32)
    hours = config().admin.session_hours
    store.create_session(
        db(), _token_hash(token), username, secrets.token_urlsafe(32), now(), now() + hours * 3600
    )
    audit("login", "", username=username)
    return token


def logout() -> None:
    """End the current session."""
    if g.session_key:
        audit("logout", "")
        store.delete_session(db(), g.session_key)


def take_notice() -> str | None:
    """The one-time message for this session, cleared once a page shows it."""
    text = g.pop("pending_notice", None)
    if text and g.session_key:
        store.set_notice(db(), g.session_key, None)
    return text


def notice(text: str) -> None:
    """Show `text` once on the next page of this session."""
    if g.session_key:
        store.set_notice(db(), g.session_key, text)


def audit(action: str, detail: str, username: str | None = "") -> None:
    """Record who did what (the current account unless `username` is given)."""
    who = username if username != "" else (g.account or {}).get("username")
    store.audit(db(), who, client_ip(), action, detail, now())
    logger.info("admin audit: %s %s", who, action)


def cookie_options(hours: float) -> dict[str, Any]:
    """Cookie flags: HttpOnly, SameSite=Lax, Secure when the request came over HTTPS."""
    return {
        "max_age": int(hours * 3600),
        "httponly": True,
        "samesite": "Lax",
        "secure": request.is_secure,
        "path": "/admin",
    }
