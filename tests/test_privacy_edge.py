"""Retention and erasure over real HTTP: nothing a citizen sent outlives retention or withdrawal.

After `user_withdraw` no row links the Zalo id to a dossier, a reply or a question, and the
deleted text is in neither the database file nor its -wal; open questions and previewed but
never applied dossier files fall under retention; the database files are the owner's only.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest
import requests

from bot import storage
from bot.inbox.worker import TurnWorker
from bot.outbox.delivery import Sender
from bot.outreach.dossiers import FINAL_STATUSES, apply_import
from bot.outreach.privacy import apply_retention
from bot.simulator.webhook import signed, user_text_event
from bot.web import create_app
from tests import admin_support
from tests.fixtures_zalo import make_config
from tests.http_support import console_login, csrf, serving

USER = "8405017001234567"  # as long as a Zalo id: no timestamp holds these digits
CODE = "000.00.01.H26-260930-0012"
SECRET = "001099012345"  # a CCCD number the citizen typed
MARKER = "chuyenkhoanthuongniên"


def dossier_csv(user: str) -> bytes:
    return (
        "Mã hồ sơ,Thủ tục,Người nộp,Trạng thái,Nơi tiếp nhận,Ngày hẹn trả,Zalo user id\n"
        f"{CODE},Đăng ký khai sinh,Nguyễn Văn An,Đang xử lý,Trung tâm PVHCC,02/12/2026,{user}\n"
    ).encode()


def post_event(sim, url: str, body: dict) -> requests.Response:
    raw, headers = signed(sim.state, body)
    return requests.post(url, data=raw, headers=headers, timeout=10)


def rows_mentioning(db, needle: str) -> list[tuple[str, str]]:
    """(table, column) of every stored text value containing `needle`."""
    found = []
    tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        for column in [row[1] for row in db.execute(f"PRAGMA table_info({table})")]:
            sql = f'SELECT count(*) FROM "{table}" WHERE CAST("{column}" AS TEXT) LIKE ?'
            if db.execute(sql, [f"%{needle}%"]).fetchone()[0]:
                found.append((table, column))
    return found


def wait_until(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_withdrawal_unlinks_the_zalo_id_everywhere_and_scrubs_the_wal(tmp_path, sim):
    config = make_config(tmp_path, sim)
    db = storage.connect(config.storage.database)
    apply_import(db, dossier_csv(USER), time.time())
    app = create_app(config)
    turns = TurnWorker(config, app.extensions["bot.live_kb"]).start()
    with serving(app) as base:
        url = base + config.webhook.path
        sender = Sender(config, workers=1).start()
        try:
            for n, text in enumerate([f"hồ sơ {CODE}", f"CCCD {SECRET} {MARKER} được không"]):
                event = user_text_event(sim.state, USER, text, msg_id=f"m{n}")
                assert post_event(sim, url, event).status_code == 200
            assert wait_until(lambda: len(sim.delivered(USER)) >= 2)
        finally:
            sender.stop()
        assert rows_mentioning(db, CODE)  # the reply told the status of the dossier
        withdraw = user_text_event(sim.state, USER, "")
        withdraw.pop("message")
        withdraw["event_name"] = "user_withdraw"
        assert post_event(sim, url, withdraw).json()["status"] == "recorded"
        pending = "SELECT count(*) FROM inbound_events WHERE status = 'pending'"
        assert wait_until(lambda: db.execute(pending).fetchone()[0] == 0)
        turns.stop()
    assert rows_mentioning(db, USER) == [("users", "user_id")]
    assert rows_mentioning(db, CODE) == [("dossiers", "code")]
    assert db.execute("SELECT zalo_user_id FROM dossiers").fetchone()[0] is None
    for path in Path(config.storage.database).parent.glob("bot.db*"):
        data = path.read_bytes()
        assert MARKER.encode() not in data and SECRET.encode() not in data, path.name


def test_retention_removes_open_questions_unapplied_uploads_and_old_replies(tmp_path):
    clock = admin_support.Clock()
    config = admin_support.make_config(tmp_path)
    admin_support.add_account(config, "lan", "staff")
    app = admin_support.make_app(config, clock)
    db = storage.connect(config.storage.database)
    with serving(app) as base, requests.Session() as session:
        assert console_login(session, base, "lan", admin_support.PASSWORD).status_code == 302
        token = csrf(session, base + "/admin/dossiers")
        files = {"file": ("hoso.csv", dossier_csv(""), "text/csv")}
        preview = session.post(
            base + "/admin/dossiers/preview", data={"csrf_token": token}, files=files, timeout=30
        )
        assert preview.status_code == 200
    assert db.execute("SELECT count(*) FROM admin_uploads").fetchone()[0] == 1
    db.execute(
        "INSERT INTO unanswered (user_id, text, at, status) VALUES (?, ?, ?, 'open')",
        [USER, f"CCCD {SECRET} thì sao", clock.now],
    )
    db.execute(
        "INSERT INTO outbox (key, user_id, payload, status, next_attempt_at, created_at) "
        "VALUES ('reply:1:0', ?, '{\"text\": \"x\"}', 'sent', ?, ?)",
        [USER, clock.now, clock.now],
    )
    apply_retention(db, clock.now + 2 * 3600, config.storage.retention_days, FINAL_STATUSES)
    assert db.execute("SELECT count(*) FROM admin_uploads").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM unanswered").fetchone()[0] == 1  # still recent
    later = clock.now + config.storage.retention_days * 86400 + 1
    apply_retention(db, later, config.storage.retention_days, FINAL_STATUSES)
    assert rows_mentioning(db, SECRET) == [] and rows_mentioning(db, USER) == []


def test_database_files_are_readable_by_their_owner_only(tmp_path, sim):
    config = make_config(tmp_path, sim)
    old = Path(config.storage.database).with_name("old.db")
    old.touch(mode=0o644)
    os.chmod(old, 0o644)
    storage.connect(old)
    with serving(create_app(config)) as base:
        event = user_text_event(sim.state, USER, "xin chào")
        assert post_event(sim, base + config.webhook.path, event).status_code == 200
    files = list(tmp_path.glob("*.db*"))
    assert {p.name for p in files} >= {"bot.db", "bot.db-wal", "bot.db-shm", "bot.db.lock"}
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, (path.name, oct(path.stat().st_mode))


@pytest.mark.parametrize("hours", [0.5])
def test_an_upload_within_its_hour_survives_retention(tmp_path, hours):
    db = storage.connect(tmp_path / "bot.db")
    db.execute(
        "INSERT INTO admin_uploads (token, username, filename, data, created_at) "
        "VALUES ('t', 'lan', 'a.csv', x'00', 0)"
    )
    apply_retention(db, hours * 3600, 180, FINAL_STATUSES)
    assert db.execute("SELECT count(*) FROM admin_uploads").fetchone()[0] == 1
