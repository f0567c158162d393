"""Outreach inside the real conversation layer: codes, deletion and withdrawal as events."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot import storage
from bot.config import Config, StorageConfig
from bot.inbox.worker import handle_event
from bot.outreach.dossiers import apply_import
from bot.storage import core
from bot.storage import dossiers as store
from bot.zalo.events import parse_event

ROOT = Path(__file__).resolve().parent.parent
USER = "246845883529197922"
CODE = "000.00.01.H26-260930-0012"
T0 = 1_796_000_000.0


@pytest.fixture
def index(shipped_index):
    return shipped_index


@pytest.fixture
def config(tmp_path):
    return Config(storage=StorageConfig(database=str(tmp_path / "bot.db")))


@pytest.fixture
def db(config):
    database = storage.connect(config.storage.database)
    apply_import(
        database,
        "Mã hồ sơ,Thủ tục,Trạng thái,Nơi tiếp nhận,Ngày hẹn trả\n"
        f"{CODE},Đăng ký khai sinh,Đang xử lý,Trung tâm PVHCC phường Tây Hồ,02/12/2026\n".encode(),
        T0,
    )
    return database


def send(db, index, config, name, text="", msg_id="", now=T0):
    data = {
        "event_name": name,
        "timestamp": str(int(now * 1000)),
        "sender": {"id": USER},
        "recipient": {"id": "1"},
        "user_id_by_app": "x",
    }
    if text:
        data["message"] = {"msg_id": msg_id, "text": text}
    raw = json.dumps(data, ensure_ascii=False).encode()
    return handle_event(db, parse_event(raw), index, config, now)


def queued(db) -> list[str]:
    rows = db.execute("SELECT payload FROM outbox WHERE source = 'reply' ORDER BY id").fetchall()
    return [json.loads(p)["text"] for (p,) in rows]


def test_a_dossier_code_is_answered_and_subscribed_through_the_webhook_path(db, index, config):
    send(db, index, config, "user_send_text", f"cho tôi hỏi hồ sơ {CODE.lower()}", "m1")
    status, consent = queued(db)
    assert CODE in status and "02/12/2026" in status and "dừng nhắc" in consent
    assert store.is_subscribed(db, USER, CODE)


def test_asking_for_deletion_through_the_webhook_path_forgets_and_confirms(db, index, config):
    send(db, index, config, "user_send_text", CODE, "m1")
    send(db, index, config, "user_send_text", "xóa dữ liệu của tôi", "m2", now=T0 + 5)
    assert "đã xóa dữ liệu" in queued(db)[-1]
    texts = [t for (t,) in db.execute("SELECT text FROM inbound_events")]
    assert texts == [None, None]  # kept for the counts, under a pseudonym
    assert (
        db.execute("SELECT count(*) FROM inbound_events WHERE user_id = ?", [USER]).fetchone()[0]
        == 0
    )
    assert not store.is_subscribed(db, USER, CODE)
    assert not any(CODE in text for text in queued(db))  # the status reply is gone


def test_user_withdraw_forgets_without_a_message(db, index, config):
    send(db, index, config, "user_send_text", CODE, "m1")
    core.save_state(db, USER, {"ward": "tay-ho"}, T0 + 1)
    core.set_ward(db, USER, "tay-ho")
    assert queued(db)
    send(db, index, config, "user_withdraw", now=T0 + 5)
    assert queued(db) == []  # nothing sent, and what was told about the dossier is gone
    assert not store.is_subscribed(db, USER, CODE)
    assert core.load_conversation(db, USER)["state"] == {}
    assert core.get_user(db, USER)["ward"] is None


def test_asking_how_to_look_up_is_answered_by_the_knowledge_base_topic(db, index, config):
    send(db, index, config, "user_send_text", "tra cứu hồ sơ", "m1")
    [answer] = queued(db)[:1]
    assert "mã hồ sơ" in answer.lower()
    kinds = [k for (k,) in db.execute("SELECT kind FROM turns").fetchall()]
    assert kinds and kinds[0] != "dossier"
