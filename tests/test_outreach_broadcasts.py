"""Broadcasts: exactly-once dispatch across a crash, channels, quiet hours, rate limits, states."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from outreach_support import drain, local, per_user, seed_users, with_sections

from bot.outreach import broadcasts
from bot.outreach.audience import OutreachError, parse_audience, preview
from bot.outreach.broadcasts import Dispatcher
from bot.storage import core, transaction

NOON = local(2026, 12, 1, 12, 0)
T = NOON.timestamp()
HOUR = 3600.0

CRASHING_DISPATCHER = """
import sys, time
from bot import storage
from bot.config import Config, OutreachConfig, StorageConfig
from bot.outreach.broadcasts import Dispatcher
path, now = sys.argv[1], float(sys.argv[2])
config = Config(storage=StorageConfig(database=path),
                outreach=OutreachConfig(rate_per_minute=60000, quiet_start="00:00",
                                        quiet_end="00:00"))
db = storage.connect(path)
dispatcher = Dispatcher(config, batch_size=10, burst_seconds=0.01)
print("ready", flush=True)
while True:
    dispatcher.tick(db, now)
    now += 0.01
    time.sleep(0.01)
"""


def test_restart_in_the_middle_of_a_broadcast_sends_every_recipient_exactly_once(
    tmp_path, sim, zalo_config, db, client
):
    users = seed_users(db, (f"9{n:05d}" for n in range(600)), T - HOUR)
    sim.seed_followers(users)
    row = broadcasts.create_broadcast(db, zalo_config, "Thông báo lịch tiếp dân", "all", "now", T)
    child = subprocess.Popen(
        [sys.executable, "-c", CRASHING_DISPATCHER, zalo_config.storage.database, str(T)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 20
    queued = 0
    while time.monotonic() < deadline:
        queued = db.execute("SELECT count(*) FROM outbox").fetchone()[0]
        if queued >= 150:
            break
        time.sleep(0.005)
    child.kill()  # SIGKILL: no clean-up, mid-broadcast
    child.wait()
    handed = db.execute("SELECT count(*) FROM outbox").fetchone()[0]
    assert 150 <= handed < 600, "the crash must happen in the middle of the hand-over"
    # As if an older run had queued a few messages without noting it: the unique key holds.
    planned = [
        u
        for (u,) in db.execute(
            "SELECT user_id FROM broadcast_deliveries WHERE status = 'planned' LIMIT 3"
        ).fetchall()
    ]
    with transaction(db):
        for user in planned:
            core.enqueue(
                db,
                f"bc:{row['id']}:{user}",
                user,
                {"text": "Thông báo lịch tiếp dân"},
                T,
                source="broadcast",
                source_id=str(row["id"]),
            )

    drain(db, client, zalo_config, Dispatcher(zalo_config, batch_size=100), T + 1)

    received = per_user(sim.delivered())
    assert set(received) == set(users)
    assert set(received.values()) == {1}
    shown = broadcasts.show_broadcast(db, row["id"], T)
    assert shown["state"] == "done"
    assert shown["progress"]["sent"] == 600 and shown["progress"]["total"] == 600


def test_out_of_window_recipients_take_the_template_path_or_are_reported_unreachable(
    sim, zalo_config, db, client
):
    seed_users(db, ["1001"], T - HOUR)  # inside the free 48 h window
    seed_users(db, ["1002"], T - 72 * HOUR)  # billed window
    seed_users(db, ["1003"], T - 10 * 24 * HOUR)  # beyond 7 days
    seed_users(db, ["1004"], None)  # never wrote
    seed_users(db, ["1005"], T - HOUR, follow_state="unfollowed")
    sim.seed_followers(["1001", "1002", "1003", "1004"])
    no_template = zalo_config
    assert preview(db, "recent:30", T, no_template.zalo)["unreachable"] == 2
    row = broadcasts.create_broadcast(db, no_template, "Tin thử", "all", "now", T)
    drain(db, client, no_template, Dispatcher(no_template), T)
    shown = broadcasts.show_broadcast(db, row["id"], T)
    assert shown["progress"]["sent"] == 1 and shown["progress"]["not_reachable"] == 3
    assert shown["unreachable_reasons"] == {
        "outside the free window and no template configured": 2,
        "no interaction recorded and no template configured": 1,
    }
    assert [m["user_id"] for m in sim.delivered()] == ["1001"]

    templated = with_sections(
        zalo_config, zalo={"template_id": "TPL-1", "allow_billed_window": True}
    )
    second = broadcasts.create_broadcast(db, templated, "Tin thứ hai", "all", "now", T + 60)
    drain(db, client, templated, Dispatcher(templated), T + 60)
    kinds = {m["user_id"]: m["kind"] for m in sim.delivered()[1:]}
    assert kinds == {"1001": "cs", "1002": "cs", "1003": "template", "1004": "template"}
    assert broadcasts.show_broadcast(db, second["id"], T)["progress"]["sent"] == 4


def test_quiet_hours_postpone_a_broadcast_until_morning(sim, zalo_config, db, client):
    users = seed_users(db, ["2001", "2002"], T - HOUR)
    sim.seed_followers(users)
    evening = local(2026, 12, 1, 21, 30)
    row = broadcasts.create_broadcast(db, zalo_config, "Tin buổi tối", "all", "now", evening)
    dispatcher = Dispatcher(zalo_config)
    for at in (evening, local(2026, 12, 2, 0, 5), local(2026, 12, 2, 6, 59)):
        assert dispatcher.tick(db, at) == 0
    assert broadcasts.show_broadcast(db, row["id"], evening)["state"] == "scheduled"
    assert dispatcher.tick(db, local(2026, 12, 2, 7, 0)) == 2


def test_rate_limit_errors_slow_the_hand_over_and_lose_nothing(sim, zalo_config, db, client):
    config = with_sections(zalo_config, outreach={"rate_per_minute": 1200})  # 20 a second
    users = seed_users(db, (f"3{n:03d}" for n in range(100)), T - HOUR)
    sim.seed_followers(users)
    broadcasts.create_broadcast(db, config, "Tin có giới hạn", "all", "now", T)
    dispatcher = Dispatcher(config, burst_seconds=1.0)
    from bot.outbox.delivery import deliver_due

    assert dispatcher.tick(db, T) == 20
    sim.rate_limit(5)
    deliver_due(db, client, config, T)
    limited = db.execute("SELECT count(*) FROM outbox WHERE error_code = -32").fetchone()[0]
    assert limited == 5
    assert dispatcher.tick(db, T + 1) == 0  # paused
    deliver_due(db, client, config, T + 1)  # the outbox retries the limited rows
    assert dispatcher.tick(db, T + 3) == 0  # still inside the pause
    resumed = dispatcher.tick(db, T + 6.5)
    assert 0 < resumed < 20, "the rate stays lowered after a rate-limit error"
    drain(db, client, config, dispatcher, T + 7)
    received = per_user(sim.delivered())
    assert len(received) == 100 and set(received.values()) == {1}
    assert db.execute("SELECT count(*) FROM outbox WHERE status != 'sent'").fetchone()[0] == 0


def test_a_draft_is_sent_only_after_approval(sim, zalo_config, db, client):
    sim.seed_followers(seed_users(db, ["4001"], T - HOUR))
    row = broadcasts.create_broadcast(db, zalo_config, "Bản nháp", "all", None, T, draft=True)
    dispatcher = Dispatcher(zalo_config)
    assert dispatcher.tick(db, T + 60) == 0
    approved = broadcasts.approve_broadcast(db, zalo_config, row["id"], T + 60)
    assert approved["state"] == "scheduled"
    drain(db, client, zalo_config, dispatcher, T + 60)
    assert [m["text"] for m in sim.delivered()] == ["Bản nháp"]
    with pytest.raises(OutreachError, match="chỉ bản nháp mới cần duyệt"):
        broadcasts.approve_broadcast(db, zalo_config, row["id"], T + 120)


def test_cancelling_mid_send_pulls_the_messages_not_yet_sent(sim, zalo_config, db, client):
    config = with_sections(zalo_config, outreach={"rate_per_minute": 600})
    users = seed_users(db, (f"5{n:03d}" for n in range(30)), T - HOUR)
    sim.seed_followers(users)
    row = broadcasts.create_broadcast(db, config, "Sẽ hủy", "all", "now", T)
    dispatcher = Dispatcher(config, burst_seconds=1.0)
    assert dispatcher.tick(db, T) == 10
    cancelled = broadcasts.cancel_broadcast(db, row["id"], T + 0.5)
    assert cancelled["state"] == "cancelled"
    assert cancelled["progress"]["cancelled"] == 30
    drain(db, client, config, dispatcher, T + 1)
    assert sim.delivered() == []
    with pytest.raises(OutreachError, match="đã ở trạng thái “đã hủy”, không hủy được nữa"):
        broadcasts.cancel_broadcast(db, row["id"], T + 2)


def test_audiences_select_followers_by_tag_ward_and_recent_interaction(zalo_config, db):
    seed_users(db, ["6001", "6002"], T - HOUR, ward="tay-ho")
    seed_users(db, ["6003"], T - 20 * 24 * HOUR, ward="phu-thuong")
    seed_users(db, ["6004"], T - HOUR, follow_state="unfollowed", ward="tay-ho")
    with transaction(db):
        db.execute("INSERT INTO follower_tags VALUES ('hoi-nguoi-cao-tuoi', '6003', 0)")
    zalo = zalo_config.zalo
    assert preview(db, "all", T, zalo)["total"] == 3
    assert preview(db, "ward:Tay-Ho", T, zalo)["total"] == 2
    assert preview(db, "tag:hoi-nguoi-cao-tuoi", T, zalo)["total"] == 1
    assert preview(db, "recent:7", T, zalo)["total"] == 2


@pytest.mark.parametrize(
    "text", ["", "everyone", "tag:", "ward:", "recent:abc", "recent:0", "recent:-3"]
)
def test_bad_audiences_are_refused_with_the_accepted_forms(text):
    with pytest.raises(OutreachError) as refused:
        parse_audience(text)
    assert f"Nhóm người nhận “{text}” không hợp lệ" in str(refused.value)
    assert "all (tất cả), tag:TÊN_NHÃN, ward:MÃ_PHƯỜNG, recent:SỐ_NGÀY" in str(refused.value)


def test_bad_broadcast_input_is_refused_before_anything_is_stored(zalo_config, db):
    cases = [
        ({"text": "  ", "audience": "all", "at": "now"}, "Nội dung thông báo đang trống"),
        ({"text": "x" * 2001, "audience": "all", "at": "now"}, "dài 2001 ký tự, vượt quá .* 2000"),
        ({"text": "Tin", "audience": "all", "at": "mai"}, "Thời điểm gửi “mai” không hợp lệ"),
        (
            {"text": "Tin", "audience": "all", "at": "now", "link_url": "javascript:x"},
            "Đường dẫn “javascript:x” phải là địa chỉ bắt đầu bằng https://",
        ),
        (
            {"text": "Tin", "audience": "all", "at": "now", "image_url": "anh.jpg"},
            "Địa chỉ ảnh “anh.jpg”",
        ),
    ]
    for kwargs, message in cases:
        with pytest.raises(OutreachError, match=message):
            broadcasts.create_broadcast(db, zalo_config, now=T, **kwargs)
    assert broadcasts.list_broadcasts(db, T) == []


def test_link_and_local_send_time_are_kept(zalo_config, db):
    row = broadcasts.create_broadcast(
        db,
        zalo_config,
        "Lịch làm việc",
        "all",
        "2026-12-05T08:00",
        T,
        link_url="https://tayho.hanoi.gov.vn/tin",
        link_title="Xem chi tiết",
    )
    assert row["send_at"] == local(2026, 12, 5, 8, 0).timestamp()
    payload = broadcasts.payload_for(row, "cs", zalo_config.zalo)
    assert payload == {
        "text": "Lịch làm việc",
        "buttons": [{"title": "Xem chi tiết", "url": "https://tayho.hanoi.gov.vn/tin"}],
    }
    pictured = broadcasts.create_broadcast(
        db, zalo_config, "Ảnh", "all", "now", T, image_url="https://tayho.hanoi.gov.vn/a.jpg"
    )
    payload = broadcasts.payload_for(pictured, "cs", zalo_config.zalo)
    assert payload == {"text": "Ảnh", "image_url": "https://tayho.hanoi.gov.vn/a.jpg"}
    assert json.dumps(payload, ensure_ascii=False)


def test_image_and_link_reach_zalo_as_an_image_message_with_a_link_button(
    sim, zalo_config, db, client
):
    seed_users(db, ["7101"], T - HOUR)
    sim.seed_followers(["7101"])
    broadcasts.create_broadcast(
        db,
        zalo_config,
        "Lịch tiếp dân tháng 12",
        "all",
        "now",
        T,
        link_url="https://tayho.hanoi.gov.vn/lich",
        link_title="Xem lịch",
        image_url="https://tayho.hanoi.gov.vn/lich.jpg",
    )
    drain(db, client, zalo_config, Dispatcher(zalo_config), T)
    [sent] = sim.delivered("7101")
    assert sent["text"] == "Lịch tiếp dân tháng 12"
    assert sent["image_url"] == "https://tayho.hanoi.gov.vn/lich.jpg"
    assert sent["buttons"] == [
        {
            "title": "Xem lịch",
            "payload": {"url": "https://tayho.hanoi.gov.vn/lich"},
            "type": "oa.open.url",
        }
    ]


def test_without_buttons_the_link_is_written_under_the_text_and_the_image_still_sent(
    sim, zalo_config, db, client
):
    plain = with_sections(zalo_config, zalo={"buttons": False})
    seed_users(db, ["7102"], T - HOUR)
    sim.seed_followers(["7102"])
    broadcasts.create_broadcast(
        db,
        plain,
        "Lịch tiếp dân",
        "all",
        "now",
        T,
        link_url="https://tayho.hanoi.gov.vn/lich",
        image_url="https://tayho.hanoi.gov.vn/lich.jpg",
    )
    drain(db, client, plain, Dispatcher(plain), T)
    [sent] = sim.delivered("7102")
    assert sent["text"] == "Lịch tiếp dân\n\nXem chi tiết: https://tayho.hanoi.gov.vn/lich"
    assert sent["buttons"] == []
    assert sent["image_url"] == "https://tayho.hanoi.gov.vn/lich.jpg"


def test_a_stale_window_refused_by_zalo_falls_back_to_the_template_once(
    sim, zalo_config, db, client
):
    seed_users(db, ["7001", "7002"], T - HOUR)  # we think both wrote an hour ago
    sim.seed_followers(["7001", "7002"])
    sim.set_last_interaction("7002", int((time.time() - 10 * 86400) * 1000))  # Zalo knows better
    templated = with_sections(zalo_config, zalo={"template_id": "TPL-1"})
    row = broadcasts.create_broadcast(db, templated, "Tin", "all", "now", T)
    drain(db, client, templated, Dispatcher(templated), T)
    kinds = sorted((m["user_id"], m["kind"]) for m in sim.delivered())
    assert kinds == [("7001", "cs"), ("7002", "template")]
    shown = broadcasts.show_broadcast(db, row["id"], T)
    assert shown["progress"]["sent"] == 2 and shown["progress"]["not_reachable"] == 0


def test_without_a_template_a_refused_recipient_is_reported_with_zalos_reason(
    sim, zalo_config, db, client
):
    seed_users(db, ["7101"], T - HOUR)
    sim.seed_followers(["7101"])
    sim.set_last_interaction("7101", int((time.time() - 10 * 86400) * 1000))
    row = broadcasts.create_broadcast(db, zalo_config, "Tin", "all", "now", T)
    drain(db, client, zalo_config, Dispatcher(zalo_config), T)
    shown = broadcasts.show_broadcast(db, row["id"], T)
    assert shown["progress"]["not_reachable"] == 1 and shown["state"] == "done"
    assert "7 days" in next(iter(shown["unreachable_reasons"]))


def test_one_broken_broadcast_does_not_hold_up_the_others(sim, zalo_config, db, client, caplog):
    sim.seed_followers(seed_users(db, ["7201"], T - HOUR))
    with transaction(db):
        db.execute(
            "INSERT INTO broadcasts (text, audience, send_at, state, created_at, updated_at) "
            "VALUES ('hỏng', 'phuong:x', ?, 'scheduled', ?, ?)",
            [T, T, T],
        )
    good = broadcasts.create_broadcast(db, zalo_config, "Tin tốt", "all", "now", T)
    with caplog.at_level("ERROR"):
        assert Dispatcher(zalo_config).tick(db, T) == 1
    assert "dispatch failed" in caplog.text
    assert broadcasts.show_broadcast(db, good["id"], T)["state"] == "sending"
