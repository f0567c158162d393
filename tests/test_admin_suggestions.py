"""Approved suggestions are written into topic files that stay valid TOML whatever was typed."""

from __future__ import annotations

import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.admin import kbwrite

# What a form can carry: any character except lone surrogates (never valid UTF-8).
TEXTS = st.lists(st.text(st.characters(blacklist_categories=("Cs",)), max_size=80), max_size=6)
TOPIC = """id = "tam-tru"  # a comment with ] and "quotes"
title = "Đăng ký tạm trú"
questions = [
  "thủ tục đăng ký tạm trú",  # comment ]
  "dk tam tru [cho] nguoi thue tro",
]
summary = "x"

[[fee]]
text = "miễn phí"
"""


@settings(max_examples=200, deadline=None)
@given(new=TEXTS)
def test_any_phrasings_round_trip_through_the_topic_file(new: list) -> None:
    text, added = kbwrite.add_phrasings(TOPIC, new)
    data = tomllib.loads(text)
    questions = data["questions"]
    assert questions[:2] == ["thủ tục đăng ký tạm trú", "dk tam tru [cho] nguoi thue tro"]
    assert len(questions) == 2 + added
    assert len({kbwrite.fold_text(q) for q in questions}) == len(questions)  # no repeats
    assert data["summary"] == "x" and data["fee"] == [{"text": "miễn phí"}]
    assert "# a comment with ]" in text  # the file's comments stay


def test_a_phrasing_already_there_without_diacritics_is_not_added() -> None:
    text, added = kbwrite.add_phrasings(
        TOPIC, ["THỦ TỤC ĐĂNG KÝ TẠM TRÚ", "thu tuc dang ky tam tru"]
    )
    assert added == 0 and text == TOPIC


def test_an_faq_entry_is_appended_as_a_table_at_the_end() -> None:
    text = kbwrite.add_faq(
        TOPIC,
        "tam-tru-sinh-vien",
        "Sinh viên thuê trọ có phải đăng ký tạm trú không?",
        [
            "sinh viên có phải đăng ký tạm trú không",
            "sv thue tro co phai dk tam tru",
            "ở trọ có cần tạm trú",
        ],
        "Có. Người ở ngoài nơi thường trú từ 30 ngày trở lên phải đăng ký tạm trú "
        "(Điều 27 Luật Cư trú 2020).",
    )
    faq = tomllib.loads(text)["faq"]
    assert faq[0]["id"] == "tam-tru-sinh-vien" and len(faq[0]["phrasings"]) == 3


@pytest.mark.parametrize(
    ("faq_id", "question", "phrasings", "answer", "problem"),
    [
        ("Bad Id", "Câu hỏi?", ["a", "b", "c"], "Trả lời.", "Mã câu hỏi"),
        ("ok", "x" * 81, ["a", "b", "c"], "Trả lời.", "80 ký tự"),
        ("ok", "Câu hỏi?", ["a"], "Trả lời.", "ít nhất 3"),
        ("ok", "Câu hỏi?", ["a", "b", "c"], "", "600 ký tự"),
    ],
)
def test_a_bad_faq_entry_is_refused_in_vietnamese(
    faq_id: str, question: str, phrasings: list, answer: str, problem: str
) -> None:
    with pytest.raises(kbwrite.WriteRefused) as refused:
        kbwrite.add_faq(TOPIC, faq_id, question, phrasings, answer)
    assert any(problem in p for p in refused.value.problems)


def test_faq_ids_are_made_from_the_question() -> None:
    assert (
        kbwrite.faq_id_for("Bằng lái xe A1 có thời hạn không?")
        == "bang-lai-xe-a1-co-thoi-han-khong"
    )


WITH_FAQS = (
    TOPIC
    + """
[[faq]]
id = "mien-phi"
question = "Đăng ký tạm trú có mất phí không?"
phrasings = ["tạm trú có mất tiền không", "tam tru co mat phi ko", "đăng ký tạm trú bao nhiêu tiền"]
answer = "Không."

[[faq]]
id = "online"
question = "Đăng ký tạm trú online được không?"
phrasings = [
  "tạm trú online",  # a comment ]
  "dk tam tru tren vneid",
  "làm tạm trú trên mạng",
]
answer = "Được, trên VNeID."
"""
)


def test_phrasings_are_added_to_the_chosen_faq_entry_only() -> None:
    text, added = kbwrite.add_faq_phrasings(
        WITH_FAQS, "online", ["đăng ký tạm trú qua điện thoại", "TAM TRU ONLINE"]
    )
    faqs = tomllib.loads(text)["faq"]
    assert added == 1
    assert faqs[1]["phrasings"][-1] == "đăng ký tạm trú qua điện thoại"
    assert len(faqs[0]["phrasings"]) == 3 and tomllib.loads(text)["questions"][:2] == [
        "thủ tục đăng ký tạm trú",
        "dk tam tru [cho] nguoi thue tro",
    ]
    with pytest.raises(kbwrite.WriteRefused):
        kbwrite.add_faq_phrasings(WITH_FAQS, "khong-co", ["x"])
