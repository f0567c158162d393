"""Exactly-once delivery when a send's outcome is unknown, over real HTTP and a real SQLite file.

Zalo may accept a message and answer after our timeout, or a sender may die between Zalo's
acceptance and our commit. Such a part is "in doubt": it is resolved from the citizen's
conversation history (over the window since the row's first attempt) and never resent while
the doubt lasts.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from outreach_support import per_user, seed_users
from werkzeug.serving import make_server

from bot import storage
from bot.config import Config
from bot.inbox.worker import TurnWorker
from bot.jobs import Jobs
from bot.outbox.delivery import Sender, deliver_due, message_parts
from bot.outbox.indoubt import PATIENCE_SECONDS, settle_seconds
from bot.outreach import broadcasts
from bot.outreach.text import FileTexts
from bot.storage import broadcasts as broadcast_store
from bot.storage import core
from bot.storage import outbox as store
from bot.web import create_app
from bot.zalo.client import ZaloClient
from bot.zalo.tokens import TokenStore
from tests.fixtures_zalo import make_config, write_toml

REPO = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "Cho hỏi thủ tục khai sinh",
    "dang ky ket hon can giay to gi",
    "Làm căn cước cho con dưới 14 tuổi thế nào",
    "xin giấy xác nhận tình trạng hôn nhân",
    "Đăng ký thường trú cần gì",
    "chung thuc ban sao mat bao nhieu tien",
    "Khai tử ở đâu",
    "Đổi bằng lái xe máy",
    "Giờ làm việc của phường",
    "Cho hỏi thủ tục nhận cha mẹ con",
]
FINAL = ("sent", "failed", "unreachable", "template_needed")


def slow_config(tmp_path: Path, sim, timeout: float = 1.0, **outbox: float) -> Config:
    """The test config with a Zalo timeout of `timeout` seconds."""
    config = make_config(tmp_path, sim, **outbox)
    return dataclasses.replace(
        config, zalo=dataclasses.replace(config.zalo, timeout_seconds=timeout)
    )


def wait_until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def open_rows(db) -> int:
    marks = ",".join("?" * len(FINAL))
    (count,) = db.execute(
        f"SELECT count(*) FROM outbox WHERE status NOT IN ({marks})", FINAL
    ).fetchone()
    return int(count)


def expected_parts(db, config: Config) -> collections.Counter:
    """(user, text) of every part of every queued consultation message."""
    wanted: collections.Counter = collections.Counter()
    for row in db.query("SELECT user_id, payload FROM outbox WHERE channel = 'cs'"):
        payload = json.loads(row["payload"])
        for text, _ in message_parts(payload, config.zalo.buttons):
            wanted[(row["user_id"], text)] += 1
    return wanted


def delivered_parts(sim) -> collections.Counter:
    return collections.Counter((m["user_id"], m["text"]) for m in sim.delivered())


@pytest.fixture
def webhook_app(tmp_path, sim):
    """The webhook app on 127.0.0.1 with a Zalo timeout of 1 s, and the simulator posting to it."""
    config = slow_config(tmp_path, sim, timeout=1.0)
    app = create_app(config)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    turns = TurnWorker(config, app.extensions["bot.live_kb"]).start()
    sim.set_webhook(f"http://127.0.0.1:{server.server_port}{config.webhook.path}")
    yield config
    turns.stop()
    server.shutdown()


@pytest.mark.slow
def test_questions_while_zalo_answers_after_the_timeout_get_each_reply_once(webhook_app, sim):
    config = webhook_app
    db = storage.connect(config.storage.database)
    sim.late(1.5)  # every send goes out, every answer comes 0.5 s after the client gave up
    sender = Sender(config, workers=3).start()
    try:
        for n, question in enumerate(QUESTIONS):
            assert sim.user_says(f"71{n:02d}", question) == 200
        pending = "SELECT count(*) FROM inbound_events WHERE status = 'pending'"
        assert wait_until(lambda: db.execute(pending).fetchone()[0] == 0, 30)
        assert wait_until(lambda: open_rows(db) == 0, 90)
    finally:
        sender.stop()
    wanted = expected_parts(db, config)
    assert len({user for user, _ in wanted}) == len(QUESTIONS)
    delivered = delivered_parts(sim)
    counts = f"{sum(delivered.values())} deliveries for {sum(wanted.values())} parts"
    assert delivered == wanted, counts  # every part of every reply exactly once
    statuses = {row["status"] for row in db.query("SELECT status FROM outbox")}
    assert statuses == {"sent"}


@pytest.mark.slow
def test_a_broadcast_while_zalo_answers_late_reaches_each_follower_once(tmp_path, sim):
    config = slow_config(tmp_path, sim, timeout=1.0)
    # Whatever the hour the test runs at: no quiet hours.
    quiet = dataclasses.replace(config.outreach, quiet_start="00:00", quiet_end="00:00")
    config = dataclasses.replace(config, outreach=quiet)
    db = storage.connect(config.storage.database)
    now = time.time()
    users = seed_users(db, (f"72{n:02d}" for n in range(8)), now - 60)
    sim.seed_followers(users)
    created = broadcasts.create_broadcast(
        db, config, "Lịch tiếp công dân tuần này", "all", "now", now
    )
    assert broadcasts.Dispatcher(config).tick(db, now) == 8
    sim.late(1.5)
    sender = Sender(config, workers=4).start()
    try:
        assert wait_until(lambda: open_rows(db) == 0, 90)
    finally:
        sender.stop()
    counts = f"{len(sim.delivered())} deliveries for {len(users)} followers"
    assert per_user(sim.delivered()) == {user: 1 for user in users}, counts
    progress = broadcast_store.broadcast_progress(db, created["id"])
    assert progress["sent"] == 8


def start_scheduler(config_path: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "scheduler.py"],
        cwd=REPO,
        env={"BOT_CONFIG": str(config_path), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )


@pytest.mark.slow
def test_scheduler_down_two_minutes_mid_queue_sends_every_reply_once(tmp_path, sim):
    config = make_config(tmp_path, sim, lease_seconds=120.0, workers=2)
    config = dataclasses.replace(
        config, bot=dataclasses.replace(config.bot, knowledge_base=str(REPO / "knowledge_base"))
    )
    db = storage.connect(config.storage.database)
    users = [f"73{n:02d}" for n in range(40)]
    start = time.time()
    for user in users:
        core.enqueue(db, f"reply-{user}", user, {"text": f"Trả lời cho {user}."}, start)
    sim.late(0.4)  # slow but within the timeout: each send is in flight for 0.4 s
    process = start_scheduler(write_toml(config, tmp_path / "config.toml"), tmp_path / "s.log")
    try:
        assert wait_until(lambda: len(sim.delivered()) >= 10, 30)
        process.send_signal(signal.SIGKILL)  # dies with sends accepted but not recorded
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
    sim.late(0)
    in_flight = db.execute("SELECT count(*) FROM outbox WHERE status = 'sending'").fetchone()[0]
    assert in_flight >= 1
    # Two minutes later a new scheduler starts (its clock runs 120 s ahead of the real one).
    jobs = Jobs(
        config,
        owner="after-restart",
        texts=FileTexts(config.bot.knowledge_base),
        client_factory=lambda conn: ZaloClient(config.zalo, TokenStore(conn, config)),
        clock=lambda: time.time() + 120,
    )
    deadline = time.monotonic() + 60
    while open_rows(db) and time.monotonic() < deadline:
        if not jobs.run("outbox"):
            time.sleep(0.05)
    counts = f"{len(sim.delivered())} deliveries for {len(users)} replies"
    assert per_user(sim.delivered()) == {user: 1 for user in users}, counts
    assert {row["status"] for row in db.query("SELECT status FROM outbox")} == {"sent"}


def test_history_window_starts_at_the_first_attempt_not_at_the_latest_claim(tmp_path, sim):
    config = slow_config(tmp_path, sim, timeout=0.5)
    db = storage.connect(config.storage.database)
    client = ZaloClient(config.zalo, TokenStore(db, config))
    client.tokens.access_token()
    start = time.time()
    row = core.enqueue(db, "k", "u9", {"text": "Hồ sơ đã được tiếp nhận."}, start)
    sim.late(1.0)
    assert deliver_due(db, client, config, start, owner="a") == 0  # timed out, but went out
    sim.late(0)
    # The sender was stopped for 2 minutes; the retry comes long after the lost answer.
    for step in range(20):
        deliver_due(db, client, config, start + 120 + step, owner="b")
    assert len(sim.delivered("u9")) == 1
    record = store.get(db, row)
    assert record["status"] == "sent"
    assert record["zalo_message_id"] == sim.delivered("u9")[0]["message_id"]


@pytest.fixture
def quick(tmp_path, sim):
    """A database, a client with a 0.3 s Zalo timeout, and its config."""
    config = slow_config(tmp_path, sim, timeout=0.3)
    db = storage.connect(config.storage.database)
    client = ZaloClient(config.zalo, TokenStore(db, config))
    client.tokens.access_token()
    return db, client, config


def test_a_part_in_doubt_is_never_resent_while_the_history_is_unavailable(quick, sim):
    db, client, config = quick
    start = time.time()
    row = core.enqueue(db, "k", "u1", {"text": "Lịch hẹn của anh/chị là 8 giờ sáng mai."}, start)
    sim.outage(count=1, mode="close")  # the connection drops after the request was written
    assert deliver_due(db, client, config, start, owner="a") == 0
    assert store.get(db, row)["doubt_since"] is not None
    sim.outage(seconds=600)  # every history request fails from now on
    for later in (5, 60, 600, 3600, 5 * 3600):
        deliver_due(db, client, config, start + later, owner="a")
        record = store.get(db, row)
        assert (record["status"], record["error_code"]) == ("pending", 0)
        assert record["error"].startswith("in doubt: history unavailable")
    deliver_due(db, client, config, start + PATIENCE_SECONDS + 60, owner="a")
    record = store.get(db, row)
    assert record["status"] == "failed" and "not settled" in record["error"]
    assert sim.delivered() == []  # given up on, but never sent blindly
    assert sim.calls_to("/v3.0/oa/message/cs") == 1


def test_later_messages_to_the_citizen_wait_for_the_part_in_doubt(quick, sim):
    db, client, config = quick
    start = time.time()
    first = core.enqueue(db, "k1", "u1", {"text": "Một."}, start)
    second = core.enqueue(db, "k2", "u1", {"text": "Hai."}, start)
    sim.outage(count=1, mode="close")
    deliver_due(db, client, config, start, owner="a")
    assert store.get(db, second)["status"] == "pending" and sim.delivered() == []
    for step in range(1, 6):
        deliver_due(db, client, config, start + step, owner="a")
    assert [m["text"] for m in sim.delivered("u1")] == ["Một.", "Hai."]
    assert store.get(db, first)["attempts"] == 1  # the dropped send, then the settled resend


def test_a_part_found_beyond_the_first_page_of_history_is_recorded(quick, sim):
    db, client, config = quick
    start = time.time()
    row = core.enqueue(db, "k", "u1", {"text": "Hồ sơ đã đủ."}, start)
    sim.late(0.6)
    deliver_due(db, client, config, start, owner="a")
    sim.late(0)
    for n in range(12):  # the citizen wrote on meanwhile
        sim.state.chat_user_said("u1", f"câu hỏi {n}")
    deliver_due(db, client, config, start + 1, owner="a")
    [sent] = sim.delivered("u1")
    assert store.get(db, row)["zalo_message_id"] == sent["message_id"]
    assert sim.calls_to("/v2.0/oa/conversation") == 2


def test_a_template_in_doubt_ends_failed_without_a_resend(quick, sim):
    db, client, config = quick
    start = time.time()
    payload = {"template_id": "tpl", "template_data": {}}
    row = core.enqueue(db, "t", "u1", payload, start, channel="template")
    sim.late(0.6)
    deliver_due(db, client, config, start, owner="a")
    sim.late(0)
    deliver_due(db, client, config, start + 5, owner="a")
    record = store.get(db, row)
    assert record["status"] == "failed" and "template" in record["error"]
    assert len(sim.delivered("u1")) == 1


def test_a_taken_over_part_in_doubt_holds_back_later_messages_to_the_citizen(quick, sim):
    db, client, config = quick
    start = time.time()
    core.enqueue(db, "a", "u6", {"text": "Một."}, start)
    core.enqueue(db, "b", "u6", {"text": "Hai."}, start)
    store.claim(db, "dead-host:1:x", start, 10, 0.5)  # it died while sending the first
    deliver_due(db, client, config, start + 1, owner="a")  # first in doubt, second handed back
    deliver_due(db, client, config, start + 1.01, owner="a")
    assert sim.delivered("u6") == []
    deliver_due(db, client, config, start + 2 + settle_seconds(config), owner="a")
    assert [m["text"] for m in sim.delivered("u6")] == ["Một.", "Hai."]


def test_only_the_row_a_dead_sender_was_working_on_is_in_doubt(quick, sim):
    db, client, config = quick
    start = time.time()
    for n in range(3):
        core.enqueue(db, f"k{n}", f"u{n}", {"text": f"Tin {n}."}, start)
    store.claim(db, "dead-host:1:x", start, 10, 0.5)  # it died sending the first of its batch
    deliver_due(db, client, config, start + 1, owner="a")
    assert sorted(m["text"] for m in sim.delivered()) == ["Tin 1.", "Tin 2."]  # never tried
    assert sim.calls_to("/v2.0/oa/conversation") == 1  # only the first is looked up
    deliver_due(db, client, config, start + 2 + settle_seconds(config), owner="a")
    assert sorted(m["text"] for m in sim.delivered()) == ["Tin 0.", "Tin 1.", "Tin 2."]


def test_a_row_taken_over_by_a_sender_that_died_too_stays_in_doubt(quick, sim):
    # The first sender died just after Zalo took "Một." to u7. The second claimed that row (in
    # doubt) with a row of another citizen before it, and died on the other row before looking
    # the first one up. The third must still look it up rather than send it a second time.
    db, client, config = quick
    start = time.time()
    other = core.enqueue(db, "other", "u8", {"text": "Tin khác."}, start, not_before=start + 0.8)
    mine = core.enqueue(db, "mine", "u7", {"text": "Một."}, start)
    assert store.claim(db, "dead-host:1:x", start, 10, 0.5)[0]["id"] == mine
    client.send_text("u7", "Một.", [])  # the first sender's send, never recorded
    claimed = store.claim(db, "dead-host:2:y", start + 1, 10, 0.5)
    assert [row["id"] for row in claimed] == [other, mine]
    deliver_due(db, client, config, start + 2, owner="a")
    deliver_due(db, client, config, start + 3 + settle_seconds(config), owner="a")
    assert [m["text"] for m in sim.delivered("u7")] == ["Một."]
    assert store.get(db, mine)["status"] == "sent"
