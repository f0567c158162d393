"""The conversation layer: one event, one transaction; dedup, echoes, hand-over silence, state."""

import json
from pathlib import Path

import pytest

from bot import storage
from bot.config import BotConfig, Config, StorageConfig
from bot.inbox.worker import handle_event
from bot.storage import core
from bot.zalo.events import parse_event

ROOT = Path(__file__).resolve().parent.parent
USER = "246845883529197922"
OA = "388613280878808645"
T0 = 1_790_000_000.0


@pytest.fixture
def index(shipped_index):
    return shipped_index


@pytest.fixture
def config(tmp_path):
    return Config(
        storage=StorageConfig(database=str(tmp_path / "bot.db")),
        bot=BotConfig(handover_quiet_minutes=30),
    )


@pytest.fixture
def db(config):
    return storage.connect(config.storage.database)


class Citizen:
    """Sends events as Zalo would, numbering message ids."""

    def __init__(self, db, index, config):
        self.db, self.index, self.config = db, index, config
        self.count = 0

    def event(self, data, now=T0):
        raw = json.dumps(data, ensure_ascii=False).encode()
        return handle_event(self.db, parse_event(raw), self.index, self.config, now)

    def says(self, text, now=T0, msg_id=None):
        self.count += 1
        return self.event(
            {
                "app_id": "1",
                "event_name": "user_send_text",
                "timestamp": str(int(now * 1000)),
                "sender": {"id": USER},
                "recipient": {"id": OA},
                "message": {"msg_id": msg_id or f"m{self.count}", "text": text},
            },
            now,
        )

    def staff_replies(self, text, now=T0, admin_id="staff-1", msg_id="oa1"):
        sender = {"id": OA, "admin_id": admin_id} if admin_id else {"id": OA}
        return self.event(
            {
                "event_name": "oa_send_text",
                "timestamp": str(int(now * 1000)),
                "sender": sender,
                "recipient": {"id": USER},
                "message": {"msg_id": msg_id, "text": text},
            },
            now,
        )


@pytest.fixture
def citizen(db, index, config):
    return Citizen(db, index, config)


def outbox(db):
    return [json.loads(r["payload"]) for r in db.query("SELECT payload FROM outbox ORDER BY id")]


def test_a_question_is_answered_through_the_outbox(citizen, db):
    outcome = citizen.says("dk khai sinh cho con can giay to gi")
    assert outcome.status == "turn" and outcome.kind == "answer"
    assert outcome.replies >= 1
    assert "khai sinh" in outbox(db)[0]["text"].lower()
    turn = next(db.query("SELECT * FROM turns"))
    assert (turn["topic"], turn["section"]) == ("khai-sinh", "documents")


def test_redelivered_event_gets_no_second_reply(citizen, db):
    first = citizen.says("thủ tục đăng ký kết hôn", msg_id="same")
    again = citizen.says("thủ tục đăng ký kết hôn", msg_id="same")
    assert first.status == "turn" and again.status == "duplicate"
    assert len(outbox(db)) == first.replies


def test_follow_up_uses_the_topic_kept_in_the_conversation(citizen, db):
    citizen.says("thủ tục đăng ký kết hôn")
    citizen.says("thế lệ phí bao nhiêu?", now=T0 + 60)
    last = list(db.query("SELECT topic, section FROM turns ORDER BY id"))[-1]
    assert last == {"topic": "ket-hon", "section": "fee"}


def test_follow_greets_and_unfollow_marks_the_user(citizen, db):
    follow = {
        "app_id": "1",
        "oa_id": OA,
        "follower": {"id": USER},
        "event_name": "follow",
        "timestamp": "1700000000000",
    }
    assert citizen.event(follow).kind == "welcome"
    assert core.get_user(db, USER)["follow_state"] == "follower"
    assert outbox(db)[0]["buttons"], "the welcome carries the main menu"
    citizen.event(dict(follow, event_name="unfollow", timestamp="1700000000001"))
    assert core.get_user(db, USER)["follow_state"] == "unfollowed"


def test_image_gets_a_polite_reply_and_keeps_the_conversation(citizen, db):
    citizen.says("thủ tục đăng ký kết hôn")
    outcome = citizen.event(
        {
            "event_name": "user_send_image",
            "timestamp": "2",
            "sender": {"id": USER},
            "recipient": {"id": OA},
            "message": {"msg_id": "img1", "attachments": [{"type": "image", "payload": {}}]},
        }
    )
    assert outcome.kind == "unsupported" and outcome.replies == 1
    assert core.load_conversation(db, USER)["state"].get("topic") == "ket-hon"


def test_staff_reply_silences_the_bot_until_the_quiet_time_passes(citizen, db):
    assert citizen.staff_replies("Chào anh, tôi là cán bộ một cửa").status == "staff_echo"
    queued = len(outbox(db))
    assert citizen.says("cảm ơn chị", now=T0 + 60).status == "silenced"
    assert len(outbox(db)) == queued
    later = citizen.says("thủ tục đăng ký kết hôn", now=T0 + 31 * 60)
    assert later.status == "turn" and len(outbox(db)) > queued


def test_the_bots_own_echo_does_not_silence_it(citizen, db):
    citizen.says("thủ tục đăng ký kết hôn")
    db.execute("UPDATE outbox SET status = 'sent', zalo_message_id = 'zid-1'")
    assert citizen.staff_replies("x", admin_id="", msg_id="zid-1").status == "echo"
    assert citizen.says("lệ phí bao nhiêu", now=T0 + 5).status == "turn"


def test_repeated_fallbacks_flag_the_conversation_for_staff(citizen, db):
    kinds = [
        citizen.says(text, now=T0 + i).kind
        for i, text in enumerate(
            ["giá vàng hôm nay thế nào", "dự báo thời tiết ngày mai", "xổ số miền bắc hôm nay"]
        )
    ]
    assert "fallback" in kinds
    assert core.load_conversation(db, USER)["handover"] == 1
    assert db.execute("SELECT COUNT(*) FROM unanswered").fetchone()[0] >= 1


def test_asking_for_a_person_flags_the_conversation(citizen, db):
    assert citizen.says("cho tôi gặp cán bộ tư vấn").kind == "handover"
    assert core.load_conversation(db, USER)["handover"] == 1


def test_ward_named_by_the_citizen_is_remembered_on_the_user(citizen, db):
    citizen.says("tôi ở phường Phú Thượng, đăng ký khai sinh nộp ở đâu")
    assert core.get_user(db, USER)["ward"] == "phu-thuong"


@pytest.mark.parametrize("name", ["user_seen_message", "user_received_message"])
def test_status_events_start_no_turn(citizen, db, name):
    outcome = citizen.event(
        {
            "event_name": name,
            "timestamp": "5",
            "sender": {"id": OA},
            "recipient": {"id": USER},
            "message": {"msg_id": f"s-{name}"},
        }
    )
    assert outcome.status == "ignored" and outbox(db) == []


def test_unknown_event_is_recorded_without_reply(citizen, db):
    outcome = citizen.event({"event_name": "add_user_to_tag", "timestamp": "6", "oa_id": OA})
    assert outcome.status == "recorded" and outbox(db) == []
    assert db.execute("SELECT event_name FROM other_events").fetchone()[0] == "add_user_to_tag"
