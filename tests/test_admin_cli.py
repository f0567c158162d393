"""`python -m bot admin create-user`: accounts from the terminal, password from stdin."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from bot import storage
from bot.admin.security import check_password
from bot.storage import admin as admin_store
from bot.storage import core

ROOT = REPO = Path(__file__).resolve().parent.parent


def run(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    """Run the CLI against a config whose database is in `tmp_path`."""
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\ndatabase = "{tmp_path / "bot.db"}"\n', encoding="utf-8")
    env = {**os.environ, "BOT_CONFIG": str(config), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "bot", "admin", *args],
        input=stdin,
        text=True,
        capture_output=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )


def test_create_user_reads_the_password_from_stdin_and_stores_a_hash(tmp_path: Path) -> None:
    result = run(tmp_path, "create-user", "lan", "--role", "staff", stdin="mot-mat-khau-dai\n")
    assert result.returncode == 0, result.stderr
    assert "Tài khoản lan (Cán bộ một cửa) đã tạo" in result.stdout
    account = admin_store.get_account(storage.connect(tmp_path / "bot.db"), "lan")
    assert account["role"] == "staff"
    assert check_password(account["password_hash"], "mot-mat-khau-dai")
    assert "mot-mat-khau-dai" not in account["password_hash"]


def test_create_user_again_replaces_password_and_role(tmp_path: Path) -> None:
    run(tmp_path, "create-user", "lan", "--role", "staff", stdin="mot-mat-khau-dai\n")
    result = run(tmp_path, "create-user", "lan", "--role", "admin", stdin="mat-khau-moi-hon\n")
    assert result.returncode == 0 and "đã cập nhật" in result.stdout
    account = admin_store.get_account(storage.connect(tmp_path / "bot.db"), "lan")
    assert account["role"] == "admin" and check_password(
        account["password_hash"], "mat-khau-moi-hon"
    )


def test_create_user_refuses_a_short_password(tmp_path: Path) -> None:
    result = run(tmp_path, "create-user", "lan", "--role", "staff", stdin="ngan\n")
    assert result.returncode == 1 and "ít nhất 10 ký tự" in result.stderr
    assert admin_store.get_account(storage.connect(tmp_path / "bot.db"), "lan") is None


def test_create_user_refuses_an_unknown_role(tmp_path: Path) -> None:
    result = run(tmp_path, "create-user", "lan", "--role", "boss", stdin="mot-mat-khau-dai\n")
    assert result.returncode == 2 and "lựa chọn không hợp lệ: 'boss'" in result.stderr


def test_create_user_has_help(tmp_path: Path) -> None:
    result = run(tmp_path, "create-user", "--help")
    assert result.returncode == 0 and "stdin" in result.stdout and "--role" in result.stdout


def test_kb_test_runs_the_staffs_own_questions_against_the_matcher(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    shutil.copytree(REPO / "knowledge_base", kb, ignore=shutil.ignore_patterns("suggestions"))
    (kb / "kiem-thu.toml").write_text(
        '[[case]]\nquestion = "bố mất thì báo tử ở đâu"\ntopic = "khai-tu"\n\n'
        '[[case]]\nquestion = "chết thì báo ở đâu"\ntopic = "khai-tu"\n',
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "bot", "kb", "test", "--path", str(kb)]
    failed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert failed.returncode == 1, failed.stderr
    assert "SAI: “chết thì báo ở đâu”: outcome=" in failed.stdout
    assert "(cần 'answer')" in failed.stdout
    assert "1/2 câu hỏi kiểm thử đúng" in failed.stdout
    (kb / "kiem-thu.toml").write_text('[[case]]\nquestion = "x"\n', encoding="utf-8")
    broken = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert broken.returncode == 2 and "cần “topic”, “faq” hoặc “outcome”" in broken.stderr


def test_every_help_text_of_the_staff_commands_is_vietnamese() -> None:
    for argv in (
        ["--help"],
        ["kb", "--help"],
        ["kb", "check", "--help"],
        ["kb", "test", "--help"],
        ["admin", "create-user", "--help"],
        ["broadcast", "create", "--help"],
    ):
        out = subprocess.run(
            [sys.executable, "-m", "bot", *argv], cwd=REPO, capture_output=True, text=True
        ).stdout
        assert out.startswith("Cách dùng:"), argv
        for english in ("usage:", "options:", "show this help", "positional arguments"):
            assert english not in out, (argv, english)


def test_outcomes_are_classified_from_the_terminal(tmp_path: Path) -> None:
    db = storage.connect(tmp_path / "bot.db")
    core.record_turn(db, None, "u1", 1_700_000_000.0, "fallback", None, None, 0.1)
    db.conn.close()
    first = run(tmp_path, "outcomes")
    assert first.returncode == 0 and "Đã phân loại 1 lượt hỏi" in first.stdout, first.stderr
    assert "Đã phân loại 0 lượt hỏi" in run(tmp_path, "outcomes").stdout
