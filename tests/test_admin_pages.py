"""Dashboard figures, unanswered questions, the hand-over queue, KB status and accounts pages."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from admin_support import T0, Clock, StaticKB, csrf_of, db_of, logged_in, make_app, make_config
from flask import Flask

from bot.admin import charts, dates, quality
from bot.storage import broadcasts as broadcast_store
from bot.storage import core, kbstate
from bot.storage import dossiers as dossier_store
from bot.storage import reports as report_store

HANOI = dates.zone("Asia/Ho_Chi_Minh")
DAY = 86400


@pytest.fixture
def env(tmp_path: Path) -> tuple[Flask, object, Clock]:
    """The app, its config and its clock."""
    config = make_config(tmp_path)
    clock = Clock()
    return make_app(config, clock), config, clock


def local(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> float:
    """Epoch seconds of a Hà Nội wall-clock time."""
    return dt.datetime(y, m, d, hh, mm, tzinfo=HANOI).timestamp()


def seed_turns(config: object) -> None:
    """Two days of turns: 3 citizens on 10/11, 1 citizen on 12/11 (23:30 local)."""
    db = db_of(config)
    for user, kind, topic in [
        ("u1", "answer", "tam-tru"),
        ("u1", "answer", "tam-tru"),
        ("u2", "answer", "ket-hon"),
        ("u2", "choices", None),
        ("u3", "fallback", None),
        ("u3", "welcome", None),
    ]:
        core.record_turn(db, None, user, local(2026, 11, 10), kind, topic, None, 0.8)
    core.record_turn(db, None, "u4", local(2026, 11, 12, 23, 30), "answer", "tam-tru", None, 0.9)
    core.add_rating(db, "u1", "tam-tru", True, local(2026, 11, 10))
    core.add_rating(db, "u2", "ket-hon", False, local(2026, 11, 10))
    core.add_rating(db, "u4", "tam-tru", True, local(2026, 11, 12))
    core.enqueue(db, "rm:1:u3", "u3", {"text": "x"}, local(2026, 11, 11), source="reminder")
    db.execute("UPDATE outbox SET status = 'unreachable' WHERE key = 'rm:1:u3'")


# Reports --------------------------------------------------------------------------------------


def test_activity_is_counted_per_local_day(env: tuple) -> None:
    _, config, _ = env
    seed_turns(config)
    lo, hi = dates.epoch_bounds(dt.date(2026, 11, 10), dt.date(2026, 11, 12), HANOI)
    db = db_of(config)
    quality.refresh(db, T0)
    found = quality.figures(db, lo, hi, 7 * 3600, T0)
    assert found["daily"] == [
        (dt.date(2026, 11, 10), 6, 3),
        (dt.date(2026, 11, 11), 0, 0),
        (dt.date(2026, 11, 12), 1, 1),  # 23:30 local, 16:30 UTC
    ]
    assert found["people"] == 4


def test_dashboard_shows_the_figures_of_the_chosen_range(env: tuple) -> None:
    app, config, _ = env
    seed_turns(config)
    client = logged_in(app, config, "staff")
    page = client.get("/admin/?from=10/11/2026&to=12/11/2026").get_data(as_text=True)
    assert "Từ 10/11/2026 đến 12/11/2026" in page
    tiles = re.findall(r'<span class="big">([^<]+)</span>', page)
    # citizens, messages, well answered (3 of 6 questions: u2's answer got a 👎, its choices and
    # u3's fallback were left unanswered), unreachable
    assert tiles[:4] == ["4", "7", "50.0%", "1"]
    assert "Đăng ký tạm trú" in page and "Đăng ký kết hôn" in page  # titles from the knowledge base
    assert page.count('class="bar s0"') == 3 and page.count('class="bar s1"') == 3
    assert "10/11/2026 · Tin nhắn: 6" in page
    only_first_day = client.get("/admin/?from=2026-11-10&to=2026-11-10").get_data(as_text=True)
    assert re.findall(r'<span class="big">([^<]+)</span>', only_first_day)[:2] == ["3", "6"]


def seed_missed(config: object) -> None:
    """Citizens not reached on 11/11 by every route the dashboard must see (u3 as in seed_turns).

    u3: also a broadcast recipient who had unfollowed; u5: a broadcast recipient never written
    to; u6: a reminder never queued; u7: refused by Zalo then re-sent as a template (reached);
    u8: refused by Zalo as outside the 7-day window; u9: a reminder missed on 20/11 (outside).
    """
    db = db_of(config)
    day = local(2026, 11, 11)
    bc = broadcast_store.insert_broadcast(db, "Lịch tiếp dân", "all", day, "done", day)
    db.conn.executemany(
        "INSERT INTO broadcast_deliveries (broadcast_id, user_id, status, reason, handed_at) "
        "VALUES (?, ?, 'unreachable', ?, ?)",
        [
            (bc, "u3", "unfollowed", day),
            (bc, "u5", "no interaction recorded and no template configured", day),
        ],
    )
    reason = "outside the free window and no template configured"
    dossier_store.record_reminder(
        db, "HS-1", "u6", "result_ready", day, None, "unreachable", reason
    )
    dossier_store.record_reminder(
        db, "HS-2", "u9", "result_ready", local(2026, 11, 20), None, "unreachable", reason
    )
    for user, follow_up in (("u7", True), ("u8", False)):
        key = f"bc:{bc}:{user}"
        core.enqueue(db, key, user, {"text": "x"}, day, source="broadcast", source_id=str(bc))
        db.execute("UPDATE outbox SET status = 'template_needed' WHERE key = ?", [key])
        if follow_up:
            core.enqueue(db, key + ":template", user, {"template_id": "T"}, day, source="broadcast")


def test_unreachable_citizens_are_counted_once_across_outbox_broadcasts_and_reminders(
    env: tuple,
) -> None:
    _, config, _ = env
    seed_turns(config)
    seed_missed(config)
    lo, hi = dates.epoch_bounds(dt.date(2026, 11, 10), dt.date(2026, 11, 12), HANOI)
    found = report_store.unreachable_recipients(db_of(config), lo, hi)
    assert found["total"] == 4  # u3, u5, u6, u8
    assert found["by_source"] == {"broadcast": 3, "reminder": 2}
    assert found["by_reason"] == {
        "no interaction recorded and no template configured": 1,
        "outside the free window and no template configured": 1,
        "template_needed": 1,
        "unfollowed": 1,
        "unreachable": 1,
    }


def test_dashboard_shows_unreachable_citizens_with_their_reasons(env: tuple) -> None:
    app, config, _ = env
    seed_turns(config)
    seed_missed(config)
    client = logged_in(app, config, "staff")
    page = client.get("/admin/?from=10/11/2026&to=12/11/2026").get_data(as_text=True)
    assert re.findall(r'<span class="big">([^<]+)</span>', page)[3] == "4"
    assert "<li>Thông báo: 3 người</li>" in page and "<li>Nhắc hẹn: 2 người</li>" in page
    assert "<li>đã bỏ quan tâm OA: 1 người</li>" in page
    assert "<li>quá 48 giờ chưa nhắn tin với OA: 1 người</li>" in page
    assert "<li>quá 7 ngày chưa tương tác, Zalo chỉ cho gửi tin mẫu: 1 người</li>" in page


@pytest.mark.parametrize(
    "query, message",
    [
        ("from=31/02/2026", "không hợp lệ"),
        ("from=12/11/2026&to=10/11/2026", "trước hoặc bằng"),
        ("from=01/01/2020&to=01/01/2026", "tối đa là 366 ngày"),
        ("from=<script>alert(1)</script>", "&lt;script&gt;"),
    ],
)
def test_dashboard_explains_a_bad_date_range(env: tuple, query: str, message: str) -> None:
    app, config, _ = env
    page = logged_in(app, config, "comms").get(f"/admin/?{query}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert message in text and "<script>alert" not in text


def test_daily_chart_bars_stay_inside_the_plot() -> None:
    days = [dt.date(2026, 11, 1) + dt.timedelta(n) for n in range(30)]
    chart = charts.daily_chart(days, {"a": list(range(30)), "b": [7] * 30})
    assert len(chart.bars) == 60 and not chart.empty
    for bar in chart.bars:
        assert chart.left <= bar.x and bar.x + bar.width <= chart.left + chart.plot_width + 0.01
        assert (
            chart.top - 0.01 <= bar.y and bar.y + bar.height <= chart.top + chart.plot_height + 0.01
        )
    assert len(chart.x_ticks) <= 10
    assert float(chart.y_ticks[-1].label) >= 29


@pytest.mark.parametrize("peak", [0, 1, 3, 7, 29, 101, 980, 12345])
def test_axis_maximum_is_round_and_covers_the_peak(peak: int) -> None:
    top, step = charts.nice_ceiling(peak)
    assert top >= peak and top % step == 0 and 1 <= top / step <= 5
    assert str(step).rstrip("0").rstrip(".")[0] in "125"  # 1, 2, 2.5 or 5 times a power of ten
    assert top < 2 * peak or peak < 4


# Hand-over ------------------------------------------------------------------------------------


def seed_handover(config: object) -> None:
    db = db_of(config)
    core.touch_user(db, "8800", T0 - 500, follow_state="follower")
    core.record_inbound(
        db,
        "m1",
        "user_send_text",
        "8800",
        "m1",
        "Tôi muốn gặp cán bộ <b>ngay</b>",
        "1",
        0,
        T0 - 400,
    )
    core.enqueue(db, "r1", "8800", {"text": "Tôi đã chuyển câu hỏi cho cán bộ."}, T0 - 399)
    core.set_handover(db, "8800", True, T0 - 399, reason="người dân yêu cầu")
    core.set_handover(db, "9900", False, T0 - 10)


def test_handover_queue_lists_flagged_conversations_with_recent_messages(env: tuple) -> None:
    app, config, _ = env
    seed_handover(config)
    page = logged_in(app, config, "staff").get("/admin/handover").get_data(as_text=True)
    assert "8800" in page and "9900" not in page
    assert "Tôi muốn gặp cán bộ &lt;b&gt;ngay&lt;/b&gt;" in page
    assert "Tôi đã chuyển câu hỏi cho cán bộ." in page
    assert 'href="https://oa.zalo.me/manage/chatv2"' in page
    assert "người dân yêu cầu" in page


def test_giving_a_conversation_back_to_the_bot_clears_the_flag(env: tuple) -> None:
    app, config, _ = env
    seed_handover(config)
    client = logged_in(app, config, "staff")
    token = csrf_of(client, "/admin/handover")
    response = client.post("/admin/handover/8800/release", data={"csrf_token": token})
    assert response.status_code == 302
    assert core.load_conversation(db_of(config), "8800")["handover"] == 0
    page = client.get("/admin/handover").get_data(as_text=True)
    assert "Đã trả cuộc trò chuyện cho bot" in page and "8800" not in page
    twice = client.post("/admin/handover/8800/release", data={"csrf_token": token})
    assert twice.status_code == 404 and "không còn trong hàng chờ" in twice.get_data(as_text=True)


# Knowledge base status ------------------------------------------------------------------------


def test_kb_status_highlights_stale_topics_and_shows_the_last_errors(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    live = StaticKB(
        config.bot.knowledge_base,
        last_errors=["topics/tam-tru.toml:3: 'fee' phải là chữ"],
        last_error_at=T0 - 60,
    )
    reviewed = min(t.reviewed for t in live.kb.topics.values())
    later = dt.datetime.combine(reviewed + dt.timedelta(days=400), dt.time(12), HANOI)
    clock = Clock(later.timestamp())
    app = make_app(config, clock, live)
    # the answering process (the scheduler's turn worker) reports its knowledge base's state
    kbstate.report(db_of(config), "host:1:answering", live.status(), clock.now)
    page = logged_in(app, config, "comms").get("/admin/kb").get_data(as_text=True)
    assert page.count('class="stale"') >= 1 and "quá hạn" in page
    assert "topics/tam-tru.toml:3: &#39;fee&#39; phải là chữ" in page
    assert dates.fmt_time(T0 - 600, HANOI, True) in page  # last good load
    assert reviewed.strftime("%d/%m/%Y") in page


def test_kb_check_runs_on_demand_and_lists_problems(env: tuple) -> None:
    app, config, _ = env
    page = logged_in(app, config, "admin").get("/admin/kb/check").get_data(as_text=True)
    assert "Kết quả kiểm tra" in page


# Accounts -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "username, password, message",
    [
        ("hoa", "ngan", "ít nhất 10 ký tự"),
        ("<script>", "mot-mat-khau-dai", "chỉ gồm chữ không dấu"),
        ("x" * 5000, "mot-mat-khau-dai", "quá dài"),
    ],
)
def test_bad_account_input_gets_a_clear_message(
    env: tuple, username: str, password: str, message: str
) -> None:
    app, config, _ = env
    client = logged_in(app, config, "admin")
    token = csrf_of(client, "/admin/accounts")
    response = client.post(
        "/admin/accounts",
        data={"csrf_token": token, "username": username, "password": password, "role": "staff"},
    )
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert message in text and "<script>" not in text.split("<main>")[1]


def test_huge_form_fields_are_refused_with_a_clear_message(env: tuple) -> None:
    app, config, _ = env
    client = logged_in(app, config, "admin")
    token = csrf_of(client, "/admin/accounts")
    response = client.post(
        "/admin/accounts", data={"csrf_token": token, "username": "x" * 2_000_000}
    )
    assert response.status_code == 413
    assert "quá lớn" in response.get_data(as_text=True)
