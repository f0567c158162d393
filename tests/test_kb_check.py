"""`kb check` names the file and line of every kind of problem; `kb list` describes each topic."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from bot.cli import main
from bot.kb.check import STANDARD_TOPICS, check_kb, fold

FIXTURES = Path(__file__).parent / "fixtures" / "kb"
GOOD = FIXTURES / "good"
TODAY = dt.date(2026, 11, 25)

BROKEN = [
    # (fixture under broken/, file, line, part of the message)
    ("syntax", "topics/tam-tru.toml", 21, "lỗi cú pháp TOML"),
    ("missing-field", "topics/tam-tru.toml", 1, "thiếu 'fee'"),
    ("empty-field", "topics/tam-tru.toml", 21, "'duration' đang để trống"),
    ("wrong-type", "topics/tam-tru.toml", 22, "'fee' phải là một đoạn văn bản"),
    ("wrong-type-list", "topics/tam-tru.toml", 20, "'documents' phải là một danh sách"),
    ("bad-date", "topics/tam-tru.toml", 5, "'reviewed' phải là một ngày"),
    ("unknown-key", "topics/tam-tru.toml", 23, "khóa lạ 'fees' (có phải 'fee'?)"),
    ("id-mismatch", "topics/tam-tru.toml", 1, "phải trùng tên tệp"),
    ("duplicate-id", "wards.toml", 10, "trùng id 'tay-ho'"),
    ("shared-phrasing", "topics/tam-tru.toml", 16, "trùng với câu ở chủ đề 'ket-hon'"),
    ("too-long", "topics/tam-tru.toml", 20, "'documents' dài"),
    ("http-link", "topics/ket-hon.toml", 27, "phải bắt đầu bằng https://"),
    ("few-questions", "topics/tam-tru.toml", 7, "chỉ có 9 câu"),
    ("bad-ward-key", "topics/ket-hon.toml", 33, "'quang-an' không phải mã phường"),
    ("bad-not-applicable", "topics/tam-tru.toml", 7, "'lệ phí' không phải tên mục"),
    ("bad-new-ward", "wards.toml", 25, "'phu-thuong' không phải id của một [[ward]]"),
    ("missing-text", "texts/general.toml", 1, "thiếu câu chữ 'handover'"),
    ("duplicate-text", "texts/general.toml", 1, "khóa 'welcome' đã có trong"),
    ("bad-placeholder", "texts/general.toml", 1, "ngoặc nhọn { } không khớp"),
    ("menu-title-too-long", "texts/general.toml", 18, "dài 48 ký tự; tối đa 35"),
    ("menu-unknown-topic", "texts/general.toml", 19, "chủ đề 'khai-sinh' không có"),
    ("short-title-too-long", "topics/tam-tru.toml", 3, "'short_title' dài 34 ký tự; tối đa 30"),
    ("not-utf8", "topics/tam-tru.toml", 1, "không phải văn bản UTF-8"),
    ("self-test", "topics/tam-tru.toml", 16, "tự kiểm tra"),
]


SHIPPED_TEXTS = Path(__file__).parent.parent / "knowledge_base" / "texts"


def good_copy(tmp_path: Path) -> Path:
    """The good fixture plus the shipped texts of the other owners (dialogue, outreach).

    Their modules declare REQUIRED_TEXTS, which the check enforces, so the fixture borrows the
    real files rather than copies that would drift.
    """
    root = Path(shutil.copytree(GOOD, tmp_path / "kb"))
    for file in SHIPPED_TEXTS.glob("*.toml"):
        if file.name != "general.toml":
            shutil.copy(file, root / "texts" / file.name)
    return root


def overlay(kind: str, tmp_path: Path) -> Path:
    """The good fixture with the files of broken/<kind> written over it."""
    root = good_copy(tmp_path)
    shutil.copytree(FIXTURES / "broken" / kind, root, dirs_exist_ok=True)
    return root


def errors(problems: list) -> list:
    """Only the errors."""
    return [p for p in problems if p.severity == "error"]


def test_good_fixture_has_no_errors(tmp_path: Path) -> None:
    assert errors(check_kb(good_copy(tmp_path), today=TODAY)) == []


def test_a_knowledge_base_without_the_apology_for_a_failed_message_is_refused(
    tmp_path: Path,
) -> None:
    root = good_copy(tmp_path)
    texts = root / "texts" / "dialogue.toml"
    lines = texts.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if not line.startswith("processing_failed")]
    assert len(kept) == len(lines) - 1
    texts.write_text("\n".join(kept) + "\n", encoding="utf-8")
    found = [str(p) for p in errors(check_kb(root, today=TODAY))]
    assert found == [
        f"{root / 'texts' / 'general.toml'}:1: thiếu câu chữ 'processing_failed' "
        "(bot.inbox cần); hãy thêm vào một tệp trong texts/"
    ]


def test_every_broken_fixture_is_in_the_table() -> None:
    kinds = {p.name for p in (FIXTURES / "broken").iterdir()}
    assert kinds == {row[0] for row in BROKEN} | {"old-review"}


@pytest.mark.parametrize(("kind", "file", "line", "message"), BROKEN, ids=[r[0] for r in BROKEN])
def test_broken_fixture_fails_with_file_and_line(
    kind: str, file: str, line: int, message: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    root = overlay(kind, tmp_path)
    found = errors(check_kb(root, today=TODAY))
    where = f"{root / file}:{line}: "
    assert any(str(p).startswith(where) and message in p.message for p in found), found
    assert main(["kb", "check", "--path", str(root), "--today", TODAY.isoformat()]) == 1
    out = capsys.readouterr().out
    assert where in out and out.rstrip().splitlines()[-1].startswith("KHÔNG ĐẠT")


def test_old_review_date_is_only_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = overlay("old-review", tmp_path)
    problems = check_kb(root, review_max_age_days=365, today=TODAY)
    assert errors(problems) == []
    assert any(
        str(p).startswith(f"{root / 'topics/tam-tru.toml'}:5: cảnh báo: 'reviewed'")
        for p in problems
    )
    assert main(["kb", "check", "--path", str(root), "--today", TODAY.isoformat()]) == 0
    assert "tam-tru.toml:5: cảnh báo" in capsys.readouterr().out


def test_review_age_is_configurable(tmp_path: Path) -> None:
    root = overlay("old-review", tmp_path)
    assert not any("'reviewed'" in p.message for p in check_kb(root, 5000, today=TODAY))


def test_fold_ignores_case_diacritics_and_punctuation() -> None:
    assert fold("Đăng ký KẾT HÔN cần giấy tờ gì?") == "dang ky ket hon can giay to gi"


def test_check_summary_line_and_exit_zero_on_good_fixture(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    root = good_copy(tmp_path)
    assert main(["kb", "check", "--path", str(root), "--today", TODAY.isoformat()]) == 0
    last = capsys.readouterr().out.rstrip().splitlines()[-1]
    assert last.startswith("ĐẠT:") and "2 chủ đề, 0 lỗi" in last


def test_kb_list_json_has_one_object_per_topic(capsys: pytest.CaptureFixture) -> None:
    assert main(["kb", "list", "--json", "--path", str(GOOD)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in rows] == ["ket-hon", "tam-tru"]
    ket_hon = rows[0]
    assert ket_hon["title"] == "Đăng ký kết hôn"
    assert ket_hon["reviewed"] == "2026-11-20"
    assert ket_hon["sources"] == ["https://dichvucong.gov.vn"]
    assert ket_hon["sections"] == [
        "documents",
        "duration",
        "fee",
        "where",
        "online",
        "steps",
        "notes",
    ]
    assert rows[1]["sections"] == ["documents", "duration", "fee", "where", "online"]


def test_kb_list_table_is_readable(capsys: pytest.CaptureFixture) -> None:
    assert main(["kb", "list", "--path", str(GOOD)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("id") and len(lines) == 3
    assert lines[1].startswith("ket-hon ") and lines[1].endswith("Đăng ký kết hôn")


def test_every_kb_command_has_help(capsys: pytest.CaptureFixture) -> None:
    for command in ("check", "list"):
        with pytest.raises(SystemExit):
            main(["kb", command, "--help"])
        assert "--path" in capsys.readouterr().out


def test_shipped_knowledge_base_passes_the_check() -> None:
    root = Path(__file__).parent.parent / "knowledge_base"
    present = {p.stem for p in (root / "topics").glob("*.toml")}
    missing = [t for t in STANDARD_TOPICS if t not in present]
    if missing:
        pytest.skip(f"topics still being written: {len(missing)} missing ({', '.join(missing)})")
    found = errors(check_kb(root))
    assert found == [], "\n".join(str(p) for p in found)
