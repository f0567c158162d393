"""TOML syntax errors are told in Vietnamese, name the key and its line, and come first."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from kbfactory import kb_dir, rewrite

from bot.cli import main
from bot.kb.check import check_kb
from bot.kb.loader import read_kb

TODAY = dt.date(2026, 11, 25)

SYNTAX = [
    # (text written over tam-tru's duration line, line reported, the message after "lỗi cú pháp")
    (
        "duration = Theo quy định.",
        21,
        "(dòng 21, cột 12): giá trị của 'duration' phải đặt trong ngoặc kép",
    ),
    (
        'duration = "Theo quy định.',
        21,
        "văn bản của 'duration' thiếu dấu ngoặc kép đóng \" ở cuối dòng 21",
    ),
    (
        'duration = [\n  "Một ngày"\n  "Hai ngày",\n]',
        23,
        "danh sách của 'duration' (bắt đầu ở dòng 21) bị hỏng ở đây: thiếu dấu phẩy",
    ),
    (
        'duration = [\n  "Một ngày",',
        23,
        "danh sách của 'duration' (bắt đầu ở dòng 21) chưa có dấu ] đóng trước dòng 23",
    ),
    (
        'duration = "Theo "quy định" mới."',
        21,
        "sau giá trị của 'duration' còn chữ thừa (cột 19): nếu văn bản có dấu ngoặc kép",
    ),
    (
        'duration "Theo quy định."',
        21,
        "thiếu dấu = sau 'duration'",
    ),
    (
        'fee = "Miễn phí."',
        22,
        "'fee' được viết hai lần (đã có ở dòng 21); mỗi khóa chỉ viết một lần",
    ),
    (
        'duration = "Theo quy định."\nnotes = 2026-13-01',
        22,
        "ngày của 'notes' không có thật hoặc viết sai",
    ),
    (
        'duration = """Theo\nquy định.',
        25,
        "văn bản của 'duration' (bắt đầu ở dòng 21) chưa được đóng",
    ),
]


@pytest.mark.parametrize(("written", "line", "message"), SYNTAX, ids=[s[2][:28] for s in SYNTAX])
def test_a_syntax_error_is_told_in_vietnamese_with_its_key_and_line(
    tmp_path: Path, written: str, line: int, message: str
) -> None:
    root = kb_dir(tmp_path)
    path = rewrite(
        root / "topics" / "tam-tru.toml",
        'duration = "Theo quy định; kiểm tra trên Cổng Dịch vụ công quốc gia."',
        written,
    )
    _, problems = read_kb(root)
    assert len(problems) == 1, problems
    problem = problems[0]
    assert str(problem).startswith(f"{path}:{line}: lỗi cú pháp TOML"), problem
    assert message in problem.message
    assert problem.unreadable
    assert not any(word in problem.message for word in ("Invalid", "Expected", "line", "column"))


def test_the_syntax_error_comes_first_without_knock_on_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    root = kb_dir(tmp_path)
    # The menu opens tam-tru, which then cannot be read; texts/general.toml sorts before topics/.
    rewrite(
        root / "texts" / "general.toml", 'payload = "đăng ký tạm trú"', 'payload = "#topic:tam-tru"'
    )
    rewrite(root / "topics" / "tam-tru.toml", 'fee = "', 'fee = "Miễn phí.\nx = "')
    problems = check_kb(root, today=TODAY, self_test=False)
    errors = [p for p in problems if p.severity == "error"]
    assert len(errors) == 1 and errors[0] is problems[0]
    assert "lỗi cú pháp TOML (dòng 22, cột 17)" in errors[0].message
    assert not any("tam-tru" in p.message for p in problems)  # not listed as missing anywhere
    args = ["kb", "check", "--path", str(root), "--today", TODAY.isoformat(), "--no-self-test"]
    assert main(args) == 1
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(f"{root / 'topics' / 'tam-tru.toml'}:22: lỗi cú pháp TOML")


def test_a_broken_texts_file_is_not_followed_by_missing_text_errors(tmp_path: Path) -> None:
    root = kb_dir(tmp_path)
    rewrite(root / "texts" / "general.toml", 'welcome = "Xin chào', "welcome = Xin chào")
    problems = check_kb(root, today=TODAY, self_test=False)
    errors = [str(p) for p in problems if p.severity == "error"]
    assert errors == [
        f"{root / 'texts' / 'general.toml'}:1: lỗi cú pháp TOML (dòng 1, cột 11): giá trị của "
        "'welcome' phải đặt trong ngoặc kép: viết welcome = \"...\" (ngày thì viết "
        "năm-tháng-ngày, ví dụ 2026-11-20, không ngoặc kép)"
    ]


def test_a_file_that_is_not_utf8_is_also_a_root_cause(tmp_path: Path) -> None:
    root = kb_dir(tmp_path)
    (root / "texts" / "general.toml").write_bytes('welcome = "Xin chào"\n'.encode("cp1258"))
    problems = check_kb(root, today=TODAY, self_test=False)
    assert problems[0].unreadable and "không phải văn bản UTF-8" in problems[0].message
    assert not any("thiếu câu chữ" in p.message for p in problems)
