"""Dated versions: the bot states the version in force on the day, `kb check` guards the dates."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from kbfactory import kb_dir, line_no, rewrite

from bot.cli import main
from bot.kb.check import check_kb
from bot.kb.live import LiveKB
from bot.kb.loader import load_kb, read_kb
from bot.kb.render import render_overview, render_section

PLAIN_FEE = 'fee = "Kiểm tra mức lệ phí trên Cổng Dịch vụ công quốc gia hoặc gọi 1022."\n'
DATED_FEE = """
[[fee]]
text = "15.000 đồng (đang giảm 50% đến hết 31/12/2026 theo Thông tư 64/2025/TT-BTC)."
valid_until = 2026-12-31
[[fee]]
text = "30.000 đồng."
valid_from = 2027-01-01
"""


def dated(tmp_path: Path, tables: str = DATED_FEE) -> Path:
    """The fixture with tam-tru's fee written as dated versions at the end of the file."""
    root = kb_dir(tmp_path)
    rewrite(root / "topics" / "tam-tru.toml", PLAIN_FEE, "", tables)
    return root


def day(text: str) -> dt.date:
    """A date from ISO text."""
    return dt.date.fromisoformat(text)


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        ("2026-06-01", "15.000 đồng"),
        ("2026-12-31", "15.000 đồng"),  # valid_until is inclusive
        ("2027-01-01", "30.000 đồng."),  # valid_from is inclusive
        ("2030-01-01", "30.000 đồng."),
    ],
)
def test_the_version_in_force_on_the_day_is_stated(tmp_path: Path, on: str, expected: str) -> None:
    topic = load_kb(dated(tmp_path)).topics["tam-tru"]
    text = render_section(topic, "fee", today=day(on))
    assert text.startswith(f"Đăng ký tạm trú – Lệ phí: {expected}")
    other = "30.000" if expected.startswith("15.000") else "15.000"
    assert other not in text
    assert other not in render_overview(topic, today=day(on))


def test_without_a_day_the_newest_open_ended_version_is_the_plain_value(tmp_path: Path) -> None:
    topic = load_kb(dated(tmp_path)).topics["tam-tru"]
    assert topic.fee == "30.000 đồng." == topic.section("fee")
    assert render_section(topic, "fee", "tay-ho") == "Đăng ký tạm trú – Lệ phí: 30.000 đồng."
    assert [v.valid_until for v in topic.versions["fee"]] == [day("2026-12-31"), None]


def test_list_sections_can_be_dated_too(tmp_path: Path) -> None:
    root = kb_dir(tmp_path)
    rewrite(
        root / "topics" / "tam-tru.toml",
        'documents = ["Tờ khai thay đổi thông tin cư trú (CT01)", "Giấy tờ chứng minh chỗ ở '
        'hợp pháp"]\n',
        "",
        '[[documents]]\ntext = ["Tờ khai CT01"]\nvalid_until = 2026-12-31\n'
        '[[documents]]\ntext = ["Tờ khai CT01 mới", "Giấy tờ chứng minh chỗ ở"]\n'
        "valid_from = 2027-01-01\n",
    )
    topic = load_kb(root).topics["tam-tru"]
    assert topic.section("documents", day("2026-12-01")) == ("Tờ khai CT01",)
    assert render_section(topic, "documents", today=day("2027-01-02")).splitlines()[1:] == [
        "• Tờ khai CT01 mới",
        "• Giấy tờ chứng minh chỗ ở",
    ]


def test_a_version_ending_within_60_days_says_until_when(tmp_path: Path) -> None:
    tables = '[[duration]]\ntext = "Trong ngày làm việc."\nvalid_until = 2027-02-28\n'
    root = kb_dir(tmp_path)
    rewrite(
        root / "topics" / "tam-tru.toml",
        'duration = "Theo quy định; kiểm tra trên Cổng Dịch vụ công quốc gia."\n',
        "",
        tables,
    )
    topic = load_kb(root).topics["tam-tru"]
    soon = render_section(topic, "duration", today=day("2027-01-10"))
    assert soon.endswith("Trong ngày làm việc. (áp dụng đến hết 28/02/2027)")
    far = render_section(topic, "duration", today=day("2026-11-01"))
    assert far.endswith("Trong ngày làm việc.")
    # A text that already gives the end date does not repeat it.
    fee = load_kb(dated(tmp_path / "b")).topics["tam-tru"]
    assert "áp dụng đến hết" not in render_section(fee, "fee", today=day("2026-12-20"))


def test_with_no_version_in_force_the_section_is_absent(tmp_path: Path) -> None:
    root = dated(tmp_path, '[[fee]]\ntext = "30.000 đồng."\nvalid_from = 2027-01-01\n')
    topic = load_kb(root).topics["tam-tru"]
    assert not topic.has_section("fee", day("2026-12-01"))
    assert topic.has_section("fee", day("2027-01-01")) and topic.has_section("fee")
    assert render_section(topic, "fee", today=day("2026-12-01")).endswith("chưa có thông tin.")
    problems = check_kb(root, today=day("2026-12-01"), self_test=False)
    path = root / "topics" / "tam-tru.toml"
    shown = "\n".join(str(p) for p in problems)
    assert f"{path}:{line_no(path, '[[fee]]')}: cảnh báo: 'fee' không có phiên bản nào" in shown


def test_check_warns_30_days_before_a_version_ends(tmp_path: Path) -> None:
    root = dated(tmp_path)
    path = root / "topics" / "tam-tru.toml"
    where = f"{path}:{line_no(path, 'valid_until = 2026-12-31')}: "
    soon = "\n".join(str(p) for p in check_kb(root, today=day("2026-12-01"), self_test=False))
    assert f"{where}cảnh báo: 'fee', phiên bản thứ 1, hết hiệu lực sau ngày 31/12/2026 " in soon
    assert "(còn 30 ngày)" in soon
    earlier = check_kb(root, today=day("2026-11-30"), self_test=False)
    assert not any("hết hiệu lực" in p.message for p in earlier)


def test_check_reports_an_expired_version_as_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    root = dated(tmp_path)
    path = root / "topics" / "tam-tru.toml"
    found = [p for p in check_kb(root, today=day("2027-01-01"), self_test=False)]
    errors = [str(p) for p in found if p.severity == "error"]
    line = line_no(path, "valid_until = 2026-12-31")
    assert errors == [
        f"{path}:{line}: 'fee', phiên bản thứ 1, đã hết hiệu lực (valid_until = 31/12/2026) "
        "nhưng vẫn còn trong tệp; trợ lý không còn nói nội dung này: hãy xóa phiên bản đã hết hạn"
    ]
    args = ["kb", "check", "--path", str(root), "--today", "2027-01-01", "--no-self-test"]
    assert main(args) == 1
    assert f"tam-tru.toml:{line}: 'fee'" in capsys.readouterr().out


def test_the_running_bot_still_loads_a_knowledge_base_with_an_expired_version(
    tmp_path: Path,
) -> None:
    root = dated(tmp_path)
    after = dt.datetime(2027, 1, 2, 3, 0, tzinfo=dt.UTC).timestamp()
    live = LiveKB(root, build=lambda kb: kb, clock=lambda: after)
    assert live.kb is not None and live.status()["ok"]
    topic = live.kb.topics["tam-tru"]
    assert render_section(topic, "fee", today=day("2027-01-02")).endswith("30.000 đồng.")


def test_overlapping_versions_are_an_error_at_the_later_one(tmp_path: Path) -> None:
    root = dated(
        tmp_path,
        '[[fee]]\ntext = "15.000 đồng."\nvalid_until = 2026-12-31\n'
        '[[fee]]\ntext = "30.000 đồng."\nvalid_from = 2026-12-15\n',
    )
    path = root / "topics" / "tam-tru.toml"
    _, problems = read_kb(root)
    second = line_no(path, 'text = "30.000 đồng."') - 1
    assert [str(p) for p in problems] == [
        f"{path}:{second}: 'fee': phiên bản thứ 2 (từ 15/12/2026, không ngày kết thúc) trùng "
        f"thời gian với phiên bản thứ 1 ở dòng {second - 3} (không ngày bắt đầu, đến hết "
        "31/12/2026); mỗi ngày chỉ được có một phiên bản: sửa valid_from / valid_until cho nối "
        "tiếp nhau"
    ]


@pytest.mark.parametrize(
    ("tables", "needle", "message"),
    [
        ("[[fee]]\nvalid_until = 2026-12-31\n", "[[fee]]", "'fee', phiên bản thứ 1: thiếu 'text'"),
        ("[[fee]]\ntext = 15000\n", "text = 15000", "'text' phải là một đoạn văn bản"),
        (
            '[[fee]]\ntext = "a"\nvalid_from = "1/1/2027"\n',
            "valid_from",
            "'valid_from' phải là một ngày dạng 2026-11-20",
        ),
        (
            '[[fee]]\ntext = "a"\nvalid_from = 2027-02-01\nvalid_until = 2027-01-01\n',
            "valid_from",
            "valid_from (01/02/2027) đứng sau valid_until (01/01/2027)",
        ),
        (
            '[[fee]]\ntext = "a"\nnotes = "Lưu ý."\n',
            "notes =",
            "'notes' nằm sau [[fee]] nên bị coi là một phần của bảng đó",
        ),
        (
            '[[fee]]\ntext = "a"\nvalid_untill = 2027-01-01\n',
            "valid_untill",
            "khóa lạ 'valid_untill'",
        ),
    ],
)
def test_a_badly_written_version_is_an_error_at_its_line(
    tmp_path: Path, tables: str, needle: str, message: str
) -> None:
    root = dated(tmp_path, tables)
    path = root / "topics" / "tam-tru.toml"
    _, problems = read_kb(root)
    where = f"{path}:{line_no(path, needle)}: "
    assert any(str(p).startswith(where) and message in p.message for p in problems), problems
    assert not any("thiếu 'fee'" in p.message for p in problems)  # no knock-on error


def test_a_plain_value_and_versions_of_the_same_section_is_a_vietnamese_syntax_error(
    tmp_path: Path,
) -> None:
    root = kb_dir(tmp_path)
    path = rewrite(root / "topics" / "tam-tru.toml", append=DATED_FEE)
    _, problems = read_kb(root)
    assert [str(p) for p in problems] == [
        f"{path}:{line_no(path, '[[fee]]')}: lỗi cú pháp TOML (dòng 26, cột 6): 'fee' đã có giá "
        f"trị thường ở dòng {line_no(path, 'fee = ')} nên không thêm được phiên bản [[fee]]: xóa "
        "dòng fee = ... và chỉ dùng các bảng [[fee]]"
    ]


def test_ask_answers_as_of_the_given_date_and_refuses_a_bad_one(
    capsys: pytest.CaptureFixture,
) -> None:
    from bot.chat_cli import _ask_now

    assert _ask_now("2027-01-01") == dt.datetime(2027, 1, 1, 12, tzinfo=dt.UTC)
    assert _ask_now(None).date() >= dt.date(2026, 12, 1)
    assert main(["ask", "--date", "2027-02-30", "lệ phí căn cước"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        "Lỗi: ngày '2027-02-30' không hợp lệ; viết năm-tháng-ngày, ví dụ --date 2027-01-01"
    )
