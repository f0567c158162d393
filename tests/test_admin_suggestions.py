"""The suggestions file stays valid TOML whatever citizens typed, and never repeats a question."""

from __future__ import annotations

import tempfile
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.admin import suggestions

# What a form can carry: any character except lone surrogates (never valid UTF-8).
QUESTIONS = st.lists(st.text(st.characters(blacklist_categories=("Cs",)), max_size=80), max_size=6)


@settings(max_examples=200, deadline=None)
@given(first=QUESTIONS, second=QUESTIONS)
def test_any_questions_round_trip_through_the_toml_file(first: list, second: list) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder)
        suggestions.append(path, "tam-tru", first)
        suggestions.append(path, "tam-tru", second)
        stored = suggestions.read(path, "tam-tru") if (path / "tam-tru.toml").exists() else []
        expected: list[str] = []
        for question in first + second:
            clean = suggestions.NUMBER.sub("[số]", " ".join(question.split()))
            if clean and clean.casefold() not in {q.casefold() for q in expected}:
                expected.append(clean)
        assert stored == expected
        if stored:
            data = tomllib.loads((path / "tam-tru.toml").read_text(encoding="utf-8"))
            assert data["topic"] == "tam-tru"


def test_appending_reports_how_many_questions_were_new(tmp_path: Path) -> None:
    assert suggestions.append(tmp_path, "ket-hon", ["đăng ký kết hôn ở đâu", "  "]) == 1
    assert suggestions.append(tmp_path, "ket-hon", ["ĐĂNG KÝ KẾT HÔN Ở ĐÂU", "lệ phí"]) == 1
    text = (tmp_path / "ket-hon.toml").read_text(encoding="utf-8")
    assert text.startswith("# Câu hỏi người dân")
    assert tomllib.loads(text)["questions"] == ["đăng ký kết hôn ở đâu", "lệ phí"]


@pytest.mark.parametrize("topic", ["../x", "Tam Tru", "", "a/b"])
def test_only_topic_ids_name_a_file(tmp_path: Path, topic: str) -> None:
    with pytest.raises(ValueError):
        suggestions.append(tmp_path, topic, ["x"])
    assert list(tmp_path.iterdir()) == []


def test_phone_and_id_numbers_are_not_written_to_the_file(tmp_path: Path) -> None:
    suggestions.append(
        tmp_path,
        "can-cuoc",
        ["cccd 001203004567 của tôi bị mất, gọi 0912 345 678", "làm căn cước mất 14 ngày à"],
    )
    questions = suggestions.read(tmp_path, "can-cuoc")
    assert questions == ["cccd [số] của tôi bị mất, gọi [số]", "làm căn cước mất 14 ngày à"]
