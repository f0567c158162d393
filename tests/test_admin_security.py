"""Every console route needs a login and the right role; CSRF, cookies, rate limits, audit."""

from __future__ import annotations

from pathlib import Path

import pytest
from admin_support import (
    PASSWORD,
    Clock,
    add_account,
    csrf_of,
    db_of,
    logged_in,
    login,
    make_app,
    make_config,
)
from flask import Flask

from bot.admin.security import PUBLIC_ENDPOINTS, ROLES
from bot.storage import admin as admin_store

SAMPLE_ARGS = {
    "broadcast_id": "1",
    "turn_id": "1",
    "item_id": "1",
    "flag_id": "1",
    "username": "someone",
    "user_id": "123456",
    "anything": "khong/co/trang/nay",
}


@pytest.fixture
def env(tmp_path: Path) -> tuple[Flask, object, Clock]:
    """The app, its config and its clock."""
    config = make_config(tmp_path)
    clock = Clock()
    return make_app(config, clock), config, clock


def admin_routes(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) for every route of the console except the public ones."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin.") or rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        url = rule.rule
        for name in rule.arguments:
            url = url.replace(f"<int:{name}>", SAMPLE_ARGS[name]).replace(
                f"<{name}>", SAMPLE_ARGS[name]
            )
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, url))
    return found


def test_the_console_has_the_routes_the_tests_enumerate(env: tuple) -> None:
    app, _, _ = env
    endpoints = {endpoint for endpoint, _, _ in admin_routes(app)}
    assert {
        "admin.dashboard",
        "admin.broadcasts_create",
        "admin.dossiers_apply",
        "admin.inbox_triage",
        "admin.suggestion_approve",
        "admin.flag_answer",
        "admin.handover_release",
        "admin.kb_status",
    } <= endpoints


def test_every_route_declares_its_roles(env: tuple) -> None:
    app, _, _ = env
    for endpoint, _, _ in admin_routes(app):
        roles = getattr(app.view_functions[endpoint], "admin_roles", frozenset())
        assert roles and roles <= set(ROLES), endpoint


def test_every_route_refuses_anonymous_users(env: tuple) -> None:
    app, config, _ = env
    client = app.test_client()
    token = csrf_of(client)  # even with a valid anonymous CSRF token
    for endpoint, method, url in admin_routes(app):
        response = client.open(url, method=method, data={"csrf_token": token})
        assert response.status_code == 302, (endpoint, method, response.status_code)
        assert response.headers["Location"].startswith("/admin/login"), endpoint
    assert admin_store.list_accounts(db_of(config)) == []


@pytest.mark.parametrize("role", ROLES)
def test_every_route_refuses_wrong_roles_and_admits_right_ones(env: tuple, role: str) -> None:
    app, config, _ = env
    client = logged_in(app, config, role)
    token = csrf_of(client, "/admin/")
    refused = admitted = 0
    for endpoint, method, url in admin_routes(app):
        if endpoint == "admin.logout":
            continue
        allowed = app.view_functions[endpoint].admin_roles
        response = client.open(url, method=method, data={"csrf_token": token})
        if role in allowed:
            admitted += 1
            assert response.status_code != 403, (role, endpoint, method)
            assert response.status_code < 500, (role, endpoint, method)
        else:
            refused += 1
            assert response.status_code == 403, (role, endpoint, method, response.status_code)
            assert "không có quyền" in response.get_data(as_text=True)
    assert admitted and (refused or role == "admin")


def test_forms_without_a_csrf_token_are_refused(env: tuple) -> None:
    app, config, _ = env
    client = logged_in(app, config, "admin")
    posts = [(e, u) for e, m, u in admin_routes(app) if m == "POST"]
    assert len(posts) >= 8
    for endpoint, url in posts:
        for data in ({}, {"csrf_token": "forged-token-value"}):
            response = client.post(url, data=data)
            assert response.status_code == 400, (endpoint, data)
            assert "mã bảo vệ" in response.get_data(as_text=True)
    # the session survived: nothing was done, not even logging out
    assert client.get("/admin/").status_code == 200


def test_login_without_csrf_token_is_refused(env: tuple) -> None:
    app, config, _ = env
    add_account(config, "lan", "staff")
    client = app.test_client()
    response = client.post("/admin/login", data={"username": "lan", "password": PASSWORD})
    assert response.status_code == 400
    assert "admin_session" not in response.headers.get("Set-Cookie", "")


def test_session_cookie_is_httponly_samesite_and_secure_over_https(env: tuple) -> None:
    app, config, _ = env
    add_account(config, "lan", "staff")
    plain = login(app.test_client(), "lan")
    cookie = [c for c in plain.headers.getlist("Set-Cookie") if c.startswith("admin_session=")][0]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/admin" in cookie
    assert "Secure" not in cookie
    https = app.test_client()
    page = https.get("/admin/login", base_url="https://console.example").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    secure = https.post(
        "/admin/login",
        base_url="https://console.example",
        data={"username": "lan", "password": PASSWORD, "csrf_token": token},
    )
    cookie = [c for c in secure.headers.getlist("Set-Cookie") if c.startswith("admin_session=")]
    assert cookie and "Secure" in cookie[0]


def test_passwords_are_stored_hashed(env: tuple) -> None:
    _, config, _ = env
    add_account(config, "lan", "staff")
    stored = admin_store.get_account(db_of(config), "lan")["password_hash"]
    assert PASSWORD not in stored and stored.startswith("scrypt:")


def test_wrong_password_is_refused_with_a_clear_message(env: tuple) -> None:
    app, config, _ = env
    add_account(config, "lan", "staff")
    response = login(app.test_client(), "lan", "sai-mat-khau-roi")
    assert response.status_code == 401
    assert "Tên đăng nhập hoặc mật khẩu không đúng" in response.get_data(as_text=True)


def test_login_attempts_are_limited_per_username_until_the_window_passes(env: tuple) -> None:
    app, config, clock = env
    add_account(config, "lan", "staff")
    client = app.test_client()
    for _ in range(config.admin.login_attempts_per_15min):
        assert login(client, "lan", "doan-mo-mat-khau").status_code == 401
    blocked = login(client, "lan")  # even the right password is refused now
    assert blocked.status_code == 429
    assert "chờ 15 phút" in blocked.get_data(as_text=True)
    clock.now += 15 * 60 + 1
    assert login(client, "lan").status_code == 302


def test_an_address_past_its_limit_stops_guessing_but_not_officers_without_failures(
    env: tuple,
) -> None:
    app, config, _ = env
    add_account(config, "lan", "staff")
    add_account(config, "mai", "staff")
    client = app.test_client()
    for n in range(config.admin.login_attempts_per_15min * 4):
        assert login(client, f"khong-co-{n}", "doan-mo-mat-khau").status_code == 401
    assert login(client, "khong-co-nua", "doan-mo-mat-khau").status_code == 429
    assert login(client, "lan", "sai-mat-khau-roi").status_code == 401  # its one try
    assert login(client, "lan").status_code == 429  # failed from here: locked
    assert login(client, "mai").status_code == 302  # no failure from here: welcome


def test_logout_ends_the_session_on_the_server(env: tuple) -> None:
    app, config, _ = env
    client = logged_in(app, config, "comms")
    cookie = client.get_cookie("admin_session", path="/admin").value
    token = csrf_of(client, "/admin/")
    assert client.post("/admin/logout", data={"csrf_token": token}).status_code == 302
    replay = app.test_client()
    replay.set_cookie("admin_session", cookie, path="/admin")
    assert replay.get("/admin/").status_code == 302


def test_sessions_expire_after_the_configured_hours(env: tuple) -> None:
    app, config, clock = env
    client = logged_in(app, config, "staff")
    clock.now += config.admin.session_hours * 3600 + 1
    assert client.get("/admin/").status_code == 302


def test_login_only_follows_local_next_addresses(env: tuple) -> None:
    app, config, _ = env
    add_account(config, "lan", "staff")
    client = app.test_client()
    token = csrf_of(client)
    response = client.post(
        "/admin/login",
        data={
            "username": "lan",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "https://evil.example/admin",
        },
    )
    assert response.headers["Location"] == "/admin/"


def test_locked_accounts_lose_their_sessions(env: tuple) -> None:
    app, config, _ = env
    admin = logged_in(app, config, "admin", "chief")
    staff = logged_in(app, config, "staff", "lan")
    token = csrf_of(admin, "/admin/accounts")
    admin.post("/admin/accounts/lan/lock", data={"csrf_token": token, "lock": "1"})
    assert staff.get("/admin/").status_code == 302
    assert login(app.test_client(), "lan").status_code == 401


def test_the_audit_log_records_who_did_what(env: tuple) -> None:
    app, config, _ = env
    add_account(config, "lan", "staff")
    login(app.test_client(), "lan", "sai-mat-khau-roi")
    admin = logged_in(app, config, "admin", "chief")
    token = csrf_of(admin, "/admin/accounts")
    admin.post(
        "/admin/accounts",
        data={
            "csrf_token": token,
            "username": "hoa",
            "password": "mot-mat-khau-dai",
            "role": "comms",
        },
    )
    rows = admin_store.recent_audit(db_of(config))
    actions = [(r["username"], r["action"]) for r in rows]
    assert (None, "login_failed") in actions
    assert ("chief", "login") in actions
    assert ("chief", "account_created") in actions
    page = admin.get("/admin/audit").get_data(as_text=True)
    assert "account_created" in page and "hoa role=comms" in page


def test_security_headers_forbid_framing_and_inline_scripts(env: tuple) -> None:
    app, config, _ = env
    client = logged_in(app, config, "admin")
    response = client.get("/admin/")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


def test_unknown_console_addresses_get_a_vietnamese_404_after_login(env: tuple) -> None:
    app, config, _ = env
    assert app.test_client().get("/admin/khong-co").status_code == 302
    response = logged_in(app, config, "staff").get("/admin/khong-co/trang-nay")
    assert response.status_code == 404
    assert "Không tìm thấy trang" in response.get_data(as_text=True)
