"""`python -m bot broadcast|followers|dossiers`: output, JSON, and exit 2 on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fixtures_zalo import APP_ID, APP_SECRET, FIRST_REFRESH_TOKEN, OA_ID, OA_SECRET

from bot import storage
from bot.cli import main
from bot.storage import dossiers as dossier_store

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def configured(tmp_path, monkeypatch, sim):
    path = tmp_path / "config.toml"
    path.write_text(
        f'[zalo]\napp_id = "{APP_ID}"\noa_id = "{OA_ID}"\noa_secret_key = "{OA_SECRET}"\n'
        f'app_secret = "{APP_SECRET}"\nrefresh_token = "{FIRST_REFRESH_TOKEN}"\n'
        f'api_base_url = "{sim.url}"\noauth_base_url = "{sim.url}"\n'
        f'[storage]\ndatabase = "{tmp_path / "bot.db"}"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("BOT_CONFIG", str(path))
    return tmp_path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_broadcast_create_list_show_cancel(configured, capsys):
    code, out, _ = run(
        capsys,
        "broadcast",
        "create",
        "--text",
        "Lịch tiếp dân tháng 12",
        "--audience",
        "all",
        "--at",
        "2030-01-02T08:00",
        "--json",
    )
    assert code == 0
    created = json.loads(out)
    assert created["state"] == "scheduled" and created["audience_preview"]["total"] == 0
    code, out, _ = run(capsys, "broadcast", "list")
    assert code == 0 and f"#{created['id']} đã hẹn giờ     2030-01-02 08:00" in out
    assert "[0 người nhận: đã gửi 0, không gửi được 0" in out
    code, out, _ = run(capsys, "broadcast", "show", str(created["id"]), "--json")
    assert json.loads(out)["progress"]["total"] == 0
    code, out, _ = run(capsys, "broadcast", "cancel", str(created["id"]))
    assert code == 0 and out.startswith(f"Đã hủy thông báo: #{created['id']} đã hủy ")


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["broadcast", "create", "--text", "x", "--audience", "phuong"],
            "Lỗi: Nhóm người nhận “phuong” không hợp lệ",
        ),
        (
            ["broadcast", "create", "--text", "x", "--audience", "all", "--at", "mai"],
            "Lỗi: Thời điểm gửi “mai” không hợp lệ",
        ),
        (["broadcast", "show", "41"], "Lỗi: Không có thông báo số 41."),
        (["broadcast", "approve", "41"], "Lỗi: Không có thông báo số 41."),
        (
            ["dossiers", "import", "/nonexistent/ho-so.csv"],
            "Lỗi: Không đọc được tệp /nonexistent/ho-so.csv",
        ),
        (["dossiers", "show", "000.00.01.H26-260930-9999"], "Lỗi: Không có hồ sơ mã"),
    ],
)
def test_bad_input_gives_a_clear_message_and_exit_2(configured, capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_argument_errors_exit_2_without_a_traceback(configured):
    result = subprocess.run(
        [sys.executable, "-m", "bot", "broadcast", "show", "abc"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_dossier_import_dry_run_then_apply(configured, capsys):
    csv_file = configured / "ho-so.csv"
    csv_file.write_bytes(
        "\ufeffMã hồ sơ,Thủ tục,Trạng thái,Nơi tiếp nhận,Ngày hẹn trả\r\n"
        "000.00.01.H26-260930-0012,Khai sinh,Đang xử lý,UBND phường Tây Hồ,02/12/2026\r\n"
        "sai-ma,Khai sinh,Đang xử lý,UBND phường Tây Hồ,02/12/2026\r\n".encode()
    )
    code, out, _ = run(capsys, "dossiers", "import", str(csv_file), "--dry-run")
    assert code == 0
    assert "1 hồ sơ mới, 0 thay đổi, 0 không đổi, 1 dòng lỗi" in out
    assert "dòng 3: bỏ qua sai-ma: Mã hồ sơ “sai-ma” không đúng dạng" in out
    assert "Chạy thử: chưa thay đổi gì." in out
    code, out, _ = run(capsys, "dossiers", "import", str(csv_file), "--json")
    report = json.loads(out)
    assert report["applied"] and report["summary"]["new"] == 1
    code, out, _ = run(capsys, "dossiers", "show", "000.00.01.h26-260930-0012")
    assert code == 0
    assert "Trạng thái: Đang xử lý (dang_xu_ly)" in out and "Ngày hẹn trả: 02/12/2026" in out


def test_followers_sync_reports_progress(configured, capsys, sim):
    sim.seed_followers([f"6{n:03d}" for n in range(70)], tags=["to-dan-pho-1"])
    code, out, err = run(capsys, "followers", "sync")
    assert code == 0
    assert "Đang tải người quan tâm: 50/70" in err and "Đang tải người quan tâm: 70/70" in err
    assert "Đang tải nhãn to-dan-pho-1: 70/70" in err
    assert "Đã đồng bộ 70 người quan tâm (70 người mới); nhãn: to-dan-pho-1 (70)" in out
    code, out, _ = run(capsys, "broadcast", "audience", "tag:to-dan-pho-1")
    assert "70 người: 0 nhận qua tin tư vấn, 0 qua tin mẫu, 70 không gửi được" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["broadcast", "--help"],
        ["broadcast", "create", "--help"],
        ["broadcast", "show", "--help"],
        ["followers", "sync", "--help"],
        ["dossiers", "import", "--help"],
    ],
)
def test_help_is_in_vietnamese_and_keeps_the_option_names(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    assert out.startswith("Cách dùng: python -m bot " + argv[0])
    assert "tùy chọn:" in out and "hiện hướng dẫn này rồi thoát" in out
    assert "usage:" not in out and "show this help" not in out


def test_create_help_lists_the_contract_options_with_vietnamese_text(capsys):
    with pytest.raises(SystemExit):
        main(["broadcast", "create", "--help"])
    out = capsys.readouterr().out
    for option in ("--text", "--at", "--audience", "--link", "--link-title", "--image", "--draft"):
        assert option in out
    assert "lưu bản nháp để duyệt sau" in out and "tag:TÊN_NHÃN" in out


def test_a_draft_is_reported_as_saved_for_approval(configured, capsys):
    code, out, _ = run(
        capsys, "broadcast", "create", "--text", "Lịch tiêm chủng", "--audience", "all", "--draft"
    )
    assert code == 0 and out.startswith("Đã lưu bản nháp: #")
    assert "nháp chờ duyệt" in out and "Người nhận hiện nay: 0 người" in out
    code, out, _ = run(capsys, "broadcast", "list", "--limit", "5")
    assert "nháp chờ duyệt" in out and "Lịch tiêm chủng" in out


def test_dossier_show_lists_reminders_in_vietnamese(configured, capsys):
    csv_file = configured / "ho-so.csv"
    csv_file.write_text(
        "Mã hồ sơ,Thủ tục,Trạng thái,Nơi tiếp nhận,Ngày hẹn trả,Số điện thoại\n"
        "000.00.01.H26-260930-0012,Khai sinh,Đang xử lý,UBND phường Tây Hồ,02/12/2026,"
        "0912345678\n",
        encoding="utf-8",
    )
    assert run(capsys, "dossiers", "import", str(csv_file))[0] == 0
    db = storage.connect(configured / "bot.db")
    code = "000.00.01.H26-260930-0012"
    dossier_store.record_reminder(db, code, "777", "appointment:2026-12-02", 1.79e9, "cs", "queued")
    dossier_store.record_reminder(
        db, code, "778", "result_ready", 1.79e9, None, "unreachable", "unfollowed"
    )
    status, out, _ = run(capsys, "dossiers", "show", code)
    assert status == 0
    assert "Số điện thoại: *******678" in out and "0912345678" not in out
    assert "nhắc lịch hẹn 02/12/2026: tin tư vấn, đã đưa vào hàng gửi" in out
    assert "báo có kết quả: không gửi được, đã bỏ quan tâm OA" in out


def test_a_past_send_time_is_refused_and_now_sends_now(configured, capsys):
    argv = ["broadcast", "create", "--text", "Lịch tiếp dân", "--audience", "all"]
    code, _, err = run(capsys, *argv, "--at", "2020-01-02T08:00")
    assert code == 2 and "Lỗi: Thời điểm gửi 02/01/2020 08:00 đã qua" in err and "--now" in err
    code, _, err = run(capsys, *argv)
    assert code == 2 and "--at THỜI_ĐIỂM" in err and "--now" in err
    code, _, err = run(capsys, *argv, "--now", "--at", "2030-01-02T08:00")
    assert code == 2 and "Chỉ dùng một trong hai" in err
    code, out, _ = run(capsys, *argv, "--now", "--json")
    assert code == 0 and json.loads(out)["state"] == "scheduled"
    assert abs(json.loads(out)["send_at"] - time.time()) < 60


def test_a_night_time_is_accepted_with_a_warning_that_it_waits_for_morning(configured, capsys):
    argv = ["broadcast", "create", "--text", "Lịch tiếp dân", "--audience", "all"]
    code, _, err = run(capsys, *argv, "--at", "2030-01-02T23:30")
    assert code == 0
    assert "Lưu ý: 23:30 nằm trong giờ nghỉ" in err and "sẽ chờ đến" in err


def test_an_old_ward_is_refused_naming_the_new_wards(configured, capsys):
    argv = ["broadcast", "create", "--text", "Thông báo", "--at", "2030-01-02T08:00"]
    code, _, err = run(capsys, *argv, "--audience", "ward:xuan-la")
    assert code == 2 and "“ward:xuan-la” là phường cũ" in err
    assert "ward:tay-ho (Phường Tây Hồ)" in err and "Các phường hợp lệ:" in err
    code, _, err = run(capsys, *argv, "--audience", "ward:khong-co")
    assert code == 2 and "Không có phường “khong-co”" in err and "ward:phu-thuong" in err
    code, _, err = run(capsys, *argv, "--audience", "tag:khong-co")
    assert code == 2 and "Nhãn “khong-co” không có ai" in err
    code, _, _ = run(capsys, *argv, "--audience", "ward:tay-ho")
    assert code == 0


def test_a_dossier_row_with_a_short_phone_is_imported_with_a_warning(configured, capsys):
    csv_file = configured / "ho-so.csv"
    csv_file.write_text(
        "Mã hồ sơ,Thủ tục,Trạng thái,Nơi tiếp nhận,Số điện thoại\n"
        "000.00.01.H26-260930-0012,Khai sinh,Đang xử lý,UBND phường Tây Hồ,09123\n",
        encoding="utf-8",
    )
    code, out, _ = run(capsys, "dossiers", "import", str(csv_file))
    assert code == 0 and "1 hồ sơ mới" in out and "0 dòng lỗi" in out
    assert "dòng 2: nhập 000.00.01.H26-260930-0012, lưu ý: Số điện thoại (đuôi 123)" in out
