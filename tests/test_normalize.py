"""The normaliser: keyboards, look-alikes, tone placement, vocabulary; idempotence."""

from __future__ import annotations

import tomllib
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.understanding.normalize import (
    Lexicon,
    Vocabulary,
    accent_key,
    clean,
    fold,
    normalize,
    tone_key,
)

VOCAB_FILE = Path(__file__).resolve().parent.parent / "knowledge_base" / "vocabulary.toml"
SHIPPED = tomllib.loads(VOCAB_FILE.read_text(encoding="utf-8"))
VOCAB = Vocabulary.build(SHIPPED.get("abbreviations", {}), SHIPPED.get("phrases", {}))


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("Đăng ký kết hôn", "dang ki ket hon"),
        (nfd("Đăng ký kết hôn"), "dang ki ket hon"),
        ("\u00d0ăng ký thường trú", "dang ki thuong tru"),  # legacy ETH for Đ
        ("\u00f0ăng ký", "dang ki"),
        ("khai\u200bsinh", "khaisinh"),
        ("khai\u00a0sinh", "khai sinh"),
        ("khai\ufeff sinh", "khai sinh"),
        ("Hoà bình", "hoa binh"),
        ("Hòa bình", "hoa binh"),
        ("thuỷ", "thuy"),
        ("thủy", "thuy"),
        ("qúy", "quy"),
        ("lựơng", "luong"),
        ("nghịêm", "nghiem"),
        ("kí tên", "ki ten"),
        ("ký tên", "ki ten"),
        ("lý lịch", "li lich"),
        ("LÀM CĂN CƯỚC Ở ĐÂU???", "lam can cuoc o dau"),
        ("khai-sinh, kết_hôn!", "khai sinh ket hon"),
        ("huỳnh khuỷu", "huynh khuyu"),
    ],
)
def test_folded_key_ignores_keyboard_and_tone_placement(typed: str, folded: str) -> None:
    assert normalize(typed).folded == folded


def test_clean_keeps_accents_in_nfc_and_lower_case() -> None:
    assert clean(nfd("Đăng  Ký!")) == "đăng ký"


@pytest.mark.parametrize(
    ("a", "b"), [("hoà", "hòa"), ("khoẻ", "khỏe"), ("thuỷ", "thủy"), ("qúy", "quý")]
)
def test_accent_key_is_independent_of_tone_mark_position(a: str, b: str) -> None:
    assert accent_key(a) == accent_key(b)


def test_accent_key_separates_different_tones() -> None:
    assert accent_key("thuế") != accent_key("thuê")


@pytest.mark.parametrize(
    ("a", "b"), [("hoà", "hòa"), ("sửa", "sữa"), ("kỹ", "kỷ"), ("ký", "kí"), ("Đổi", "đỗi")]
)
def test_tone_key_ignores_placement_and_merges_hoi_with_nga(a: str, b: str) -> None:
    assert tone_key(a) == tone_key(b)


@pytest.mark.parametrize(
    ("a", "b"), [("giảm", "giám"), ("quần", "quận"), ("hồi", "hỏi"), ("cân", "cần"), ("đài", "đai")]
)
def test_tone_key_separates_other_tones(a: str, b: str) -> None:
    assert tone_key(a) != tone_key(b)


def test_fold_maps_d_stroke_and_lone_y() -> None:
    assert [fold(w) for w in ("đ", "Đ", "mỹ", "thủy", "tay")] == ["d", "d", "mi", "thuy", "tay"]


@pytest.mark.parametrize(
    ("typed", "text"),
    [
        ("dk khai sinh ko dc", "đăng ký khai sinh không được"),
        ("đk khai sinh đc ko", "đăng ký khai sinh được không"),
        ("làm cccd", "làm căn cước công dân"),
        ("làm căn cước công dân", "làm căn cước công dân"),
        ("nhập hk cho con", "đăng ký thường trú cho con"),
        ("bang lai xe may", "giấy phép lái xe may"),
        ("hồng hà", "hồng hà"),
        ("hông biết", "không biết"),
    ],
)
def test_vocabulary_expands_whole_words(typed: str, text: str) -> None:
    assert normalize(typed, VOCAB).text == text


def test_expansion_is_never_expanded_again() -> None:
    vocab = Vocabulary.build({"cccd": "căn cước công dân"}, {"căn cước": "căn cước công dân"})
    assert normalize("cccd", vocab).text == "căn cước công dân"
    assert normalize("căn cước công dân", vocab).text == "căn cước công dân"
    assert normalize("căn cước", vocab).text == "căn cước công dân"


def test_accented_one_word_key_matches_only_that_word() -> None:
    vocab = Vocabulary.build({"hông": "không"})
    assert normalize("hông hồng hong", vocab).text == "không hồng hong"


def test_plain_key_matches_plain_spelling_with_d_stroke_only() -> None:
    vocab = Vocabulary.build({"dc": "được"})
    assert normalize("dc đc dć", vocab).text == "được được dć"


def test_lexicon_loose_word_matches_plain_spelling() -> None:
    lexicon = Lexicon.build([("~phí", "fee"), ("còn", "stop")])
    words = ["phi", "phí", "con", "còn"]
    found = lexicon.scan(words, [fold(w) for w in words])
    assert [(a, label) for a, _, label in found] == [(0, "fee"), (1, "fee"), (3, "stop")]


@pytest.mark.parametrize("key", sorted(SHIPPED.get("abbreviations", {})))
def test_every_shipped_abbreviation_expands(key: str) -> None:
    expected = normalize(SHIPPED["abbreviations"][key], VOCAB).text
    assert normalize(key, VOCAB).text == expected


@pytest.mark.parametrize("key", sorted(SHIPPED.get("phrases", {})))
def test_every_shipped_phrase_expands_also_without_accents(key: str) -> None:
    expected = normalize(SHIPPED["phrases"][key], VOCAB).folded
    assert normalize(key, VOCAB).folded == expected
    plain = "".join(c for c in nfd(key) if not unicodedata.combining(c)).replace("đ", "d")
    if " " in key:
        assert normalize(plain, VOCAB).folded == expected


ALPHABET = st.sampled_from(
    list("aăâbcdđeêghiklmnoôơpqrstuưvxy AĐ ")
    + ["\u0300", "\u0301", "\u0303", "\u0309", "\u0323", "\u00d0", "\u00f0", "\u200b", "\u00a0"]
    + list(".,?!-_#:")
)
WORDS = st.sampled_from(
    sorted(SHIPPED.get("abbreviations", {}))
    + sorted(SHIPPED.get("phrases", {}))
    + ["khai sinh", "hoà", "qúy", "căn cước", "hộ khẩu", "giấy", "đăng ký", "ko", "thẻ"]
)
TEXTS = st.lists(st.one_of(st.text(ALPHABET, max_size=8), WORDS), max_size=8).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_normalisation_is_idempotent(text: str) -> None:
    once = normalize(text, VOCAB)
    assert normalize(once.text, VOCAB) == once


@settings(max_examples=200, deadline=None)
@given(TEXTS)
def test_nfd_input_gives_the_same_tokens(text: str) -> None:
    assert normalize(nfd(text), VOCAB).tokens == normalize(text, VOCAB).tokens
