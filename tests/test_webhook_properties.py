"""Property: whatever body reaches the webhook, signed or not, the answer is never a 5xx.

Signed bodies are built from Zalo's envelope with any JSON value (lone surrogates, huge numbers,
deep nesting, wrong types) in any field; unsigned ones are arbitrary bytes or JSON with a wrong
or missing signature. Unsigned input must also never log an error or a traceback. Runs 2,000
examples per property when CI=true, 150 otherwise.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.serving import make_server

from bot.config import Config, StorageConfig, ZaloConfig
from bot.web import create_app
from bot.zalo.signature import sign
from tests.fixtures_zalo import APP_ID, OA_ID, OA_SECRET

EXAMPLES = 2000 if os.environ.get("CI") == "true" else 150
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
NAMES = ["user_send_text", "user_send_image", "oa_send_text", "follow", "user_withdraw", "x"]


class Records(logging.Handler):
    """Keeps every log record emitted while the server runs."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[requests.Session, str, Records]]:
    folder = tmp_path_factory.mktemp("props")
    zalo = ZaloConfig(app_id=APP_ID, oa_id=OA_ID, oa_secret_key=OA_SECRET, app_secret="x")
    config = Config(zalo=zalo, storage=StorageConfig(database=str(folder / "bot.db")))
    httpd = make_server("127.0.0.1", 0, create_app(config), threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    records = Records()
    root = logging.getLogger()
    root.addHandler(records)
    level = root.level
    root.setLevel(logging.DEBUG)
    with requests.Session() as session:
        yield session, f"http://127.0.0.1:{httpd.server_port}{config.webhook.path}", records
    root.removeHandler(records)
    root.setLevel(level)
    httpd.shutdown()


SURROGATES = st.sampled_from(["\ud800", "\udfff", "a\udc00b", "\ud83d"])
TEXT = st.one_of(st.text(max_size=40), SURROGATES, st.text(max_size=5).map(lambda t: t + "\ud800"))
SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**30, max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
)
VALUE = st.recursive(
    SCALAR,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
DEEP = st.integers(min_value=1, max_value=3000).map(lambda n: "[" * n + "]" * n)


@st.composite
def envelopes(draw: Any) -> bytes:
    """Zalo's event envelope with any field replaced by any JSON value (or left out)."""
    body: dict[str, Any] = {
        "app_id": APP_ID,
        "event_name": draw(st.sampled_from(NAMES) | TEXT),
        "sender": {"id": draw(st.sampled_from(["u1", "u2", OA_ID]) | VALUE)},
        "recipient": {"id": OA_ID},
        "message": {
            "msg_id": draw(st.text("abc123", min_size=1, max_size=8) | VALUE),
            "text": draw(st.sampled_from(["khai sinh", "xin chào", ""]) | TEXT | VALUE),
            "attachments": draw(VALUE),
        },
        "timestamp": "1700000000000",
    }
    for key in draw(st.lists(st.sampled_from(["sender", "message", "recipient", "app_id"]))):
        body[key] = draw(VALUE)
    raw = json.dumps(body, ensure_ascii=draw(st.booleans()), separators=(",", ":"))
    if draw(st.booleans()):
        raw = raw[:-1] + ',"x":' + draw(DEEP | st.just("9" * 4301)) + "}"
    return raw.encode("utf-8", "surrogatepass")


def signature(raw: bytes, timestamp: str = "1700000000000") -> str:
    return "mac=" + sign(APP_ID, raw, timestamp, OA_SECRET)


def post(session: requests.Session, url: str, raw: bytes, mac: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if mac is not None:
        headers["X-ZEvent-Signature"] = mac
    return session.post(url, data=raw, headers=headers, timeout=30).status_code


@PROPERTY
@given(raw=envelopes())
def test_signed_bodies_are_never_a_5xx(server, raw):
    session, url, _ = server
    status = post(session, url, raw, signature(raw))
    assert status == 200 or 400 <= status < 500, status


UNSIGNED = st.one_of(
    st.binary(max_size=300),
    envelopes(),
    DEEP.map(str.encode),
    st.just(b'{"event_name":"follow","timestamp":"\\ud800"}'),
    st.just(b'{"timestamp":' + b"1" * 4301 + b"}"),
)
LATIN1 = st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f")
MACS = st.one_of(
    st.none(),
    st.just("mac=" + "0" * 64),
    st.text(LATIN1, max_size=70).map(lambda t: "m" + t),
)


@PROPERTY
@given(raw=UNSIGNED, mac=MACS)
def test_unsigned_bodies_are_4xx_without_an_error_logged(server, raw, mac):
    session, url, records = server
    records.records.clear()
    status = post(session, url, raw, mac)
    assert 400 <= status < 500, status
    logged = [r for r in records.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not logged, [r.getMessage() for r in logged]
