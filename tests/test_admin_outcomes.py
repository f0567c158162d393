"""The outcome of every turn, judged from what the citizen did next (tables of real sequences)."""

from __future__ import annotations

import pytest

from bot.admin.outcomes import (
    ABANDON_SECONDS,
    FINAL_SECONDS,
    Rating,
    TurnRecord,
    classify,
    is_pick,
    similarity,
)

NOW = 1_800_000_000.0
T = NOW - 2 * FINAL_SECONDS  # long enough ago for every outcome to be final


def turns(*rows: tuple) -> list[TurnRecord]:
    """TurnRecords from (seconds after T, kind, topic, text[, faq]) rows, ids from 1."""
    return [
        TurnRecord(n, T + row[0], row[1], row[2], row[4] if len(row) > 4 else None, row[3])
        for n, row in enumerate(rows, start=1)
    ]


def outcomes(rows: list[TurnRecord], ratings: tuple = (), now: float = NOW) -> list[tuple]:
    """(outcome, question, good) per turn."""
    return [(c.outcome, c.question, c.good) for c in classify(rows, list(ratings), now)]


CASES = [
    (
        "answer and silence is good",
        turns((0, "answer", "tam-tru", "đăng ký tạm trú cần gì")),
        (),
        [("answered", True, True)],
    ),
    (
        "an FAQ answer",
        turns((0, "answer", "gplx", "bằng a1 có hết hạn không", "a1-co-thoi-han")),
        (),
        [("faq", True, True)],
    ),
    (
        "same question again within minutes: the answer was a misreading",
        turns(
            (0, "answer", "ket-hon", "lam giay xac nhan doc than o dau"),
            (60, "answer", "tinh-trang-hon-nhan", "xin giấy xác nhận độc thân ở đâu vậy"),
        ),
        (),
        [("rephrased", True, False), ("answered", True, True)],
    ),
    (
        "a different question soon after is not a rephrase",
        turns(
            (0, "answer", "khai-sinh", "làm giấy khai sinh cho con"),
            (60, "answer", "tam-tru", "đăng ký tạm trú cần giấy tờ gì"),
        ),
        (),
        [("answered", True, True), ("answered", True, True)],
    ),
    (
        "the same question asked again an hour later is not a rephrase",
        turns(
            (0, "answer", "khai-sinh", "làm giấy khai sinh cho con"),
            (3600, "answer", "khai-sinh", "làm giấy khai sinh cho con"),
        ),
        (),
        [("answered", True, True), ("answered", True, True)],
    ),
    (
        "a section button after an answer is a new question, not a rephrase",
        turns(
            (0, "answer", "khai-sinh", "làm giấy khai sinh cho con"),
            (30, "answer", "khai-sinh", "#section:khai-sinh:fee"),
        ),
        (),
        [("answered", True, True), ("answered", True, True)],
    ),
    (
        "👎 makes an answer bad; 👍 is counted",
        turns(
            (0, "answer", "ket-hon", "đăng ký kết hôn"),
            (20, "feedback", None, "#rate:ket-hon:0"),
            (600, "answer", "khai-sinh", "khai sinh"),
            (620, "feedback", None, "#rate:khai-sinh:1"),
        ),
        (Rating(T + 20, "ket-hon", False), Rating(T + 620, "khai-sinh", True)),
        [
            ("rated_down", True, False),
            ("feedback", False, None),
            ("rated_up", True, True),
            ("feedback", False, None),
        ],
    ),
    (
        "choices, a button picked, the answer good: the question went well",
        turns(
            (0, "choices", None, "giấy tờ"),
            (15, "answer", "can-cuoc", "#section:can-cuoc:documents"),
        ),
        (),
        [("choices_taken", True, True), ("answered", False, True)],
    ),
    (
        "choices picked by number, then the citizen rates the answer 👎",
        turns(
            (0, "choices", None, "chung thuc"),
            (15, "answer", "chung-thuc-ban-sao", "2"),
        ),
        (Rating(T + 40, "chung-thuc-ban-sao", False),),
        [("choices_taken", True, False), ("rated_down", False, False)],
    ),
    (
        "menu ignored: the citizen types something else",
        turns(
            (0, "choices", None, "hồ sơ"),
            (40, "answer", "ho-chieu", "làm hộ chiếu"),
        ),
        (),
        [("choices_ignored", True, False), ("answered", True, True)],
    ),
    (
        "choices and nothing after: abandoned",
        turns((0, "choices", None, "giấy phép")),
        (),
        [("abandoned", True, False)],
    ),
    (
        "fallback then a new message is a fallback; the last fallback is abandoned",
        turns(
            (0, "fallback", None, "xin cấp phép bán hàng rong"),
            (40, "fallback", None, "bán hàng rong"),
        ),
        (),
        [("fallback", True, False), ("abandoned", True, False)],
    ),
    (
        "a message more than half an hour later does not save the fallback",
        turns(
            (0, "fallback", None, "xin cấp phép bán hàng rong"),
            (ABANDON_SECONDS + 5, "answer", "ho-kinh-doanh", "đăng ký hộ kinh doanh"),
        ),
        (),
        [("abandoned", True, False), ("answered", True, True)],
    ),
    (
        "fallbacks then a hand-over: the reason is the fallbacks",
        turns(
            (0, "fallback", None, "abc xyz"),
            (30, "fallback", None, "xyz abc"),
            (60, "handover", None, "xyz"),
        ),
        (),
        [("fallback", True, False), ("fallback", True, False), ("handover", True, False)],
    ),
    (
        "an answer followed by a request for a person is not good",
        turns(
            (0, "answer", "dang-ky-xe", "đăng ký xe máy"),
            (50, "handover", None, "cho tôi gặp cán bộ"),
        ),
        (),
        [("answered", True, False), ("handover", True, False)],
    ),
    (
        "small talk is not a question",
        turns((0, "smalltalk", None, "chào bot"), (5, "welcome", None, None)),
        (),
        [("smalltalk", False, None), ("welcome", False, None)],
    ),
]


@pytest.mark.parametrize(("name", "rows", "ratings", "expected"), CASES, ids=[c[0] for c in CASES])
def test_outcome_of_each_turn(name: str, rows: list, ratings: tuple, expected: list) -> None:
    assert outcomes(rows, ratings) == expected


def test_handover_reason_tells_fallbacks_from_a_request() -> None:
    after = classify(turns((0, "fallback", None, "x"), (20, "handover", None, "y")), [], NOW)
    asked = classify(turns((0, "answer", "a", "x"), (20, "handover", None, "gặp cán bộ")), [], NOW)
    assert after[-1].reason == "after_fallbacks"
    assert asked[-1].reason == "asked_person"


def test_a_rating_a_day_late_or_for_another_topic_does_not_count() -> None:
    rows = turns((0, "answer", "ket-hon", "kết hôn"))
    late = Rating(T + FINAL_SECONDS + 1, "ket-hon", False)
    other = Rating(T + 10, "khai-sinh", False)
    assert outcomes(rows, (late, other)) == [("answered", True, True)]


def test_recent_turns_are_not_final_and_can_change() -> None:
    rows = turns((0, "choices", None, "giấy tờ"))
    first = classify(rows, [], T + 60)
    assert first[0].final is False
    rows.append(TurnRecord(2, T + 90, "answer", "can-cuoc", None, "#topic:can-cuoc"))
    assert classify(rows, [], T + 120)[0].outcome == "choices_taken"


def test_purged_texts_never_count_as_rephrases() -> None:
    rows = turns((0, "answer", "ket-hon", None), (30, "answer", "ket-hon", None))
    assert outcomes(rows) == [("answered", True, True), ("answered", True, True)]


@pytest.mark.parametrize(
    ("a", "b", "alike"),
    [
        ("đăng ký tạm trú cho sinh viên", "dang ky tam tru cho sinh vien", True),
        ("ĐĂNG KÝ TẠM TRÚ", "đăng ký tạm trú ở đâu", True),
        ("làm giấy khai sinh", "xin cấp hộ chiếu", False),
    ],
)
def test_similarity_ignores_diacritics_and_case(a: str, b: str, alike: bool) -> None:
    assert (similarity(a, b) >= 60) is alike


@pytest.mark.parametrize(
    ("text", "pick"),
    [("#topic:can-cuoc", True), ("2", True), ("#section:x:fee", True), ("2 con", False)],
)
def test_pick_is_a_payload_or_a_number(text: str, pick: bool) -> None:
    assert is_pick(text) is pick
