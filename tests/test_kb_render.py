"""Answers rendered from a topic are plain, short, headed and keep links on their own line."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot.kb.loader import load_kb
from bot.kb.model import ANSWER_SECTIONS, SECTION_LABELS, Faq
from bot.kb.render import (
    BULLET,
    RENDERABLE,
    render_overview,
    render_section,
    render_sources,
    render_summary,
    rendered_answers,
)

GOOD = Path(__file__).parent / "fixtures" / "kb" / "good"
KB = load_kb(GOOD)
KET_HON = KB.topics["ket-hon"]


def test_documents_are_bullets_under_a_heading() -> None:
    text = render_section(KET_HON, "documents")
    lines = text.splitlines()
    assert lines[0] == "Đăng ký kết hôn – Hồ sơ cần chuẩn bị:"
    assert lines[1:] == [BULLET + d for d in KET_HON.documents]


def test_short_section_fits_on_one_line() -> None:
    assert render_section(KET_HON, "fee") == f"Đăng ký kết hôn – Lệ phí: {KET_HON.fee}"


def test_online_link_is_on_its_own_line() -> None:
    lines = render_section(KET_HON, "online").splitlines()
    assert lines[-1] == "https://dichvucong.gov.vn"
    assert lines[1] == KET_HON.online


def test_where_uses_the_ward_text_when_there_is_one() -> None:
    assert render_section(KET_HON, "where", "tay-ho").endswith(KET_HON.where_by_ward["tay-ho"])
    assert render_section(KET_HON, "where", KB.wards["tay-ho"]).endswith("657 Lạc Long Quân.")
    assert render_section(KET_HON, "where", "hong-ha").endswith(KET_HON.where)


def test_steps_are_numbered() -> None:
    assert render_section(KET_HON, "steps").splitlines()[1:] == [
        "1. Nộp tờ khai",
        "2. Hai bên cùng có mặt ký và nhận giấy chứng nhận",
    ]


def test_not_applicable_and_empty_sections_say_so() -> None:
    skipped = dataclasses.replace(KET_HON, not_applicable=frozenset({"fee"}))
    assert (
        render_section(skipped, "fee") == "Đăng ký kết hôn – Lệ phí: không áp dụng cho thủ tục này."
    )
    assert "Lệ phí" not in render_overview(skipped)
    assert render_section(KB.topics["tam-tru"], "notes").endswith(": chưa có thông tin.")


def test_unknown_section_is_refused() -> None:
    with pytest.raises(ValueError):
        render_section(KET_HON, "price")


def test_overview_has_summary_every_section_and_review_date() -> None:
    text = render_overview(KET_HON)
    assert text.startswith("ĐĂNG KÝ KẾT HÔN\n\n" + KET_HON.summary)
    for heading in ("Hồ sơ cần chuẩn bị:", "Thời gian giải quyết:", "Lệ phí:", "Nơi nộp hồ sơ:"):
        assert heading in text
    assert "\nhttps://dichvucong.gov.vn\n" in text
    assert text.endswith("Thông tin cập nhật ngày 20/11/2026.")


def test_rendered_answers_cover_every_section_and_ward() -> None:
    answers = rendered_answers(KET_HON)
    assert set(answers) == {"summary", *RENDERABLE, "where_by_ward.tay-ho"}
    assert answers["where_by_ward.tay-ho"].endswith(KET_HON.where_by_ward["tay-ho"])


def test_summary_is_the_title_line_and_summary_only() -> None:
    text = render_summary(KET_HON)
    assert text == f"ĐĂNG KÝ KẾT HÔN\n{KET_HON.summary}"
    assert KET_HON.fee not in text and "Hồ sơ cần chuẩn bị" not in text
    assert len(text) < len(render_overview(KET_HON))


def test_summary_without_a_summary_is_the_title_line() -> None:
    bare = dataclasses.replace(KET_HON, summary="")
    assert render_summary(bare) == "ĐĂNG KÝ KẾT HÔN"


def test_sources_show_state_links_as_official_and_others_only_when_there_is_none() -> None:
    press = ("https://vnexpress.net/a", "https://chinhphu.vn/b", "https://x.gov.vn/c")
    text = render_section(dataclasses.replace(KET_HON, sources=press), "sources")
    assert "Nguồn chính thức:\nhttps://chinhphu.vn/b\nhttps://x.gov.vn/c\nThông tin" in text
    assert "vnexpress" not in text
    many = tuple(f"https://bao{n}.vn/a" for n in range(6))
    text = render_section(dataclasses.replace(KET_HON, sources=many), "sources")
    assert "Nguồn tham khảo:" in text and text.count("https://") == 3


def test_sources_give_legal_basis_official_links_and_review_date() -> None:
    assert render_section(KET_HON, "sources") == (
        "Đăng ký kết hôn – Căn cứ pháp lý:\n"
        "• Luật Hộ tịch 2014\n"
        "• Nghị định 123/2015/NĐ-CP\n"
        "Nguồn chính thức:\n"
        "https://dichvucong.gov.vn\n"
        "Thông tin cập nhật ngày 20/11/2026."
    )


def test_sources_that_name_an_act_are_listed_with_the_legal_basis() -> None:
    assert render_section(KB.topics["tam-tru"], "sources") == (
        "Đăng ký tạm trú – Căn cứ pháp lý:\n• Luật Cư trú 2020\nThông tin cập nhật ngày 20/11/2026."
    )


def test_eligibility_is_an_answer_section_after_online() -> None:
    assert ANSWER_SECTIONS[-2:] == ("online", "eligibility")
    assert SECTION_LABELS["eligibility"] == "Điều kiện, đối tượng"
    assert SECTION_LABELS["sources"] == "Căn cứ pháp lý"
    assert not KET_HON.has_section("eligibility")
    assert "Điều kiện" not in render_overview(KET_HON)
    with_it = dataclasses.replace(KET_HON, eligibility="Nam từ đủ 20 tuổi, nữ từ đủ 18 tuổi.")
    assert with_it.has_section("eligibility")
    assert render_section(with_it, "eligibility") == (
        "Đăng ký kết hôn – Điều kiện, đối tượng: Nam từ đủ 20 tuổi, nữ từ đủ 18 tuổi."
    )
    overview = render_overview(with_it)
    assert "Điều kiện, đối tượng: Nam từ đủ 20 tuổi" in overview
    assert overview.index("Nộp trực tuyến") < overview.index("Điều kiện, đối tượng")


def test_sources_after_an_faq_answer_use_the_entry_s_own_links() -> None:
    faq = Faq("a", "Câu hỏi?", ("a", "b", "c"), "Trả lời.", sources=("https://vbpl.vn/x",))
    text = render_sources(KET_HON, faq)
    assert "https://vbpl.vn/x" in text and "https://dichvucong.gov.vn" not in text
    assert text.startswith("Đăng ký kết hôn – Căn cứ pháp lý:\n• Luật Hộ tịch 2014")
    assert render_sources(KET_HON) == render_section(KET_HON, "sources")
    assert render_sources(KET_HON, dataclasses.replace(faq, sources=())) == render_sources(KET_HON)
