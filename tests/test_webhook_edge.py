"""The webhook's edge over real HTTP: poison events, unsigned garbage, a held write lock, echoes.

A correctly signed event is recorded and answered 200; the turn worker answers it afterwards
(with a polite reply when it is a text it cannot process), so Zalo never redelivers it for
hours; unsigned garbage is a 4xx without a traceback, because the signature is checked on the
raw bytes before any JSON parsing.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlite_utils
from werkzeug.serving import make_server

from bot import storage
from bot.config import Config
from bot.inbox.turn import POISON_REPLY, POISON_TEXT
from bot.inbox.worker import TurnWorker
from bot.kb.loader import load_kb
from bot.simulator import Simulator
from bot.simulator.webhook import user_text_event
from bot.web import create_app
from bot.zalo.signature import sign
from tests.fixtures_zalo import make_config

SHIPPED_KB = Path(__file__).resolve().parent.parent / "knowledge_base"


@dataclass
class Edge:
    sim: Simulator
    config: Config
    url: str
    db: sqlite_utils.Database
    session: requests.Session

    def post(self, raw: bytes, headers: dict[str, str] | None = None) -> requests.Response:
        """POST raw bytes to the webhook."""
        head = {"Content-Type": "application/json", **(headers or {})}
        return self.session.post(self.url, data=raw, headers=head, timeout=10)

    def post_signed(self, body: Any, timestamp: str = "1700000000000", **headers: str):
        """POST `body` (a dict, or raw bytes) signed the way Zalo signs."""
        raw = body if isinstance(body, bytes) else encode(body)
        mac = sign(self.sim.state.app_id, raw, timestamp, self.sim.state.oa_secret_key)
        return self.post(raw, {"X-ZEvent-Signature": "mac=" + mac, **headers})

    def count(self, sql: str, *params: Any) -> int:
        return self.db.execute(sql, params).fetchone()[0]

    def settled(self, user: str, timeout: float = 20.0) -> list[str]:
        """The statuses of `user`'s recorded events once the turn worker has answered them all."""
        deadline = time.monotonic() + timeout
        sql = "SELECT status FROM inbound_events WHERE user_id = ? ORDER BY id"
        while True:
            statuses = [r[0] for r in self.db.execute(sql, [user])]
            if "pending" not in statuses or time.monotonic() > deadline:
                return statuses
            time.sleep(0.02)

    def replies(self, user: str) -> list[dict[str, Any]]:
        """The payloads queued for `user`, in order."""
        sql = "SELECT payload FROM outbox WHERE user_id = ? ORDER BY id"
        return [json.loads(p) for (p,) in self.db.execute(sql, [user])]


def encode(body: Any) -> bytes:
    """JSON the way Zalo might send it; lone surrogates survive as \\udXXX escapes."""
    return json.dumps(body, ensure_ascii=True, separators=(",", ":")).encode()


class BrokenKB:
    """A knowledge base whose use fails: stands for any bug met while processing an event."""

    @property
    def current(self) -> Any:
        raise RuntimeError("knowledge base unusable")

    def status(self) -> dict[str, Any]:
        return {}


def serve(config: Config, sim: Simulator, **app_args: Any) -> Iterator[Edge]:
    app = create_app(config, **app_args)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    worker = TurnWorker(config, app.extensions["bot.live_kb"], threads=2).start()
    url = f"http://127.0.0.1:{server.server_port}{config.webhook.path}"
    with requests.Session() as session:
        yield Edge(sim, config, url, storage.connect(config.storage.database), session)
    worker.stop()
    server.shutdown()


@pytest.fixture
def edge(tmp_path, sim) -> Iterator[Edge]:
    yield from serve(make_config(tmp_path, sim), sim)


class BrokenIndex(BrokenKB):
    """A knowledge base whose texts read but whose use in a turn fails."""

    def __init__(self, path: Path) -> None:
        self.kb = load_kb(path)


@pytest.fixture
def broken(tmp_path, sim) -> Iterator[Edge]:
    yield from serve(make_config(tmp_path, sim), sim, live_kb=BrokenKB())


STAFF_APOLOGY = "Xin lỗi anh/chị, trợ lý vừa gặp trục trặc. Anh/chị gửi lại câu hỏi giúp trợ lý."


@pytest.fixture
def broken_index(tmp_path, sim) -> Iterator[Edge]:
    """A copy of the shipped knowledge base whose apology staff reworded, and an index that
    fails on every message."""
    kb = tmp_path / "kb"
    shutil.copytree(SHIPPED_KB, kb, ignore=shutil.ignore_patterns("suggestions"))
    texts = kb / "texts" / "dialogue.toml"
    lines = texts.read_text(encoding="utf-8").splitlines()
    reworded = [f'{POISON_TEXT} = "{STAFF_APOLOGY}"' if ln.startswith(POISON_TEXT) else ln
                for ln in lines]  # fmt: skip
    assert reworded != lines
    texts.write_text("\n".join(reworded) + "\n", encoding="utf-8")
    base = make_config(tmp_path, sim)
    config = dataclasses.replace(base, bot=dataclasses.replace(base.bot, knowledge_base=str(kb)))
    yield from serve(config, sim, live_kb=BrokenIndex(kb))


def text_event(edge: Edge, user: str, text: str, **message: Any) -> dict[str, Any]:
    body = user_text_event(edge.sim.state, user, text)
    body["timestamp"] = "1700000000000"
    body["message"].update(message)
    return body


def no_traceback(records: list[logging.LogRecord]) -> bool:
    return not [r for r in records if r.exc_info or r.levelno >= logging.ERROR]


# -- poison events -------------------------------------------------------------------------


def test_signed_text_with_a_lone_surrogate_is_recorded_and_answered(edge):
    body = text_event(edge, "s1", "Cho hỏi thủ tục khai sinh \ud800")
    first = edge.post_signed(body)
    again = edge.post_signed(body, num_retry="1")
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json()["status"] == "recorded" and again.json()["status"] == "duplicate"
    assert edge.settled("s1") == ["done"] and edge.replies("s1")
    assert edge.count("SELECT count(*) FROM inbound_events WHERE user_id = 's1'") == 1
    stored = edge.db.execute("SELECT text FROM inbound_events").fetchone()[0]
    assert stored.startswith("Cho hỏi thủ tục khai sinh") and "\ufffd" in stored


@pytest.mark.parametrize("attachments", [5, True, False, 0, "ảnh", {"type": "image"}])
def test_signed_image_with_attachments_not_a_list_is_answered(edge, attachments):
    body = text_event(edge, "s2", "", attachments=attachments)
    body["event_name"] = "user_send_image"
    response = edge.post_signed(body)
    assert response.status_code == 200 and response.json()["status"] == "recorded"
    assert edge.post_signed(body).json()["status"] == "duplicate"
    assert edge.settled("s2") == ["done"] and len(edge.replies("s2")) == 1


def test_a_signed_event_that_fails_processing_gets_a_polite_reply_once(broken):
    body = text_event(broken, "s3", "Cho hỏi thủ tục khai sinh")
    first = broken.post_signed(body)
    again = broken.post_signed(body, num_retry="1")
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json() == {"status": "recorded"} and again.json() == {"status": "duplicate"}
    assert broken.settled("s3") == ["poison"]
    payloads = [json.loads(p) for (p,) in broken.db.execute("SELECT payload FROM outbox")]
    assert payloads == [{"text": POISON_REPLY}]  # no knowledge base reads: the default
    assert "anh/chị" in POISON_REPLY and "bạn" not in POISON_REPLY


def test_the_polite_reply_is_the_text_staff_wrote_in_the_knowledge_base(broken_index):
    assert broken_index.post_signed(text_event(broken_index, "s4", "khai sinh")).status_code == 200
    assert broken_index.settled("s4") == ["poison"]
    assert broken_index.replies("s4") == [{"text": STAFF_APOLOGY}]


def test_the_default_apology_is_the_shipped_knowledge_base_text():
    assert load_kb(SHIPPED_KB).text(POISON_TEXT) == POISON_REPLY


@pytest.mark.parametrize(
    "raw",
    [
        b'{"timestamp":"1700000000000","hello":"world"}',
        b'{"timestamp":"1700000000000","event_name":{"x":1}}',
        b'{"timestamp":"1700000000000","event_name":"user_send_text","sender":{"id":[1]}}',
        b'{"timestamp":"1700000000000","a":' + b"[" * 5000 + b"]" * 5000 + b"}",
        b'{"timestamp":"1700000000000","n":' + b"9" * 4301 + b"}",
    ],
)
def test_a_signed_body_that_is_not_an_event_is_recorded_once_and_200(edge, raw):
    assert edge.post_signed(raw).json()["status"] == "unreadable"
    assert edge.post_signed(raw).status_code == 200
    assert edge.count("SELECT count(*) FROM inbound_events") == 1


# -- unsigned garbage ------------------------------------------------------------------------


GARBAGE = {
    "nested": b'{"timestamp":"1700000000000","a":' + b"[" * 1000 + b"]" * 1000 + b"}",
    "nested_no_timestamp": b"[" * 100_000 + b"]" * 100_000,
    "huge_int": b'{"timestamp":"1700000000000","n":' + b"1" * 4301 + b"}",
    "huge_int_timestamp": b'{"timestamp":' + b"7" * 4301 + b"}",
    "surrogate_timestamp": b'{"event_name":"follow","timestamp":"\\ud800"}',
    "not_utf8": b'{"timestamp":"1700000000000","t":"\xff\xfe"}',
}


@pytest.mark.parametrize("name", sorted(GARBAGE))
@pytest.mark.parametrize("signature", ["mac=" + "0" * 64, "mac=zz", "\u00e9"])
def test_unsigned_garbage_is_4xx_without_a_traceback(edge, caplog, name, signature):
    caplog.set_level(logging.DEBUG)
    headers = {"X-ZEvent-Signature": signature.encode("latin-1").decode("latin-1")}
    response = edge.post(GARBAGE[name], headers)
    assert 400 <= response.status_code < 500
    assert response.headers["Content-Type"].startswith("application/json")
    assert no_traceback(caplog.records)
    assert edge.count("SELECT count(*) FROM inbound_events") == 0


# -- a writer holding the lock ---------------------------------------------------------------


def test_a_writer_holding_the_lock_makes_events_503_after_the_bounded_wait(edge):
    holder = storage.connect(edge.config.storage.database)
    with storage.transaction(holder):
        started = time.monotonic()
        response = edge.post_signed(text_event(edge, "s4", "xin chào"))
        waited = time.monotonic() - started
    assert response.status_code == 503 and response.json()["error"]["code"] == "retry_later"
    wait = edge.config.webhook.lock_wait_seconds
    assert wait <= waited < wait + 2
    retried = edge.post_signed(text_event(edge, "s4", "xin chào"), num_retry="1")
    assert retried.status_code == 200 and retried.json()["status"] == "recorded"
    assert edge.settled("s4") == ["done"] and edge.replies("s4")


# -- echoes ----------------------------------------------------------------------------------


def test_an_echo_without_text_whose_id_is_unknown_does_not_silence_the_bot(edge):
    echo = {
        "app_id": edge.sim.state.app_id,
        "event_name": "oa_send_image",
        "sender": {"id": edge.sim.state.oa_id},
        "recipient": {"id": "s5"},
        "message": {"msg_id": "not-yet-recorded", "attachments": [{"type": "image"}]},
        "timestamp": "1700000000000",
    }
    assert edge.post_signed(echo).json() == {"status": "echo"}
    response = edge.post_signed(text_event(edge, "s5", "Cho hỏi thủ tục khai sinh"))
    assert response.json()["status"] == "recorded"
    assert edge.settled("s5") == ["done"] and "khai sinh" in str(edge.replies("s5")).lower()


def test_an_echo_carrying_an_admin_id_still_silences_the_bot(edge):
    echo = {
        "app_id": edge.sim.state.app_id,
        "event_name": "oa_send_image",
        "sender": {"id": edge.sim.state.oa_id, "admin_id": "staff-1"},
        "recipient": {"id": "s6"},
        "message": {"msg_id": "staff-image", "attachments": [{"type": "image"}]},
        "timestamp": "1700000000000",
    }
    assert edge.post_signed(echo).json()["status"] == "recorded"
    assert edge.post_signed(text_event(edge, "s6", "xin chào")).json()["status"] == "recorded"
    assert edge.settled("s6") == ["done", "done"] and edge.replies("s6") == []
    assert edge.count("SELECT count(*) FROM turns WHERE kind = 'silenced' AND user_id = 's6'") == 1
