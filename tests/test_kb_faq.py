"""FAQ entries: read into `Faq`, rendered as question and answer, validated with file:line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from kbfactory import kb_dir, line_no, rewrite

from bot.kb.check import check_kb
from bot.kb.loader import load_kb, read_kb
from bot.kb.render import render_faq

GOOD_FAQ = """
[[faq]]
id = "thue-nha-co-phai-dang-ky"
question = "Thuê nhà ở từ 30 ngày có phải đăng ký tạm trú không?"
phrasings = [
  "thuê trọ 1 tháng có phải đăng ký tạm trú không",
  "thue tro co bat buoc dang ky tam tru khong",
  "ở nhà thuê bao lâu thì phải khai tạm trú",
]
answer = "Có, khi ở từ 30 ngày trở lên ngoài nơi thường trú (Điều 27 Luật Cư trú 2020)."
sources = ["https://thuvienphapluat.vn/van-ban/luat-cu-tru-2020"]

[[faq]]
id = "giam-phi-tam-tru"
question = "Đăng ký tạm trú trực tuyến có được giảm phí không?"
phrasings = [
  "tạm trú online có mất phí không",
  "tam tru online mien phi khong",
  "nộp tạm trú qua vneid có tốn tiền không",
]
valid_from = 2026-08-15
[[faq.answer]]
text = "Miễn lệ phí khi nộp trực tuyến bằng tài khoản VNeID mức 2."
valid_until = 2027-02-28
[[faq.answer]]
text = "Lệ phí theo mức Hà Nội quy định."
valid_from = 2027-03-01
"""


def day(text: str) -> dt.date:
    """A date from ISO text."""
    return dt.date.fromisoformat(text)


def with_faq(tmp_path: Path, entries: str = GOOD_FAQ) -> Path:
    """The fixture with `entries` added at the end of topics/tam-tru.toml."""
    root = kb_dir(tmp_path)
    rewrite(root / "topics" / "tam-tru.toml", append=entries)
    return root


def test_faq_entries_are_read_into_typed_entries(tmp_path: Path) -> None:
    topic = load_kb(with_faq(tmp_path)).topics["tam-tru"]
    first, second = topic.faqs
    assert first.id == "thue-nha-co-phai-dang-ky"
    assert first.phrasings[1] == "thue tro co bat buoc dang ky tam tru khong"
    assert first.sources == ("https://thuvienphapluat.vn/van-ban/luat-cu-tru-2020",)
    assert first.valid_from is None and first.in_force(day("2026-12-01"))
    assert second.valid_from == day("2026-08-15") and second.sources == ()
    assert topic.faq("giam-phi-tam-tru") is second and topic.faq("khong-co") is None


def test_a_dated_answer_gives_the_one_in_force(tmp_path: Path) -> None:
    faq = load_kb(with_faq(tmp_path)).topics["tam-tru"].faqs[1]
    assert faq.answer_on(day("2026-12-01")).startswith("Miễn lệ phí")
    assert faq.answer_on(day("2027-03-01")).startswith("Lệ phí theo mức")
    assert faq.answer == "Lệ phí theo mức Hà Nội quy định."  # undated view: open-ended one
    assert not faq.in_force(day("2026-08-14"))  # before the entry's valid_from
    assert faq.in_force(day("2026-08-15"))


def test_render_faq_puts_the_answer_under_its_question(tmp_path: Path) -> None:
    topic = load_kb(with_faq(tmp_path)).topics["tam-tru"]
    assert render_faq(topic, topic.faqs[0]) == (
        "Thuê nhà ở từ 30 ngày có phải đăng ký tạm trú không?\nCó, khi ở từ 30 ngày trở lên "
        "ngoài nơi thường trú (Điều 27 Luật Cư trú 2020)."
    )
    soon = render_faq(topic, topic.faqs[1], day("2027-01-15"))
    assert soon.endswith("VNeID mức 2. (áp dụng đến hết 28/02/2027)")
    assert render_faq(topic, topic.faqs[1], day("2026-11-01")).endswith("VNeID mức 2.")
    assert "chưa có thông tin" in render_faq(topic, topic.faqs[1], day("2026-01-01"))


def test_good_entries_pass_the_check(tmp_path: Path) -> None:
    problems = check_kb(with_faq(tmp_path), today=day("2026-11-25"), self_test=False)
    assert [p for p in problems if "faq" in p.message] == []


LONG = ("Có. " + "Người thuê nhà phải đăng ký tạm trú. " * 17).strip()
ANSWER = GOOD_FAQ.split("\n")[9]
BAD = [
    # (what is changed in GOOD_FAQ, the text on the reported line, part of the message)
    (
        ('id = "giam-phi-tam-tru"', 'id = "Giảm phí"'),
        'id = "Giảm phí"',
        "id 'Giảm phí' chỉ được gồm chữ thường không dấu, số và dấu gạch ngang",
    ),
    (
        ('id = "giam-phi-tam-tru"', 'id = "thue-nha-co-phai-dang-ky"'),
        'id = "thue-nha-co-phai-dang-ky"\nquestion = "Đăng ký',
        "trùng id 'thue-nha-co-phai-dang-ky' (đã có ở dòng",
    ),
    (
        ('  "ở nhà thuê bao lâu thì phải khai tạm trú",\n', ""),
        "phrasings = [",
        "'phrasings' chỉ có 2 cách hỏi; cần ít nhất 3",
    ),
    (
        (ANSWER, f'answer = "{LONG}"'),
        "answer = ",
        f"câu trả lời dài {len(LONG)} ký tự; tối đa 600",
    ),
    (
        ('"tạm trú online có mất phí không"', '"thuê trọ 1 tháng có phải đăng ký tạm trú không"'),
        '  "thuê trọ 1 tháng có phải đăng ký tạm trú không",\n  "tam tru online',
        "trùng với [[faq]] 'thue-nha-co-phai-dang-ky'",
    ),
    (
        ('"tạm trú online có mất phí không"', '"Gia hạn tạm trú"'),
        '"Gia hạn tạm trú"',
        "cách hỏi 'Gia hạn tạm trú' trùng với 'questions' của chủ đề (dòng 15)",
    ),
    (
        ('answer = "Có, khi', 'answers = "Có, khi'),
        "[[faq]]",
        "thiếu 'answer'",
    ),
    (
        ("valid_from = 2026-08-15", 'valid_from = 2026-08-15\nwhere_by_ward = "x"'),
        "where_by_ward",
        "'where_by_ward' nằm sau [[faq]]",
    ),
]


@pytest.mark.parametrize(("change", "needle", "message"), BAD, ids=[b[2][:30] for b in BAD])
def test_a_bad_faq_entry_is_an_error_at_its_line(
    tmp_path: Path, change: tuple[str, str], needle: str, message: str
) -> None:
    old, new = change
    assert old in GOOD_FAQ
    root = with_faq(tmp_path, GOOD_FAQ.replace(old, new, 1))
    path = root / "topics" / "tam-tru.toml"
    found = [p for p in check_kb(root, today=day("2026-11-25"), self_test=False)]
    where = f"{path}:{line_no(path, needle.split(chr(10))[0])}: "
    if "\n" in needle:  # the second of two identical lines
        text = path.read_text(encoding="utf-8")
        where = f"{path}:{text[: text.index(needle)].count(chr(10)) + 1}: "
    assert any(
        str(p).startswith(where) and message in p.message and p.severity == "error" for p in found
    ), "\n".join(str(p) for p in found)


def test_an_expired_answer_version_is_an_error_and_a_soon_ending_one_a_warning(
    tmp_path: Path,
) -> None:
    root = with_faq(tmp_path)
    path = root / "topics" / "tam-tru.toml"
    line = line_no(path, "valid_until = 2027-02-28")
    soon = [str(p) for p in check_kb(root, today=day("2027-02-01"), self_test=False)]
    assert any(
        s.startswith(f"{path}:{line}: cảnh báo: [[faq]] 'giam-phi-tam-tru', câu trả lời thứ 1,")
        for s in soon
    ), soon
    late = check_kb(root, today=day("2027-03-02"), self_test=False)
    assert [str(p) for p in late if p.severity == "error"] == [
        f"{path}:{line}: [[faq]] 'giam-phi-tam-tru', câu trả lời thứ 1, đã hết hiệu lực "
        "(valid_until = 28/02/2027) nhưng vẫn còn trong tệp; trợ lý không còn nói nội dung "
        "này: hãy xóa phiên bản đã hết hạn"
    ]


def test_a_repeated_phrasing_inside_one_entry_is_a_warning(tmp_path: Path) -> None:
    root = with_faq(
        tmp_path,
        GOOD_FAQ.replace('"tam tru online mien phi khong"', '"Tạm trú online có mất phí không?"'),
    )
    found = check_kb(root, today=day("2026-11-25"), self_test=False)
    repeated = [p for p in found if "bị lặp lại" in p.message]
    assert [p.severity for p in repeated] == ["warning"]


def test_a_phrasing_shared_with_another_topic_is_a_warning(tmp_path: Path) -> None:
    root = with_faq(
        tmp_path, GOOD_FAQ.replace('"tạm trú online có mất phí không"', '"làm giấy kết hôn ở đâu"')
    )
    found = [p for p in check_kb(root, today=day("2026-11-25"), self_test=False)]
    shared = [p for p in found if "cũng có ở chủ đề 'ket-hon'" in p.message]
    assert [p.severity for p in shared] == ["warning"]


def test_faq_entries_of_a_topic_with_an_error_are_not_half_loaded(tmp_path: Path) -> None:
    root = with_faq(tmp_path, GOOD_FAQ.replace('id = "giam-phi-tam-tru"', 'id = ""'))
    kb, problems = read_kb(root)
    assert "tam-tru" not in kb.topics
    assert any("'id' đang để trống" in p.message for p in problems)
