"""Broadcast pages: create with audience counts, schedule, approve drafts, cancel, progress."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from admin_support import T0, Clock, csrf_of, db_of, logged_in, make_app, make_config
from flask import Flask
from flask.testing import FlaskClient

from bot.admin import dates
from bot.outreach import broadcasts as outreach
from bot.storage import core

HANOI = dates.zone("Asia/Ho_Chi_Minh")


@pytest.fixture
def env(tmp_path: Path) -> tuple[Flask, object, Clock, FlaskClient]:
    """The app, three followers (two reachable, one silent for a month) and a comms login."""
    config = make_config(tmp_path)
    clock = Clock()
    app = make_app(config, clock)
    db = db_of(config)
    core.touch_user(db, "1001", T0 - 3600, follow_state="follower")
    core.touch_user(db, "1002", T0 - 7200, follow_state="follower")
    core.touch_user(db, "1003", T0 - 30 * 86400, follow_state="follower")
    core.touch_user(db, "1004", T0 - 3600, follow_state="unfollowed")
    return app, config, clock, logged_in(app, config, "comms")


def local_input(epoch: float) -> str:
    """What staff type for `epoch`: dd/mm/yyyy HH:MM, Hà Nội time."""
    return dt.datetime.fromtimestamp(epoch, HANOI).strftime("%d/%m/%Y %H:%M")


def create(client: FlaskClient, **fields: str) -> object:
    token = csrf_of(client, "/admin/broadcasts/new")
    data = {
        "csrf_token": token,
        "text": "Thông báo lịch tiếp dân",
        "audience": "all",
        "when": "now",
        "action": "send",
        **fields,
    }
    return client.post("/admin/broadcasts", data=data)


def test_new_broadcast_form_shows_the_recipient_count(env: tuple) -> None:
    _, _, _, client = env
    page = client.get("/admin/broadcasts/new").get_data(as_text=True)
    assert "<strong data-total>3</strong> người nhận" in page
    assert "<span data-cs>2</span> nhận tin nhắn thường" in page
    assert "<span data-unreachable>1</span> không liên lạc được" in page
    assert "quá 48 giờ chưa nhắn tin với OA" in page
    counts = client.get("/admin/broadcasts/audience?audience=recent:7").get_json()
    assert counts["total"] == 2 and counts["cs"] == 2
    assert client.get("/admin/broadcasts/audience?audience=bogus").status_code == 400


def test_scheduling_a_broadcast_for_later_keeps_it_scheduled(env: tuple) -> None:
    _, config, _, client = env
    when = T0 + 2 * 3600
    response = create(client, when="later", send_at=local_input(when))
    assert response.status_code == 302
    row = outreach.list_broadcasts(db_of(config), T0)[0]
    assert row["state"] == "scheduled" and abs(row["send_at"] - when) < 60
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Đã hẹn giờ" in page and dates.fmt_time(row["send_at"], HANOI) in page
    assert "Đã lên lịch gửi thông báo" in page


def test_send_now_is_due_immediately_and_progress_is_reported(env: tuple) -> None:
    app, config, clock, client = env
    location = create(client).headers["Location"]
    broadcast_id = int(location.rsplit("/", 1)[1])
    outreach.Dispatcher(config).tick(db_of(config), T0 + 1)
    progress = client.get(f"/admin/broadcasts/{broadcast_id}/progress").get_json()
    assert progress["state"] == "sending" and progress["state_label"] == "Đang gửi"
    assert progress["progress"]["total"] == 3
    assert progress["progress"]["not_reachable"] == 1  # silent for a month, no template
    assert progress["progress"]["pending"] == 2


def test_a_draft_is_approved_then_can_be_cancelled(env: tuple) -> None:
    _, config, _, client = env
    location = create(client, action="draft").headers["Location"]
    broadcast_id = int(location.rsplit("/", 1)[1])
    page = client.get(location).get_data(as_text=True)
    assert "Nháp chờ duyệt" in page and "Duyệt và gửi" in page
    token = csrf_of(client, location)
    client.post(f"/admin/broadcasts/{broadcast_id}/approve", data={"csrf_token": token})
    assert outreach.show_broadcast(db_of(config), broadcast_id, T0)["state"] == "scheduled"
    again = client.post(f"/admin/broadcasts/{broadcast_id}/approve", data={"csrf_token": token})
    assert again.status_code == 400 and "trạng thái nháp" in again.get_data(as_text=True)
    client.post(f"/admin/broadcasts/{broadcast_id}/cancel", data={"csrf_token": token})
    assert outreach.show_broadcast(db_of(config), broadcast_id, T0)["state"] == "cancelled"
    twice = client.post(f"/admin/broadcasts/{broadcast_id}/cancel", data={"csrf_token": token})
    assert twice.status_code == 400 and "đã bị hủy" in twice.get_data(as_text=True)


def test_news_drafts_are_listed_for_approval(env: tuple) -> None:
    _, config, _, client = env
    outreach.create_broadcast(
        db_of(config), config, "Tin mới: lịch nghỉ Tết", "all", None, T0, draft=True, source="news"
    )
    page = client.get("/admin/broadcasts").get_data(as_text=True)
    assert "Tin mới: lịch nghỉ Tết" in page and "tin tức" in page and "Nháp chờ duyệt" in page
    assert "1 thông báo nháp đang chờ duyệt" in page


def test_broadcast_text_is_shown_escaped_in_the_preview_and_list(env: tuple) -> None:
    _, _, _, client = env
    location = create(client, text="<script>alert('x')</script> & <img src=x onerror=1>")
    page = client.get(location.headers["Location"]).get_data(as_text=True)
    assert "<script>alert" not in page and "<img src=x" not in page
    assert (
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;img src=x onerror=1&gt;" in page
    )
    listing = client.get("/admin/broadcasts").get_data(as_text=True)
    assert "<script>alert" not in listing


def test_preview_shows_the_link_as_a_button_and_the_image_as_zalo_sends_them(env: tuple) -> None:
    _, config, _, client = env
    location = create(client, link_url="https://tayho.hanoi.gov.vn/lich", link_title="Xem lịch")
    page = client.get(location.headers["Location"]).get_data(as_text=True)
    assert '<span class="bubble-button">Xem lịch</span>' in page
    assert "Xem lịch: https://tayho.hanoi.gov.vn/lich" not in page
    pictured = outreach.create_broadcast(
        db_of(config), config, "Ảnh", "all", None, T0, image_url="https://tayho.hanoi.gov.vn/a.jpg"
    )
    page = client.get(f"/admin/broadcasts/{pictured['id']}").get_data(as_text=True)
    assert "Ảnh đính kèm: https://tayho.hanoi.gov.vn/a.jpg" in page
    form = client.get("/admin/broadcasts/new").get_data(as_text=True)
    assert "data-preview-button hidden" in form and "data-preview-link" not in form


def test_preview_writes_the_link_under_the_text_when_the_oa_shows_no_buttons(
    tmp_path: Path,
) -> None:
    base = make_config(tmp_path)
    config = dataclasses.replace(base, zalo=dataclasses.replace(base.zalo, buttons=False))
    app = make_app(config, Clock())
    client = logged_in(app, config, "comms")
    location = create(client, link_url="https://tayho.hanoi.gov.vn/lich", link_title="Xem lịch")
    page = client.get(location.headers["Location"]).get_data(as_text=True)
    assert "Xem lịch: https://tayho.hanoi.gov.vn/lich</span>" in page
    assert "bubble-button" not in page


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"text": ""}, "Vui lòng nhập “Nội dung”"),
        ({"text": "x" * 2001}, "tối đa 2000 ký tự"),
        ({"audience": "tag:khong-ton-tai"}, "Nhóm người nhận không hợp lệ"),
        ({"when": "later", "send_at": "hôm qua"}, "không hợp lệ"),
        ({"when": "later", "send_at": "01/01/2020 08:00"}, "đã qua"),
        ({"link_url": "javascript:alert(1)"}, "https://"),
    ],
)
def test_bad_broadcast_input_gets_a_clear_message(env: tuple, fields: dict, message: str) -> None:
    _, config, _, client = env
    response = create(client, **fields)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert outreach.list_broadcasts(db_of(config), T0) == []


@pytest.mark.parametrize("action", ["", "/progress", "/approve", "/cancel"])
def test_unknown_broadcast_is_a_clear_404(env: tuple, action: str) -> None:
    _, _, _, client = env
    token = csrf_of(client, "/admin/broadcasts")
    if action in ("/approve", "/cancel"):
        response = client.post(f"/admin/broadcasts/999{action}", data={"csrf_token": token})
    else:
        response = client.get(f"/admin/broadcasts/999{action}")
    assert response.status_code == 404
    assert "Không tìm thấy thông báo" in response.get_data(as_text=True)


def test_a_notice_waits_for_a_page_and_is_not_eaten_by_progress_polling(env: tuple) -> None:
    _, _, _, client = env
    location = create(client).headers["Location"]
    assert client.get(f"{location}/progress").status_code == 200
    assert "Đã lên lịch gửi thông báo" in client.get(location).get_data(as_text=True)
    assert "Đã lên lịch gửi thông báo" not in client.get(location).get_data(as_text=True)


def test_a_refused_broadcast_keeps_what_staff_typed(env: tuple) -> None:
    _, _, _, client = env
    response = create(
        client,
        text="Lịch tiếp dân <b>mới</b>",
        when="later",
        send_at="31/02/2026 08:00",
        audience="recent:30",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "31/02/2026 08:00" in page and "không hợp lệ" in page
    assert "Lịch tiếp dân &lt;b&gt;mới&lt;/b&gt;</textarea>" in page
    assert '<option value="recent:30" selected>' in page
    assert 'name="when" value="later" checked' in page
