"""End to end over real HTTP: simulator -> signed webhook -> turn worker -> outbox -> simulator.

The webhook app is served by werkzeug on 127.0.0.1, the turn worker answers as threads beside
it; the sender runs as threads, or as a real subprocess (`python -m bot sender`) for the kill -9
test.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import sqlite_utils
from werkzeug.serving import make_server

from bot import storage
from bot.config import Config
from bot.inbox.worker import TurnWorker
from bot.outbox.delivery import Sender, message_parts
from bot.simulator import Simulator
from bot.simulator.webhook import echo_event, signed, user_text_event
from bot.web import create_app
from tests.fixtures_zalo import make_config, write_toml
from tests.test_zalo import GOOD, RAW

ROOT = Path(__file__).resolve().parents[1]
WRONG = {
    "hmac": "a81114ccbca6338ad4e345c3985b887e60a65a54f2e56282cdb93969af4dbd86",
    "reserialised": "b331b88a45fd05cfb617bcacdbde6b4e14f2a2bb925957311b2a59986072b8ab",
    "oa_id_first": "bfdb588d1db4b9d2d0587348f41f7f3f331bce6e28dc959249808fdec83191b7",
}


@dataclass
class Pipeline:
    sim: Simulator
    config: Config
    url: str
    db: sqlite_utils.Database


@pytest.fixture
def pipeline(tmp_path, sim):
    config = make_config(tmp_path, sim)
    app = create_app(config)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    worker = TurnWorker(config, app.extensions["bot.live_kb"], threads=2).start()
    url = f"http://127.0.0.1:{server.server_port}{config.webhook.path}"
    sim.set_webhook(url)
    yield Pipeline(sim, config, url, storage.connect(config.storage.database))
    worker.stop()
    server.shutdown()


@pytest.fixture
def sender(pipeline):
    running = Sender(pipeline.config, workers=2).start()
    yield running
    running.stop()


def post(pipeline, raw: bytes, signature: str | None, **headers):
    if signature is not None:
        headers["X-ZEvent-Signature"] = signature
    headers.setdefault("Content-Type", "application/json")
    return requests.post(pipeline.url, data=raw, headers=headers, timeout=5)


def wait_until(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def unanswered(db) -> int:
    row = db.execute("SELECT count(*) FROM inbound_events WHERE status = 'pending'")
    return row.fetchone()[0]


def unfinished(db) -> int:
    row = db.execute("SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')")
    return row.fetchone()[0]


def expected_sends(db, config) -> collections.Counter:
    """Every (user, text) Zalo must have received once, from the outbox rows."""
    wanted: collections.Counter = collections.Counter()
    for row in db.query("SELECT user_id, payload FROM outbox WHERE channel = 'cs'"):
        for text, _ in message_parts(json.loads(row["payload"]), config.zalo.buttons):
            wanted[(row["user_id"], text)] += 1
    return wanted


def delivered_sends(sim) -> collections.Counter:
    return collections.Counter((m["user_id"], m["text"]) for m in sim.delivered())


def assert_exactly_once(pipeline):
    db, sim = pipeline.db, pipeline.sim
    assert wait_until(lambda: unanswered(db) == 0), "recorded events were not answered"
    assert wait_until(lambda: unfinished(db) == 0), "outbox did not drain"
    statuses = dict(db.execute("SELECT status, count(*) FROM outbox GROUP BY 1").fetchall())
    assert set(statuses) == {"sent"}, statuses
    assert delivered_sends(sim) == expected_sends(db, pipeline.config)


# -- signature, parsing, limits ------------------------------------------------------------


def test_signature_vector_is_accepted_and_answered(pipeline, sender):
    response = post(pipeline, RAW, "mac=" + GOOD)
    assert response.status_code == 200
    assert wait_until(lambda: pipeline.sim.delivered("246845883529197922"))


@pytest.mark.parametrize("variant", sorted(WRONG))
def test_wrong_signature_variants_are_403(pipeline, variant):
    response = post(pipeline, RAW, "mac=" + WRONG[variant])
    assert response.status_code == 403
    assert pipeline.db.execute("SELECT count(*) FROM inbound_events").fetchone()[0] == 0


def test_missing_signature_is_403(pipeline):
    assert post(pipeline, RAW, None).status_code == 403


def test_oversized_body_is_413(pipeline):
    body = user_text_event(pipeline.sim.state, "u1", "x" * 70_000)
    raw, headers = signed(pipeline.sim.state, body)
    response = requests.post(pipeline.url, data=raw, headers=headers, timeout=5)
    assert response.status_code == 413


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"[]", b'{"timestamp": "1"}', b"\xff\xfe", b'{"event_name": 5}', b""],
)
def test_malformed_bodies_are_400_never_500(pipeline, raw):
    response = post(pipeline, raw, "mac=" + "0" * 64)
    assert response.status_code in (400, 403)
    assert response.headers["Content-Type"].startswith("application/json")


def test_signed_body_that_is_not_an_event_is_recorded_and_200(pipeline):
    # Zalo signed it: an error would only make Zalo redeliver the same bytes for hours.
    body = {"timestamp": "1700000000000", "hello": "world"}
    raw, headers = signed(pipeline.sim.state, {**body})
    response = requests.post(pipeline.url, data=raw, headers=headers, timeout=5)
    assert response.status_code == 200 and response.json()["status"] == "unreadable"


# -- events --------------------------------------------------------------------------------


def test_duplicate_delivery_is_ignored(pipeline, sender):
    body = user_text_event(pipeline.sim.state, "u1", "Cho hỏi thủ tục khai sinh")
    raw, headers = signed(pipeline.sim.state, body)
    first = requests.post(pipeline.url, data=raw, headers=headers, timeout=5)
    again = requests.post(pipeline.url, data=raw, headers={**headers, "num_retry": "1"}, timeout=5)
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json()["status"] == "recorded" and again.json()["status"] == "duplicate"
    assert_exactly_once(pipeline)
    replies = pipeline.db.execute("SELECT count(*) FROM outbox WHERE user_id = 'u1'").fetchone()[0]
    assert replies >= 1 and len(pipeline.sim.delivered("u1")) >= replies
    time.sleep(0.3)  # a second reply would have had time to go out
    assert_exactly_once(pipeline)


def test_echo_is_ignored(pipeline, sender):
    message = {"user_id": "u2", "message_id": "m-echo-1", "sent_time": "1700000000000"}
    body = echo_event(pipeline.sim.state, {**message, "text": "Tin do OA gửi"})
    raw, headers = signed(pipeline.sim.state, body)
    response = requests.post(pipeline.url, data=raw, headers=headers, timeout=5)
    # Not a text the bot sent: recorded as staff's (it silences the bot), never answered.
    assert response.status_code == 200 and response.json()["status"] == "recorded"
    time.sleep(0.3)
    assert pipeline.sim.delivered("u2") == []


def test_follow_is_greeted_with_the_main_menu(pipeline, sender):
    assert pipeline.sim.user_follows("u3") == 200
    assert wait_until(lambda: pipeline.sim.delivered("u3"))
    welcome = pipeline.sim.delivered("u3")[0]
    assert welcome["text"] and welcome["buttons"]


def test_own_echoes_do_not_silence_the_bot(pipeline, sender):
    sim = pipeline.sim
    sim.user_follows("u4")
    assert wait_until(lambda: sim.delivered("u4"))
    time.sleep(0.3)  # the welcome's oa_send_text echo reaches the webhook
    sim.user_says("u4", "Cho hỏi thủ tục khai sinh")
    assert wait_until(lambda: len(sim.delivered("u4")) >= 2)


# -- failures and recovery -----------------------------------------------------------------


def test_send_api_outage_then_recovery_delivers_every_reply_exactly_once(pipeline, sender):
    sim = pipeline.sim
    sim.outage(count=15)  # the next 15 API calls fail, whenever the turns get answered
    for n in range(20):
        assert sim.user_says(f"o{n % 10}", ["khai sinh", "tạm trú", "xin chào"][n % 3]) == 200
    assert_exactly_once(pipeline)
    retried = pipeline.db.execute("SELECT max(attempts) FROM outbox").fetchone()[0]
    assert retried >= 1


def test_dropped_connections_then_recovery_deliver_exactly_once(pipeline, sender):
    pipeline.sim.outage(count=15, mode="close")
    for n in range(10):
        pipeline.sim.user_says(f"c{n}", "đăng ký kết hôn")
    assert_exactly_once(pipeline)


def test_expired_token_is_refreshed_once_and_the_message_delivered(pipeline, sender):
    sim = pipeline.sim
    sim.user_says("t1", "xin chào")
    assert wait_until(lambda: sim.delivered("t1"))
    assert sim.refresh_count == 1
    sim.expire_tokens()
    sim.user_says("t1", "thủ tục khai sinh")
    assert_exactly_once(pipeline)
    assert sim.refresh_count == 2


# -- kill -9 -------------------------------------------------------------------------------


def start_sender_process(config_path: Path) -> subprocess.Popen:
    env = {**os.environ, "BOT_CONFIG": str(config_path), "PYTHONPATH": str(ROOT)}
    log = open(config_path.with_name("sender.log"), "ab")  # noqa: SIM115 (kept by the child)
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "sender", "--workers", "2"],
        cwd=str(ROOT),
        env=env,
        stdout=log,
        stderr=log,
    )


@pytest.mark.slow
def test_kill_9_of_the_sender_mid_queue_then_restart_loses_and_duplicates_nothing(
    pipeline, tmp_path
):
    sim, db = pipeline.sim, pipeline.db
    config_path = write_toml(pipeline.config, tmp_path / "config.toml")
    questions = ["khai sinh", "đăng ký tạm trú", "xin chào", "kết hôn cần gì", "cảm ơn"]
    for n in range(150):
        assert sim.user_says(f"k{n % 40}", questions[n % len(questions)]) == 200
    assert wait_until(lambda: unanswered(db) == 0, timeout=60)
    total = sum(expected_sends(db, pipeline.config).values())
    sim.slow(0.004)  # each send takes a few ms, so kills land mid-send
    for fraction in (0.2, 0.45, 0.7):
        process = start_sender_process(config_path)
        reached = wait_until(lambda f=fraction: len(sim.delivered()) >= f * total, timeout=30)
        assert reached, "sender made no progress"
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    in_flight = unfinished(db)
    assert in_flight > 0  # the kills really left work behind
    process = start_sender_process(config_path)
    try:
        assert_exactly_once(pipeline)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(10)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_run_local_serves_a_chat_page_where_a_citizen_gets_answers(tmp_path):
    port, sim_port = free_port(), free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run-local", "--dir", str(tmp_path / "local")]
        + ["--port", str(port), "--sim-port", str(sim_port)],
        cwd=str(ROOT),
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        banner = ""
        while "Trò chuyện thử như người dân" not in banner:
            line = process.stdout.readline()
            assert line, "run-local exited before printing the chat URL"
            banner += line
        chat = f"http://127.0.0.1:{sim_port}"
        assert chat + "/" in banner
        assert "Trò chuyện" in requests.get(chat + "/", timeout=5).text
        follow = requests.post(chat + "/_sim/chat/follow", json={"user_id": "900"}, timeout=5)
        said = requests.post(
            chat + "/_sim/chat/send", json={"user_id": "900", "text": "khai sinh"}, timeout=5
        )
        assert follow.json()["webhook_status"] == said.json()["webhook_status"] == 200

        def bot_replies():
            thread = requests.get(f"{chat}/_sim/chat/messages?user_id=900", timeout=5).json()
            return [m for m in thread["messages"] if m["from"] == "oa"]

        assert wait_until(lambda: len(bot_replies()) >= 2, timeout=20)
        assert bot_replies()[0]["buttons"]
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0


def test_a_thumbs_down_offers_other_topics_and_a_tap_reaches_staff(pipeline, sender):
    """Over real HTTP: an answer, 👎 (a button click arrives as its payload's text), the other
    topics and "Gặp cán bộ" come back as buttons, and tapping it flags the conversation."""
    sim, db = pipeline.sim, pipeline.db
    sim.user_says("u9", "khai sinh mất bao lâu")
    assert wait_until(lambda: len(sim.delivered("u9")) >= 1)
    sim.user_says("u9", "#rate:khai-sinh:0")
    assert wait_until(lambda: len(sim.delivered("u9")) >= 2)
    offered = [b["payload"] for b in sim.delivered("u9")[-1]["buttons"]]
    assert offered[-1] == "#staff" and len(offered) >= 2
    assert all(p.startswith("#section:") and p.endswith(":duration") for p in offered[:-1])
    sim.user_says("u9", "#staff")
    assert wait_until(lambda: len(sim.delivered("u9")) >= 3)
    row = db.execute("SELECT handover FROM conversations WHERE user_id = 'u9'").fetchone()
    assert row == (1,)
    assert_exactly_once(pipeline)
