"""bench/gate_ceiling.py: the best thresholds it reports keep to the bounds and replay the
decision as bench/calibrate.py does, so its ceiling can be trusted."""

from __future__ import annotations

import numpy as np

from bench.calibrate import dev_items, replay
from bench.gate_ceiling import Questions, best_thresholds, figures
from bot.understanding import ranking


def questions(*rows: tuple) -> Questions:
    """Rows of (kind, sure, gap, odds, named, story, vetoed, named_right): kind "right" (the
    fused best topic is acceptable), "wrong" (it is not) or "out" (out of scope); `vetoed`:
    the words withhold a fused answer."""
    columns = [
        (
            sure,
            gap,
            odds,
            named,
            story,
            False,
            vetoed,
            False,
            kind == "out",
            named_right,
            kind == "right",
        )
        for kind, sure, gap, odds, named, story, vetoed, named_right in rows
    ]
    return Questions(*(np.array(c) for c in zip(*columns, strict=True)))


def fused(kind: str, sure: float, gap: float = 0.05, odds: float = 0.0, vetoed=False) -> tuple:
    """A question the naming rules leave open."""
    return (kind, sure, gap, odds, False, False, vetoed, False)


def test_separable_questions_reach_every_right_first_answer():
    q = questions(*[fused("right", 0.9)] * 20, *[fused("out", 0.3, 0.01)] * 10)
    (right, wrong, out), at, margin, _ = best_thresholds(q)
    assert (right, wrong, out) == (20, 0, 0)
    assert at > 0.3 or margin > 0.01  # the out-of-scope questions are below the triple


def test_out_of_scope_questions_above_the_right_ones_cap_top1():
    # Two out-of-scope questions look surer than half the right answers: at most one may be
    # answered (90% of 10 refused), so the threshold must sit above the second one.
    q = questions(
        *[fused("right", 0.95)] * 10,
        *[fused("right", 0.6)] * 10,
        fused("out", 0.8),
        fused("out", 0.7),
        *[fused("out", 0.2, 0.0)] * 8,
    )
    (right, _, out), at, _, _ = best_thresholds(q)
    assert right == 10
    assert out <= 1
    assert at > 0.7


def test_wrong_answers_are_kept_at_five_percent_or_under():
    # 22 in scope: one wrong answer is allowed (4.5%), two are not; only the gap sets the
    # second wrong one apart from the right answers.
    q = questions(*[fused("right", 0.8)] * 20, fused("wrong", 0.9, 0.01), fused("wrong", 0.9, 0.08))
    (right, wrong, _), _, margin, _ = best_thresholds(q)
    assert (right, wrong) == (20, 1)
    assert margin > 0.01


def test_odds_answer_a_question_only_a_little_closer_to_a_topic():
    # Half the right answers are within 0.01 of a domain, like the out-of-scope questions,
    # but the discriminant finds them far likelier under a topic: the odds let them through.
    q = questions(
        *[fused("right", 0.9)] * 10,
        *[fused("right", 0.9, 0.01, 80.0)] * 10,
        *[fused("out", 0.9, 0.01, 5.0)] * 10,
    )
    (right, _, out), _, margin, odds_at = best_thresholds(q)
    assert (right, out) == (20, 0)
    assert margin > 0.01
    assert 5.0 < odds_at <= 80.0


def test_vetoed_questions_and_the_naming_rules_answers_are_beyond_the_thresholds():
    named_right = ("wrong", 0.1, -0.1, 0.0, True, False, False, True)
    named_out = ("out", 0.1, -0.1, 0.0, True, False, False, False)
    q = questions(named_right, named_out, fused("out", 0.99, 0.5, vetoed=True))
    (right, wrong, out) = figures(q, 0.0, np.array([-1.0]), 0.0)[0]
    assert (right, wrong, out) == (1, 0, 1)  # the vetoed one is never answered
    assert best_thresholds(q) is None  # the named out-of-scope answer breaks the 90% floor


def test_a_story_named_topic_gives_way_when_meaning_is_sure():
    story = ("out", 0.8, 0.0, 0.0, True, True, False, False)  # a story naming a procedure
    q = questions(story)
    assert figures(q, 0.9, np.array([0.04]), np.inf)[0].tolist() == [0, 0, 1]
    assert figures(q, 0.7, np.array([0.04]), np.inf)[0].tolist() == [0, 0, 0]


def test_the_shipped_thresholds_give_the_figures_of_calibrates_replay(shipped_index):
    rows = [
        ("khai-sinh", "", "làm giấy khai sinh cho con cần gì"),
        ("ket-hon", "", "đăng ký kết hôn ở đâu"),
        ("", "", "công ty nợ lương 2 tháng thì kiện ở đâu"),
        ("tam-tru", "", "thuê trọ thì có phải khai báo gì với phường không"),
    ]
    items = dev_items(shipped_index, {"set": rows})["set"]
    margin = np.array([ranking.IN_SCOPE_MARGIN])
    right, wrong, out = figures(
        Questions.of(items), ranking.P_ANSWER, margin, ranking.SCOPE_ODDS_AT
    )[0]
    expected = replay(
        items,
        ranking.P_ANSWER,
        ranking.IN_SCOPE_MARGIN,
        ranking.OFFER_MIN,
        None,
        ranking.SCOPE_ODDS_AT,
    )
    assert right / 3 == expected["top1"]
    assert wrong / 3 == expected["wrong"]
    assert 1 - out == expected["refused"]
