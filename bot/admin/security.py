"""Who is asking: server-side sessions, CSRF tokens, roles, login rate limits and the audit log.

A session is a random token in an HttpOnly, SameSite=Lax cookie (Secure over HTTPS); only its
SHA-256 is stored, so a copy of the database does not let anyone log in. Every POST must carry
the session's CSRF token (anonymous forms use a token from a separate cookie). Every view states
the roles allowed to use it with `@roles(...)`; a view without it is refused to everyone.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import current_app, g, request
from werkzeug.security import check_password_hash, generate_password_hash

from bot import storage
from bot.config import Config
from bot.storage import admin as store
from bot.storage import throttle, transaction

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
    """The client's address: from the trusted proxies' X-Forwarded-For (`proxy_hops`), else the
    peer; an IPv6 address stands for its /64 (one machine easily holds a whole /64)."""
    address = request.remote_addr or "unknown"
    if request.headers.get("X-Forwarded-For") and not config().webhook.proxy_hops:
        _warn_proxy_once(address)
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


_proxy_warned: list[bool] = []


def _warn_proxy_once(peer: str) -> None:
    """Say once per process that a proxy seems to be in front but is not trusted."""
    if not _proxy_warned:
        _proxy_warned.append(True)
        logger.warning(
            "console: requests from %s carry X-Forwarded-For but [webhook] proxy_hops = 0: every "
            "client looks like the proxy; set proxy_hops to the number of proxies in front",
            peer,
        )


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


ADDRESS_FACTOR = 4
"""An address (or an account, from all addresses) may fail this many times the per-pair limit."""


@dataclass(frozen=True, slots=True)
class Login:
    """The outcome of a login attempt: 'ok' (with the session `token`), 'failed' or 'locked'."""

    status: str
    token: str = ""


def _throttle_keys(username: str | None, ip: str) -> dict[str, str]:
    """The counters an attempt touches: the address, and for a real account the account and pair."""
    keys = {"address": f"addr:{ip}"}
    if username is not None:
        keys["account"] = f"acct:{username}"
        keys["pair"] = f"pair:{username}|{ip}"
    return keys


def _locked(counts: dict[str, int], keys: dict[str, str]) -> bool:
    """The lockout rule, per account and per address (see `attempt_login`)."""
    limit = config().admin.login_attempts_per_15min
    pair = counts.get(keys.get("pair", ""), 0)
    if pair >= limit or counts.get(keys.get("account", ""), 0) >= limit * ADDRESS_FACTOR:
        return True
    address_full = counts[keys["address"]] >= limit * ADDRESS_FACTOR
    return address_full and ("pair" not in keys or pair > 0)


def attempt_login(username: str, password: str) -> Login:
    """Check a login under the lockout rules; on success store a session.

    Failures are counted per (account, address) pair, per account and per address, each in a
    15-minute window from its first failure. A pair is locked after `login_attempts_per_15min`
    failures, right password included; an account after 4x that from all addresses together.
    An address past 4x stops unknown names and accounts that already failed from it, but an
    account with no failure from it may still log in, so one noisy machine behind a shared
    address (or a proxy) does not lock out every officer. The attempt is counted as a failure
    before the password is checked, in the same transaction as the check of the counters:
    concurrent requests cannot try more than the limit. Unknown names are never stored.
    """
    ip = client_ip()
    account = store.get_account(db(), username)
    known = username if account is not None else None
    keys = _throttle_keys(known, ip)
    with transaction(db()):
        counts = throttle.failures(db(), list(keys.values()), RATE_WINDOW_SECONDS, now())
        if _locked(counts, keys):
            return Login("locked")
        throttle.add_failure(db(), list(keys.values()), RATE_WINDOW_SECONDS, now())
    ok = check_password(account["password_hash"] if account else _DUMMY_HASH, password)
    ok = ok and account is not None and not account["disabled"]
    if not ok:
        _audit_failure(known, counts[keys["address"]] + 1)
        return Login("failed")
    with transaction(db()):
        throttle.forgive(db(), [keys["pair"]], [keys["address"], keys["account"]])
    token = secrets.token_urlsafe(32)
    hours = config().admin.session_hours
    store.create_session(
        db(), _token_hash(token), username, secrets.token_urlsafe(32), now(), now() + hours * 3600
    )
    audit("login", "", username=username)
    return Login("ok", token)


def _audit_failure(known: str | None, address_failures: int) -> None:
    """Audit a failed login; for unknown names only the first and the locking one per window.

    An unknown name may be a password typed in the wrong field: it is never written down.
    """
    if known is not None:
        audit("login_failed", f"username={known}", username=None)
        return
    limit = config().admin.login_attempts_per_15min * ADDRESS_FACTOR
    if address_failures in (1, limit):
        detail = f"tên đăng nhập không tồn tại; lần sai thứ {address_failures} từ địa chỉ này"
        audit("login_failed_unknown", detail, username=None)


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
