"""`python -m bot broadcast|followers|dossiers`: output, JSON, and exit 2 on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures_zalo import APP_ID, APP_SECRET, FIRST_REFRESH_TOKEN, OA_ID, OA_SECRET

from bot.cli import main

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
    assert code == 0 and f"#{created['id']} scheduled 2030-01-02 08:00" in out
    code, out, _ = run(capsys, "broadcast", "show", str(created["id"]), "--json")
    assert json.loads(out)["progress"]["total"] == 0
    code, out, _ = run(capsys, "broadcast", "cancel", str(created["id"]))
    assert code == 0 and "cancelled" in out


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
    assert "chạy thử: chưa thay đổi gì" in out
    code, out, _ = run(capsys, "dossiers", "import", str(csv_file), "--json")
    report = json.loads(out)
    assert report["applied"] and report["summary"]["new"] == 1
    code, out, _ = run(capsys, "dossiers", "show", "000.00.01.h26-260930-0012")
    assert code == 0 and "dang_xu_ly" in out


def test_followers_sync_reports_progress(configured, capsys, sim):
    sim.seed_followers([f"6{n:03d}" for n in range(70)], tags=["to-dan-pho-1"])
    code, out, err = run(capsys, "followers", "sync")
    assert code == 0
    assert "followers: 50/70" in err and "followers: 70/70" in err
    assert "70 followers (70 new); tags: to-dan-pho-1 (70)" in out
    code, out, _ = run(capsys, "broadcast", "audience", "tag:to-dan-pho-1")
    assert "70 people" in out and "70 not reachable" in out
