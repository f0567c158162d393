"""The turn worker: recorded events answered once each, one citizen's in order, after a crash too.

The webhook app is served by werkzeug on 127.0.0.1 and records; the turn worker is the real
scheduler process (`python scheduler.py`, which also delivers the outbox to the simulator), or
threads of this process for the claim rules and the knowledge-base reload.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from werkzeug.serving import make_server

from bot import storage
from bot.config import Config
from bot.kb.live import LiveKB
from bot.outbox.delivery import message_parts
from bot.simulator.webhook import signed, user_text_event
from bot.storage import inbox as store
from bot.storage import transaction
from bot.web import create_app
from tests.fixtures_zalo import make_config, write_toml

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ["khai sinh", "đăng ký tạm trú", "xin chào", "kết hôn cần gì", "cảm ơn"]


def wait_until(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def count(db, sql: str, *params) -> int:
    return db.execute(sql, params).fetchone()[0]


def record(db, key: str, user: str, now: float) -> int:
    with transaction(db):
        row = store.record(db, key, {"name": "user_send_text", "user_id": user}, 0, now)
    assert row is not None
    return row


# -- claims ----------------------------------------------------------------------------------


def test_a_citizens_next_event_waits_while_an_earlier_one_is_claimed(tmp_path):
    db = storage.connect(tmp_path / "bot.db")
    first = record(db, "a1", "anh", 100.0)
    second = record(db, "a2", "anh", 100.0)
    other = record(db, "b1", "binh", 100.0)
    taken = [r["id"] for r in store.claim(db, "w1", 101.0, 10, 30.0)]
    assert taken == [first, other]  # the second of anh waits for the first
    assert store.claim(db, "w2", 102.0, 10, 30.0) == []  # claims are live: nothing for w2
    with transaction(db):
        assert store.finish(db, first, "w1", "done", 103.0)
    assert [r["id"] for r in store.claim(db, "w2", 104.0, 10, 30.0)] == [second]


def test_a_lapsed_claim_is_retaken_and_the_old_holder_cannot_finish(tmp_path):
    db = storage.connect(tmp_path / "bot.db")
    event = record(db, "a1", "anh", 100.0)
    assert [r["id"] for r in store.claim(db, "w1", 100.0, 10, 30.0)] == [event]
    assert store.claim(db, "w2", 129.0, 10, 30.0) == []
    assert [r["id"] for r in store.claim(db, "w2", 131.0, 10, 30.0)] == [event]
    with transaction(db):
        assert not store.finish(db, event, "w1", "done", 132.0)  # w1 lost it: no double turn
        assert store.finish(db, event, "w2", "done", 132.0)


# -- kill -9 of the turn worker ----------------------------------------------------------------


def start_scheduler(config_path: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "BOT_CONFIG": str(config_path), "PYTHONPATH": str(ROOT)}
    env["BOT_SEMANTIC"] = "0"  # words alone: the crash, not the model, is under test here
    return subprocess.Popen(
        [sys.executable, "scheduler.py"],
        cwd=str(ROOT),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )


@pytest.fixture
def recording(tmp_path, sim):
    """The webhook app alone (no turn worker in this process), the simulator posting to it."""
    config = make_config(tmp_path, sim)
    server = make_server("127.0.0.1", 0, create_app(config), threaded=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    sim.set_webhook(f"http://127.0.0.1:{server.server_port}{config.webhook.path}")
    yield config
    sim.set_webhook("")
    server.shutdown()


def expected_sends(db, config: Config) -> collections.Counter:
    wanted: collections.Counter = collections.Counter()
    for row in db.query("SELECT user_id, payload FROM outbox"):
        for text, _ in message_parts(json.loads(row["payload"]), config.zalo.buttons):
            wanted[(row["user_id"], text)] += 1
    return wanted


@pytest.mark.slow
def test_kill_9_of_the_turn_worker_mid_burst_then_restart_answers_each_event_once_in_order(
    recording, sim, tmp_path
):
    config = recording
    db = storage.connect(config.storage.database)
    config_path = write_toml(config, tmp_path / "config.toml")
    log = tmp_path / "scheduler.log"
    citizens, per_citizen = 12, 12
    total = citizens * per_citizen
    answered = "SELECT count(*) FROM inbound_events WHERE status = 'done'"
    process = start_scheduler(config_path, log)
    posted = 0
    try:
        # One answer delivered first: the scheduler then holds Zalo's rotated token (a kill in
        # the middle of the very first token refresh would lose it; that is not under test).
        assert sim.user_says("w0", "xin chào") == 200
        assert sim.wait_for(1, timeout=60, user_id="w0"), log.read_text()
        total += 1
        for n in range(total - 1):
            assert sim.user_says(f"c{n % citizens}", QUESTIONS[n // citizens % 5]) == 200
            posted += 1
            if posted == total // 3:  # the worker is answering the burst: kill it mid-way
                assert wait_until(lambda: count(db, answered) >= 10, 60), log.read_text()
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
        left = count(db, "SELECT count(*) FROM inbound_events WHERE status = 'pending'")
        assert left > 0  # the kill really left recorded events unanswered
        process = start_scheduler(config_path, log)
        assert wait_until(lambda: count(db, answered) == total, 90), log.read_text()
        unfinished = "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')"
        outbox = "SELECT status, count(*), max(attempts), max(doubt_checks) FROM outbox GROUP BY 1"
        assert wait_until(lambda: count(db, unfinished) == 0, 90), db.execute(outbox).fetchall()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(20)
    # exactly one turn per recorded event, and its replies delivered exactly once
    turns = "SELECT count(*), count(DISTINCT inbound_id) FROM turns"
    assert db.execute(turns).fetchone() == (total, total)
    delivered = collections.Counter((m["user_id"], m["text"]) for m in sim.delivered())
    assert delivered == expected_sends(db, config)
    # each citizen's events answered in the order they were recorded
    for n in range(citizens):
        order = [
            r[0]
            for r in db.execute(
                "SELECT t.inbound_id FROM turns t WHERE t.user_id = ? ORDER BY t.id", [f"c{n}"]
            )
        ]
        assert order == sorted(order) and len(order) == per_citizen


# -- the knowledge base reloads off the request path -------------------------------------------


def test_a_knowledge_base_edit_never_delays_a_webhook_request(tmp_path, sim, shipped_index):
    kb = tmp_path / "kb"
    shutil.copytree(ROOT / "knowledge_base", kb, ignore=shutil.ignore_patterns("suggestions"))
    building, release = threading.Event(), threading.Event()
    builds = []

    def slow_build(loaded):
        """The build of an edit, held until the test has posted its events."""
        builds.append(loaded)
        if len(builds) > 1:  # the first load (at start) goes through
            building.set()
            release.wait(30)
        return shipped_index

    live = LiveKB(kb, slow_build, reload_seconds=0.1)
    live.watch()
    config = make_config(tmp_path, sim)
    server = make_server("127.0.0.1", 0, create_app(config, live_kb=live), threaded=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}{config.webhook.path}"
    try:
        topic = next((kb / "topics").glob("*.toml"))
        topic.write_text(topic.read_text(encoding="utf-8") + "\n# sửa\n", encoding="utf-8")
        assert building.wait(10), "the watcher did not notice the edit by itself"
        for n in range(20):
            raw, headers = signed(sim.state, user_text_event(sim.state, f"k{n}", "khai sinh"))
            response = requests.post(url, data=raw, headers=headers, timeout=5)
            assert response.status_code == 200 and response.json()["status"] == "recorded"
        assert live.status()["reloads"] == 1  # all answered while the rebuild was still going
        release.set()
        assert wait_until(lambda: live.status()["reloads"] == 2, 30)
    finally:
        release.set()
        server.shutdown()


@pytest.mark.slow
def test_under_gunicorns_gevent_worker_events_are_acknowledged_while_an_edit_is_rebuilt(
    tmp_path, sim
):
    """The deployed server: a gevent worker, whose threads are greenlets. The knowledge base is
    rebuilt in a real thread, so events and health checks are answered during the rebuild."""
    from tests.test_slow_clients import free_port, start_gunicorn, wait_ready

    kb = tmp_path / "kb"
    shutil.copytree(ROOT / "knowledge_base", kb, ignore=shutil.ignore_patterns("suggestions"))
    base_config = make_config(tmp_path, sim)
    config = dataclasses.replace(
        base_config, bot=dataclasses.replace(base_config.bot, knowledge_base=str(kb))
    )
    config = dataclasses.replace(config, bot=dataclasses.replace(config.bot, reload_seconds=0.5))
    port = free_port()
    process = start_gunicorn(
        write_toml(config, tmp_path / "config.toml"),
        port,
        "-c",
        str(ROOT / "deploy" / "gunicorn.conf.py"),
        "--workers",
        "1",
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, process)
        loaded = requests.get(base + "/healthz", timeout=5).json()["knowledge_base"]
        topic = next((kb / "topics").glob("*.toml"))
        edited_at = time.time()
        topic.write_text(topic.read_text(encoding="utf-8") + "\n# sửa\n", encoding="utf-8")
        during = 0
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            raw, headers = signed(sim.state, user_text_event(sim.state, "g1", "khai sinh"))
            response = requests.post(base + config.webhook.path, data=raw, headers=headers)
            assert response.status_code == 200
            state = requests.get(base + "/healthz", timeout=30).json()["knowledge_base"]
            if state["reloads"] > loaded["reloads"]:
                break
            if (state["last_reload_at"] or 0) > edited_at:  # the rebuild has started
                during += 1
        assert state["reloads"] == loaded["reloads"] + 1, "the edit was not loaded"
        assert during >= 1, "no request was answered while the knowledge base was rebuilt"
    finally:
        process.terminate()
        process.wait(30)
