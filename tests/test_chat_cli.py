"""`python -m bot ask` and `chat`: the command-line contract external checks rely on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KEYS = ["question", "kind", "topic", "section", "faq", "candidates", "score", "reply"]


def run(args: list[str], stdin: str = "", cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """Run `python -m bot ARGS` with no configuration file."""
    env = {k: v for k, v in os.environ.items() if k != "BOT_CONFIG"}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def conversation() -> list[dict]:
    stdin = "làm giấy khai sinh cần gì\nthế lệ phí bao nhiêu?\n\ngiá vàng hôm nay\n"
    done = run(["ask", "--json"], stdin)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_ask_json_prints_one_object_per_message_with_the_contract_keys(conversation) -> None:
    assert len(conversation) == 3
    assert all(list(record) == KEYS for record in conversation)


def test_ask_reads_stdin_lines_as_one_conversation(conversation) -> None:
    first, follow_up, other = conversation
    assert (first["kind"], first["topic"], first["section"]) == ("answer", "khai-sinh", "documents")
    assert (follow_up["topic"], follow_up["section"]) == ("khai-sinh", "fee")
    assert other["kind"] == "fallback" and other["topic"] is None
    assert isinstance(other["candidates"], list) and isinstance(other["score"], float)


def test_ask_independent_treats_each_line_as_a_fresh_conversation() -> None:
    done = run(["ask", "--json", "--independent"], "làm khai sinh ở đâu\nlệ phí bao nhiêu\n")
    first, second = [json.loads(line) for line in done.stdout.splitlines()]
    assert first["topic"] == "khai-sinh"
    assert second["topic"] is None and second["kind"] != "answer"


def test_ask_with_a_question_argument_prints_the_reply(tmp_path: Path) -> None:
    done = run(["ask", "dang ky ket hon o dau"], cwd=tmp_path)  # no config, other folder
    assert done.returncode == 0, done.stderr
    assert "Đăng ký kết hôn" in done.stdout


def test_ask_topic_is_set_only_when_the_bot_commits() -> None:
    done = run(["ask", "--json", "xin chào"])
    (record,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert record["kind"] == "smalltalk" and record["topic"] is None


def test_chat_answers_and_taps_a_button_by_number() -> None:
    done = run(["chat"], "thủ tục đăng ký khai sinh\n3\n")
    assert done.returncode == 0, done.stderr
    assert "[1]" in done.stdout
    assert "Lệ phí" in done.stdout or "Thời gian" in done.stdout


@pytest.mark.parametrize("command", ["ask", "chat"])
def test_every_command_has_help(command: str) -> None:
    done = run([command, "--help"])
    assert done.returncode == 0 and done.stdout.startswith("Cách dùng:")


def test_ask_reports_a_broken_knowledge_base_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        f'[bot]\nknowledge_base = "{tmp_path / "missing"}"\n', encoding="utf-8"
    )
    done = run(["ask", "xin chào"], cwd=tmp_path)
    assert done.returncode == 2
    assert "Lỗi cơ sở tri thức:" in done.stderr and "Traceback" not in done.stderr
