"""The shipped knowledge base covers the 33 standard topics completely, with sources and dates.

These tests read knowledge_base/ itself: they fail until every topic file is written.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.kb.check import MIN_QUESTIONS, STANDARD_TOPICS
from bot.kb.loader import read_kb
from bot.kb.model import ANSWER_SECTIONS
from bot.kb.render import ZALO_TEXT_LIMIT, rendered_answers

ROOT = Path(__file__).parent.parent / "knowledge_base"
KB, PROBLEMS = read_kb(ROOT)


def test_there_are_exactly_33_standard_topics() -> None:
    assert len(STANDARD_TOPICS) == len(set(STANDARD_TOPICS)) == 33


@pytest.mark.parametrize("topic_id", STANDARD_TOPICS)
def test_topic_is_present_and_complete(topic_id: str) -> None:
    file = ROOT / "topics" / f"{topic_id}.toml"
    assert file.is_file(), f"{file} is missing"
    mine = [str(p) for p in PROBLEMS if p.file == str(file) and p.severity == "error"]
    assert mine == [], "\n".join(mine)
    topic = KB.topics[topic_id]
    for section in (s for s in ANSWER_SECTIONS if s != "eligibility"):  # eligibility: optional
        assert topic.has_section(section) or section in topic.not_applicable, section
    assert topic.sources, "no sources"
    assert dt.date(2025, 7, 1) <= topic.reviewed <= dt.date(2027, 12, 31)
    assert len(topic.questions) >= MIN_QUESTIONS
    assert topic.title and topic.category and topic.authority and topic.summary
    assert 0 < len(topic.short_title) <= 30, "short_title (for choice buttons) missing or long"


@pytest.mark.parametrize("topic_id", STANDARD_TOPICS)
def test_every_answer_fits_one_zalo_message(topic_id: str) -> None:
    if topic_id not in KB.topics:
        pytest.fail(f"topic {topic_id} did not load")
    too_long = {k: len(v) for k, v in rendered_answers(KB.topics[topic_id]).items()}
    assert {k: n for k, n in too_long.items() if n > ZALO_TEXT_LIMIT} == {}


def test_the_new_wards_and_all_eight_old_wards_are_described() -> None:
    assert set(KB.wards) == {"tay-ho", "phu-thuong", "hong-ha", "ba-dinh"}
    names = {w.name for w in KB.old_wards.values()}
    assert names == {
        "Bưởi", "Nhật Tân", "Phú Thượng", "Quảng An", "Thụy Khuê", "Tứ Liên", "Xuân La", "Yên Phụ"
    }  # fmt: skip
    for old in KB.old_wards.values():
        assert old.new_wards and old.note and old.aliases
        assert all(alias.isascii() for alias in old.aliases), old.aliases


def test_offices_state_no_unconfirmed_hours_or_phones() -> None:
    assert KB.offices
    for office in KB.offices:
        assert office.hours == "" and office.phone == ""
    for ward in KB.wards.values():
        assert ward.phone == ""


def test_menu_buttons_fit_zalo() -> None:
    assert 1 <= len(KB.menu) <= 5
    assert all(len(item.title) <= 35 and item.payload for item in KB.menu)


def test_menu_buttons_open_one_existing_topic_each() -> None:
    topics = [item.payload.removeprefix("#topic:") for item in KB.menu]
    assert all(item.payload.startswith("#topic:") for item in KB.menu)
    assert all(t in KB.topics for t in topics) and len(set(topics)) == len(topics)
