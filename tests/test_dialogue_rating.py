"""After "👎 Chưa hữu ích": the other topics the question was close to, and a way to staff."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.config import BotConfig
from bot.dialogue.decide import respond
from bot.kb.loader import load_kb
from bot.understanding import build_index

INDEX = build_index(load_kb(Path(__file__).resolve().parent.parent / "knowledge_base"))
NOW = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)


def talk(*messages: str, buttons: bool = True) -> list:
    """Send messages in one conversation; return every turn."""
    state: dict = {}
    turns = []
    for message in messages:
        turn = respond(message, state, INDEX, NOW, BotConfig(), buttons)
        state = dict(turn.state)
        turns.append(turn)
    return turns


def payloads(turn) -> list[str]:
    return [b.payload for r in turn.replies for b in r.buttons]


def others(turn) -> list[str]:
    """The topics besides the answered one that the matcher found close, as it ranked them."""
    return [c for c in turn.candidates if c != turn.topic][:2]


def test_an_unhelpful_answer_offers_the_other_close_topics_for_the_same_section() -> None:
    answer, rating = talk("khai sinh mất bao lâu", "#rate:khai-sinh:0")
    assert answer.kind == "answer" and answer.section == "duration"
    assert others(answer), "the matcher found no other topic: pick another question"
    assert rating.rating == ("khai-sinh", False)  # still recorded for staff
    assert payloads(rating) == [f"#section:{t}:duration" for t in others(answer)] + ["#staff"]
    assert "Gặp cán bộ" in rating.replies[0].text


def test_an_offered_topic_is_answered_and_the_staff_button_hands_over() -> None:
    answer, rating = talk("khai sinh mất bao lâu", "#rate:khai-sinh:0")
    first = others(answer)[0]
    *_, picked = talk("khai sinh mất bao lâu", "#rate:khai-sinh:0", payloads(rating)[0])
    assert (picked.kind, picked.topic, picked.section) == ("answer", first, "duration")
    *_, staff = talk("khai sinh mất bao lâu", "#rate:khai-sinh:0", "#staff")
    assert staff.kind == "handover" and staff.handover


def test_without_buttons_the_staff_choice_is_a_number() -> None:
    *_, rating = talk("khai sinh mất bao lâu", "#rate:khai-sinh:0", buttons=False)
    lines = rating.replies[-1].text.splitlines()
    number = next(line.split(".")[0] for line in lines if line.endswith("Gặp cán bộ"))
    *_, staff = talk("khai sinh mất bao lâu", "#rate:khai-sinh:0", number, buttons=False)
    assert staff.kind == "handover"


def test_an_answer_the_citizen_picked_himself_gets_the_plain_thanks() -> None:
    # Tapped from the menu: the matcher chose nothing, so there is nothing else to offer.
    *_, rating = talk("#topic:khai-sinh", "#rate:khai-sinh:0")
    assert rating.rating == ("khai-sinh", False)
    assert payloads(rating) == []
    assert "gặp cán bộ" in rating.replies[0].text


def test_an_old_rating_button_for_another_topic_offers_nothing_of_the_current_one() -> None:
    *_, rating = talk("khai sinh mất bao lâu", "#rate:ket-hon:0")
    assert rating.rating == ("ket-hon", False)
    assert payloads(rating) == []


def test_the_alternatives_are_offered_once() -> None:
    *_, again = talk("khai sinh mất bao lâu", "#rate:khai-sinh:0", "#rate:khai-sinh:0")
    assert payloads(again) == []
