"""What a citizen may type to outreach: dossier codes, "tra cứu hồ sơ", "dừng nhắc", deletion."""

from __future__ import annotations

import pytest
from outreach_support import local, seed_users

from bot.kb.loader import load_kb
from bot.kb.needs import STATUS_KEYS
from bot.outreach import REQUIRED_TEXTS, forget, intercept
from bot.outreach.dossiers import apply_import
from bot.outreach.text import FileTexts, is_deletion_request, is_stop_request
from bot.storage import core, transaction
from bot.storage import dossiers as store

NOW = local(2026, 12, 1, 9, 0)
MINE = "000.00.01.H26-260930-0012"
OTHERS = "000.00.01.H26-260930-0099"
CSV = (
    "Mã hồ sơ;Thủ tục;Trạng thái;Nơi tiếp nhận;Ngày hẹn trả;Zalo user id;Số điện thoại\n"
    f"{MINE};Đăng ký khai sinh;Đang xử lý;Trung tâm PVHCC phường Tây Hồ;02/12/2026;8001;"
    "0912345678\n"
    f"{OTHERS};Đăng ký kết hôn;Đã trả kết quả;UBND phường Phú Thượng;;8002;0987654321\n"
).encode()


@pytest.fixture(scope="module")
def kb():
    return load_kb("knowledge_base")


@pytest.fixture
def setup(db):
    apply_import(db, CSV, NOW)
    seed_users(db, ["8001", "8002", "8003"], NOW.timestamp(), ward="tay-ho")
    return db


def test_a_typed_code_gets_status_office_and_date_and_subscribes_with_a_consent_notice(
    setup, zalo_config, kb
):
    turn = intercept(setup, "8003", "ma ho so 000.00.01.h26 - 260930 - 0012", NOW, kb, zalo_config)
    status, consent = (r.text for r in turn.replies)
    assert MINE in status and "Đang giải quyết" in status
    assert "Trung tâm PVHCC phường Tây Hồ" in status and "02/12/2026" in status
    assert "0912" not in status
    assert "dừng nhắc" in consent and "xóa dữ liệu của tôi" in consent
    again = intercept(setup, "8003", MINE, NOW, kb, zalo_config)
    assert len(again.replies) == 1  # told once
    assert store.is_subscribed(setup, "8003", MINE)


def test_a_closed_dossier_is_shown_but_not_subscribed(setup, zalo_config, kb):
    turn = intercept(setup, "8003", OTHERS, NOW, kb, zalo_config)
    assert "Đã trả kết quả" in turn.replies[0].text and len(turn.replies) == 1
    assert not store.is_subscribed(setup, "8003", OTHERS)


def test_an_unknown_code_is_reported_not_found(setup, zalo_config, kb):
    turn = intercept(setup, "8003", "000.00.01.H26-260930-7777", NOW, kb, zalo_config)
    assert "chưa tìm thấy" in turn.replies[0].text


def test_lookup_help_lists_only_the_citizens_own_linked_dossiers(setup, zalo_config, kb):
    mine = intercept(setup, "8001", "Tra cứu hồ sơ", NOW, kb, zalo_config)
    text = "\n".join(r.text for r in mine.replies)
    assert MINE in text and OTHERS not in text
    # Without linked dossiers the knowledge base's own topic answers.
    assert intercept(setup, "8003", "tra cuu ho so", NOW, kb, zalo_config) is None


def test_asking_for_deletion_deletes_the_citizens_data_and_confirms(setup, zalo_config, kb):
    db = setup
    with transaction(db):
        core.record_inbound(
            db, "msg:1", "user_send_text", "8001", "1", "nhà tôi ở Tây Hồ", "0", 0, NOW.timestamp()
        )
        core.save_state(db, "8001", {"ward": "tay-ho"}, NOW.timestamp())
    intercept(db, "8001", MINE, NOW, kb, zalo_config)
    turn = intercept(db, "8001", "Xoá dữ liệu của tôi", NOW, kb, zalo_config)
    assert turn.kind == "privacy" and "đã xóa dữ liệu" in turn.replies[0].text
    assert core.get_user(db, "8001")["ward"] is None
    assert core.load_conversation(db, "8001")["state"] == {}
    assert db.execute("SELECT text FROM inbound_events").fetchone()[0] is None
    assert not store.is_subscribed(db, "8001", MINE)
    assert store.dossiers_linked_to(db, "8001") == []


def test_user_withdraw_forgets_and_sends_nothing(setup, zalo_config):
    intercept(setup, "8002", MINE, NOW, FileTexts("knowledge_base"), zalo_config)
    assert forget(setup, "8002", NOW) is None
    assert not store.is_subscribed(setup, "8002", MINE)
    assert core.get_user(setup, "8002")["ward"] is None


@pytest.mark.parametrize(
    "text", ["dừng nhắc", "Dung nhac", "hủy nhắc lịch", "tôi muốn dừng nhận nhắc", "ngừng nhắc!"]
)
def test_stop_requests_are_recognised(text):
    assert is_stop_request(text)


@pytest.mark.parametrize(
    "text",
    ["xóa dữ liệu của tôi", "xoa du lieu", "Tôi muốn xoá toàn bộ dữ liệu", "xóa thông tin của tôi"],
)
def test_deletion_requests_are_recognised(text):
    assert is_deletion_request(text)


@pytest.mark.parametrize(
    "text",
    ["làm giấy khai sinh cần gì", "xóa đăng ký thường trú", "nhắc lại giúp tôi", "dừng xe ở đâu"],
)
def test_other_questions_are_left_to_the_dialogue(db, zalo_config, kb, text):
    assert intercept(db, "8009", text, NOW, kb, zalo_config) is None


def test_every_required_text_exists_and_formats():
    texts = FileTexts("knowledge_base")
    values = dict(
        code=MINE,
        procedure="p",
        status="s",
        office="o",
        appointment="a",
        items="i",
        limit=3,
        count=1,
        date="d",
        title="t",
        summary="s",
    )
    for key in REQUIRED_TEXTS:
        assert texts.text(key, **values).strip(), key
    assert all(f"dossier_status_{key}" in REQUIRED_TEXTS for key in STATUS_KEYS)


def test_a_dossier_turn_keeps_the_dialogue_state(setup, zalo_config, kb):
    with transaction(setup):
        core.save_state(setup, "8003", {"ward": "tay-ho", "topic": "khai-sinh"}, NOW.timestamp())
    turn = intercept(setup, "8003", MINE, NOW, kb, zalo_config)
    assert turn.state == {"ward": "tay-ho", "topic": "khai-sinh"}
