"""Dossier lookups by citizens and reminders: once each, at the right local time."""

from __future__ import annotations

import time

import pytest
from outreach_support import local, seed_users, with_sections

from bot.kb.loader import load_kb
from bot.outreach import intercept
from bot.outreach.dossiers import apply_import
from bot.outreach.reminders import send_reminders
from bot.storage import dossiers as store

CODE = "000.00.01.H26-260930-0012"
HEADER = "Mã hồ sơ,Thủ tục,Trạng thái,Nơi tiếp nhận,Ngày hẹn trả"


def row(status: str = "Đang xử lý", date: str = "02/12/2026") -> bytes:
    office = "Trung tâm PVHCC phường Tây Hồ"
    return f"{HEADER}\n{CODE},Đăng ký khai sinh,{status},{office},{date}\n".encode()


@pytest.fixture(scope="module")
def kb():
    return load_kb("knowledge_base")


@pytest.fixture
def citizen(db, zalo_config, kb):
    """A citizen who wrote this morning, typed the dossier code and so subscribed."""
    morning = local(2026, 12, 1, 6, 30)
    apply_import(db, row(), morning)
    seed_users(db, ["7001"], morning.timestamp())
    turn = intercept(db, "7001", CODE, morning, kb, zalo_config)
    assert turn is not None and turn.kind == "dossier"
    return "7001"


def outbox_texts(db) -> list[str]:
    import json

    return [json.loads(p)["text"] for (p,) in db.execute("SELECT payload FROM outbox ORDER BY id")]


def test_appointment_reminder_fires_once_from_the_reminder_hour_the_day_before(
    db, zalo_config, kb, citizen
):
    assert send_reminders(db, zalo_config, kb, local(2026, 12, 1, 7, 59))["queued"] == 0
    assert send_reminders(db, zalo_config, kb, local(2026, 12, 1, 8, 0))["queued"] == 1
    assert send_reminders(db, zalo_config, kb, local(2026, 12, 1, 8, 1))["queued"] == 0
    assert send_reminders(db, zalo_config, kb, local(2026, 12, 1, 16, 0))["queued"] == 0
    [text] = outbox_texts(db)
    assert CODE in text and "02/12/2026" in text and "ngày mai" in text


def test_reminder_hour_is_local_time_not_utc(db, zalo_config, kb, citizen):
    late = with_sections(zalo_config, outreach={"reminder_hour": 15})
    # 08:30 UTC is 15:30 in Hà Nội: due; 07:59 UTC is 14:59: not yet.
    assert send_reminders(db, late, kb, local(2026, 12, 1, 14, 59))["queued"] == 0
    assert send_reminders(db, late, kb, local(2026, 12, 1, 15, 30))["queued"] == 1


def test_quiet_hours_postpone_reminders(db, zalo_config, kb, citizen):
    evening = with_sections(zalo_config, outreach={"reminder_hour": 21})
    assert send_reminders(db, evening, kb, local(2026, 12, 1, 21, 10))["queued"] == 0
    apply_import(db, row("Đã có kết quả"), local(2026, 12, 1, 22, 0))
    assert send_reminders(db, zalo_config, kb, local(2026, 12, 1, 22, 0))["queued"] == 0
    assert send_reminders(db, zalo_config, kb, local(2026, 12, 2, 7, 0))["queued"] == 1


def test_result_ready_reminder_fires_once_when_the_status_turns(db, zalo_config, kb, citizen):
    apply_import(db, row("Đã có kết quả", ""), local(2026, 11, 30, 10, 0))
    first = send_reminders(db, zalo_config, kb, local(2026, 11, 30, 10, 1))
    again = send_reminders(db, zalo_config, kb, local(2026, 11, 30, 10, 2))
    assert (first["queued"], again["queued"]) == (1, 0)
    assert "đã có kết quả" in outbox_texts(db)[0]
    assert [r["kind"] for r in store.reminders_for(db, CODE)] == ["result_ready"]


def test_stop_ends_reminders(db, zalo_config, kb, citizen):
    turn = intercept(db, citizen, "Dừng nhắc", local(2026, 12, 1, 7, 0), kb, zalo_config)
    assert "dừng nhắc lịch cho 1 hồ sơ" in turn.replies[0].text
    assert send_reminders(db, zalo_config, kb, local(2026, 12, 1, 9, 0))["queued"] == 0


def test_out_of_window_reminder_is_recorded_unreachable_with_the_reason(db, zalo_config, kb):
    apply_import(db, row(), local(2026, 11, 20, 9, 0))
    seed_users(db, ["7002"], local(2026, 11, 20, 9, 0).timestamp())
    intercept(db, "7002", CODE, local(2026, 11, 20, 9, 0), kb, zalo_config)
    counts = send_reminders(db, zalo_config, kb, local(2026, 12, 1, 8, 0))
    assert counts == {"queued": 0, "unreachable": 1}
    [record] = store.reminders_for(db, CODE)
    assert record["status"] == "unreachable" and "no template" in record["reason"]
    templated = with_sections(zalo_config, zalo={"template_id": "TPL-HEN"})
    assert send_reminders(db, templated, kb, local(2026, 12, 1, 8, 5))["queued"] == 0


def test_a_reminder_refused_as_out_of_window_goes_out_once_as_the_template(
    db, zalo_config, kb, citizen, sim, client
):
    from bot.outbox.delivery import deliver_due

    templated = with_sections(zalo_config, zalo={"template_id": "TPL-HEN"})
    sim.set_last_interaction(citizen, int((time.time() - 10 * 86400) * 1000))
    assert send_reminders(db, templated, kb, local(2026, 12, 1, 8, 0))["queued"] == 1
    deliver_due(db, client, templated, local(2026, 12, 1, 8, 0).timestamp())
    assert sim.delivered() == []  # Zalo said -230
    assert send_reminders(db, templated, kb, local(2026, 12, 1, 8, 5))["queued"] == 1
    assert send_reminders(db, templated, kb, local(2026, 12, 1, 8, 10))["queued"] == 0
    deliver_due(db, client, templated, local(2026, 12, 1, 8, 10).timestamp())
    [message] = sim.delivered()
    assert message["kind"] == "template"
    assert message["template_data"] == {
        "ma_ho_so": CODE,
        "ngay_hen": "02/12/2026",
        "trang_thai": "Đang giải quyết",
    }
