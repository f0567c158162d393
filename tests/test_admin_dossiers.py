"""Dossier pages: upload, validation preview, apply, search; broken files get clear messages."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from admin_support import Clock, csrf_of, db_of, logged_in, make_app, make_config
from flask import Flask
from flask.testing import FlaskClient

from bot.storage import dossiers as dossier_store

HEADER = "Mã hồ sơ,Thủ tục,Trạng thái,Nơi tiếp nhận,Ngày hẹn trả,Người nộp,Số điện thoại\n"
GOOD = (
    HEADER + "000.00.01.H26-260930-0012,Đăng ký khai sinh,Đang xử lý,UBND phường Tây Hồ,02/12/2026,"
    "Nguyễn Văn An,0912345678\n"
    + "000.00.01.H26-260930-0013,Đăng ký kết hôn,Có kết quả,UBND phường Tây Hồ,,Trần Thị Bình,\n"
    + "SAI-MA,Đăng ký tạm trú,Đang xử lý,UBND phường Tây Hồ,,,\n"
)


@pytest.fixture
def env(tmp_path: Path) -> tuple[Flask, object, FlaskClient]:
    """The app and a one-stop staff login."""
    config = make_config(tmp_path)
    app = make_app(config, Clock())
    return app, config, logged_in(app, config, "staff")


def upload(client: FlaskClient, data: bytes, name: str = "hoso.csv") -> object:
    token = csrf_of(client, "/admin/dossiers")
    return client.post(
        "/admin/dossiers/preview",
        data={"csrf_token": token, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_preview_shows_what_would_change_and_writes_nothing(env: tuple) -> None:
    _, config, client = env
    response = upload(client, GOOD.encode("utf-8-sig"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(r"data-new>2<", page) and re.search(r"data-rejected>1<", page)
    assert "SAI-MA" in page and "000.00.01.H26-260930-0012" in page
    assert "Mã hồ sơ “SAI-MA” không đúng dạng" in page
    assert "02/12/2026" in page and "Đang xử lý" in page
    assert "0912345678" not in page  # phone numbers are never shown
    assert dossier_store.get_dossier(db_of(config), "000.00.01.H26-260930-0012") is None


def test_each_rejected_row_shows_outreachs_own_vietnamese_reason(env: tuple) -> None:
    _, _, client = env
    rows = (
        "000.00.01.H26-260930-0021,,Đang xử lý,UBND phường Tây Hồ,,,\n"
        "000.00.01.H26-260930-0022,Khai sinh,Đang bay,UBND phường Tây Hồ,,,\n"
        "000.00.01.H26-260930-0023,Khai sinh,Đang xử lý,UBND phường Tây Hồ,30/02/2026,,\n"
    )
    page = upload(client, (HEADER + rows).encode()).get_data(as_text=True)
    assert "Cột “Thủ tục” để trống." in page
    assert "Trạng thái “Đang bay” không có trong danh sách trạng thái hồ sơ" in page
    assert "Ngày hẹn trả “30/02/2026” không phải ngày có thật." in page


def test_apply_stores_the_previewed_rows_and_search_finds_them(env: tuple) -> None:
    _, config, client = env
    page = upload(client, GOOD.encode()).get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/admin/dossiers/apply", data={"csrf_token": csrf, "token": token})
    assert response.status_code == 302
    assert dossier_store.get_dossier(db_of(config), "000.00.01.H26-260930-0012")["status"] == (
        "dang_xu_ly"
    )
    notice = client.get("/admin/dossiers").get_data(as_text=True)
    assert "2 hồ sơ mới" in notice and "1 dòng bị bỏ qua" in notice
    found = client.get("/admin/dossiers?code=000.00.01.h26-260930-0012").get_data(as_text=True)
    assert "Đăng ký khai sinh" in found and "N*** V*** A***" in found and "*******678" in found
    replay = client.post("/admin/dossiers/apply", data={"csrf_token": csrf, "token": token})
    assert replay.status_code == 400 and "tải tệp lên lại" in replay.get_data(as_text=True)


def test_an_upload_cannot_be_applied_by_another_account(env: tuple) -> None:
    app, config, client = env
    page = upload(client, GOOD.encode()).get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    other = logged_in(app, config, "admin", "chief")
    csrf = csrf_of(other, "/admin/dossiers")
    response = other.post("/admin/dossiers/apply", data={"csrf_token": csrf, "token": token})
    assert response.status_code == 400
    assert dossier_store.get_dossier(db_of(config), "000.00.01.H26-260930-0012") is None


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "Tệp tải lên trống"),
        (b"\xff\xfe\x00\x00binary\x00junk", "Tệp CSV không dùng được"),
        ("Cột A,Cột B\n1,2\n".encode(), "thiếu cột Mã hồ sơ, Thủ tục, Trạng thái, Nơi tiếp nhận"),
        (HEADER.encode() + b'"' + b"x" * 200_000 + b'"\n', "lỗi định dạng"),
        (b"M\xe3 h\xf4 s\xf5;Th\xf9 t\xfac\n", "Tệp không phải văn bản UTF-8"),
    ],
)
def test_broken_csv_is_refused_with_a_clear_message(env: tuple, data: bytes, message: str) -> None:
    _, _, client = env
    response = upload(client, data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_a_garbled_row_is_listed_as_rejected_with_its_line(env: tuple) -> None:
    _, _, client = env
    data = GOOD.encode() + b'"unterminated,\x00,x\n'
    page = upload(client, data).get_data(as_text=True)
    assert re.search(r"data-new>2<", page) and re.search(r"data-rejected>2<", page)
    assert "<td>5</td>" in page


def test_hostile_cells_are_shown_escaped(env: tuple) -> None:
    _, _, client = env
    hostile = HEADER + "<script>alert(1)</script>,<b>x</b>,Đang xử lý,<i>UB</i>,,,\n"
    page = upload(client, hostile.encode()).get_data(as_text=True)
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_file_over_the_size_limit_is_refused_with_a_clear_message(env: tuple) -> None:
    _, _, client = env
    response = upload(client, HEADER.encode() + b"x" * (6 * 1024 * 1024))
    assert response.status_code == 413 and "tối đa 5 MB" in response.get_data(as_text=True)


def test_search_explains_a_malformed_or_unknown_code(env: tuple) -> None:
    _, _, client = env
    bad = client.get("/admin/dossiers?code=<script>").get_data(as_text=True)
    assert "không đúng dạng" in bad and "<script>" not in bad.split("<main>")[1]
    unknown = client.get("/admin/dossiers?code=000.00.01.H26-260930-9999").get_data(as_text=True)
    assert "Không tìm thấy hồ sơ" in unknown


def test_comms_accounts_cannot_import_dossiers(env: tuple) -> None:
    app, config, _ = env
    comms = logged_in(app, config, "comms")
    assert comms.get("/admin/dossiers").status_code == 403


def test_search_shows_the_reminders_sent_for_a_dossier(env: tuple) -> None:
    _, config, client = env
    page = upload(client, GOOD.encode()).get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/admin/dossiers/apply", data={"csrf_token": csrf, "token": token})
    code = "000.00.01.H26-260930-0012"
    db = db_of(config)
    dossier_store.record_reminder(db, code, "777", "appointment:2026-12-02", 1.79e9, "cs", "queued")
    dossier_store.record_reminder(db, code, "778", "result_ready", 1.79e9, None, "unreachable")
    found = client.get(f"/admin/dossiers?code={code}").get_data(as_text=True)
    assert "Nhắc lịch hẹn ngày 02/12/2026 · đã gửi đi" in found
    assert "Báo đã có kết quả · không liên lạc được" in found
