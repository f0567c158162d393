"""Console lockout over real HTTP: per account and per address, proxy-aware, atomic, bounded.

Each test serves the real app on 127.0.0.1 and logs in through the form with `requests`.
Addresses in X-Forwarded-For are documentation addresses (RFC 5737): only header text.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator

import pytest
import requests

from bot import storage
from tests import admin_support
from tests.admin_support import PASSWORD, Clock, add_account
from tests.http_support import console_login, csrf, serving
from tests.test_privacy_edge import rows_mentioning

ATTACKER = "203.0.113.7"
OFFICE = "198.51.100.2"


@pytest.fixture
def console(tmp_path) -> Iterator[tuple[str, object, Clock]]:
    clock = Clock()
    config = admin_support.make_config(tmp_path)
    add_account(config, "lan", "staff")
    add_account(config, "mai", "staff")
    with serving(admin_support.make_app(config, clock)) as base:
        yield base, config, clock


@pytest.fixture
def proxied(tmp_path) -> Iterator[tuple[str, object, Clock]]:
    clock = Clock()
    config = admin_support.make_config(tmp_path)
    config = dataclasses.replace(config, webhook=dataclasses.replace(config.webhook, proxy_hops=1))
    add_account(config, "lan", "staff")
    add_account(config, "mai", "staff")
    with serving(admin_support.make_app(config, clock)) as base:
        yield base, config, clock


def attempt(base: str, username: str, password: str = PASSWORD, via: str = "") -> int:
    headers = {"X-Forwarded-For": via} if via else {}
    with requests.Session() as session:
        return console_login(session, base, username, password, **headers).status_code


def test_concurrent_wrong_passwords_get_exactly_the_limit_of_tries(console):
    base, config, _ = console
    limit = config.admin.login_attempts_per_15min
    with requests.Session() as session:
        token = csrf(session, base + "/admin/login")
        cookies = session.cookies.get_dict()
    statuses: list[int] = []
    start = threading.Barrier(4 * limit)

    def guess(n: int) -> None:
        form = {"username": "lan", "password": f"doan-thu-{n}", "csrf_token": token}
        start.wait()
        response = requests.post(
            base + "/admin/login", data=form, cookies=cookies, allow_redirects=False, timeout=60
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(4 * limit)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    assert statuses.count(401) == limit, sorted(statuses)
    assert statuses.count(429) == 3 * limit
    assert attempt(base, "lan") == 429  # the right password too, from this address


def test_behind_the_proxy_one_address_is_locked_and_the_office_is_not(proxied):
    base, config, clock = proxied
    limit = config.admin.login_attempts_per_15min
    for n in range(4 * limit):
        assert attempt(base, f"khong-co-{n}", "doan", via=ATTACKER) == 401
    for _ in range(limit):
        assert attempt(base, "lan", "doan-mat-khau", via=ATTACKER) in (401, 429)
    assert attempt(base, "khong-co", "doan", via=ATTACKER) == 429
    assert attempt(base, "lan", via=ATTACKER) == 429
    assert attempt(base, "lan", via=OFFICE) == 302
    assert attempt(base, "mai", via=OFFICE) == 302
    clock.now += 15 * 60 + 1
    assert attempt(base, "lan", via=ATTACKER) == 302


def test_without_proxy_hops_anonymous_floods_do_not_lock_out_the_staff(console):
    base, config, _ = console
    for n in range(4 * config.admin.login_attempts_per_15min + 5):
        assert attempt(base, f"khong-co-{n}", "doan") in (401, 429)
    assert attempt(base, "lan") == 302
    assert attempt(base, "mai") == 302


def test_an_account_guessed_from_many_addresses_is_locked_everywhere(proxied):
    base, config, _ = proxied
    limit = config.admin.login_attempts_per_15min
    for machine in range(4):
        for _ in range(limit):
            assert attempt(base, "lan", "doan", via=f"192.0.2.{machine + 1}") == 401
    assert attempt(base, "lan", via=OFFICE) == 429
    assert attempt(base, "mai", via=OFFICE) == 302


def test_anonymous_posts_leave_a_bounded_trace_and_no_typed_name(console):
    base, config, _ = console
    db = storage.connect(config.storage.database)
    typed = "MatKhauGoNhamO-Ten-2026"  # a password typed in the username field
    assert attempt(base, typed, "x") == 401
    for n in range(150):
        attempt(base, f"ten-ngau-nhien-{n}", "doan")
    audit_rows = db.execute("SELECT count(*) FROM admin_audit").fetchone()[0]
    counters = db.execute("SELECT count(*) FROM login_throttle").fetchone()[0]
    assert audit_rows <= 2 and counters == 1
    assert rows_mentioning(db, typed) == []
    assert rows_mentioning(db, "ten-ngau-nhien") == []
