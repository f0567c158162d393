"""Diacritics put back before a message is embedded (bot/understanding/accents.py).

The embedding model reads Vietnamese typed without diacritics poorly, and citizens type so on
their phones: the spellings come from the knowledge base's own texts, chosen by context.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_names import SHIPPED, strip_marks

from bot.understanding.accents import Accents

SHIPPED_ACCENTS = SHIPPED.accents


@pytest.mark.parametrize(
    "typed",
    [
        "chủ nhà có phải đi cùng không",  # "cung" is cùng here, not cũng or cung
        "Mẹ tôi 80 tuổi không có lương hưu, có được trợ cấp không?",
        "làm thẻ chip mất bao lâu",
        "đăng ký kết hôn cần giấy tờ gì",
    ],
)
def test_a_message_typed_without_diacritics_gets_them_back(typed) -> None:
    assert SHIPPED_ACCENTS.restore(strip_marks(typed)) == typed


def test_abbreviations_are_written_out() -> None:
    assert SHIPPED_ACCENTS.restore("dk ket hon o dau") == "đăng ký kết hôn ở đâu"
    assert SHIPPED_ACCENTS.restore("lam cccd o dau") == "làm căn cước công dân ở đâu"


def test_words_typed_with_diacritics_and_unknown_words_stay_as_typed() -> None:
    # a citizen's own spelling is theirs, even where the knowledge base would write another
    assert SHIPPED_ACCENTS.restore("tôi cũng đi") == "tôi cũng đi"
    assert SHIPPED_ACCENTS.restore("xyzzy, tam tru") == "xyzzy, tạm trú"
    assert SHIPPED_ACCENTS.restore("") == ""


def test_spellings_are_learned_from_the_texts_given_and_not_from_plain_ones() -> None:
    accents = Accents(["Đăng ký hộ kinh doanh", "dang ky ho kinh doanh nhanh"], {})
    assert accents.restore("dang ky ho kinh doanh nhanh") == "đăng ký hộ kinh doanh nhanh"
    assert Accents([], {}).restore("dang ky") == "dang ky"


def test_context_decides_between_spellings_of_the_same_letters() -> None:
    accents = Accents(["Tôi đi làm.", "Trời tối rồi.", "Đi cùng chủ nhà."], {})
    assert accents.restore("toi di lam") == "tôi đi làm"
    assert accents.restore("troi toi roi") == "trời tối rồi"


def test_the_embedding_reads_a_plain_message_as_the_same_message_with_diacritics() -> None:
    dense = SHIPPED.dense
    assert dense is not None, "the semantic signal must load in tests"
    typed = "mẹ tôi không có lương hưu có được trợ cấp không"
    plain, marked = dense.scores(strip_marks(typed)), dense.scores(typed)
    assert np.allclose(plain.topics, marked.topics)


def test_plain_words_in_a_message_typed_with_diacritics_are_meant_so() -> None:
    accents = Accents(["Còn hồ sơ thì sao.", "Còn lại."], {"dk": "đăng ký"})
    assert accents.restore("con lai") == "còn lại"
    assert accents.restore("hồ sơ cho con") == "hồ sơ cho con"
    assert accents.restore("dk hồ sơ cho con") == "đăng ký hồ sơ cho con"


def test_a_capitalised_word_inside_a_sentence_is_read_as_part_of_a_name() -> None:
    accents = Accents(["Nhà ở phường Tây Hồ.", "Hộ khẩu ở hộ này.", "Nghệ thuật ăn uống."], {})
    assert accents.restore("nha o phuong Tay Ho") == "nhà ở phường Tây Hồ"
    assert accents.restore("Ho khau nha o Nghe An") == "Hộ khẩu nhà ở Nghe An"
    assert accents.restore("ho khau o nghe an") == "hộ khẩu ở nghệ ăn"  # no capitals: no name


def test_a_spelling_is_settled_only_where_the_knowledge_base_wrote_it_beside_that_neighbour():
    accents = Accents(["Chủ nhà đi cùng.", "Anh/chị cũng được.", "Bản sao y."], {})
    assert accents.settled(["chu", "nha", "di", "cung"]) == ["chủ", "nhà", "đi", "cùng"]
    # "ban" starts a text only as "Bản": the start of a text is no neighbour, so a guess
    assert accents.settled(["ban", "la", "ai"])[0] is None
    assert accents.settled(["chủ", "nhà", "đi", "cung"]) == [None] * 4  # typed with diacritics
