"""bench/gate_ceiling.py: the best thresholds it reports keep to the bounds and count answers
the way bench/eval_accuracy.py does, so its ceiling can be trusted."""

from __future__ import annotations

from pathlib import Path

from bench.gate_ceiling import Seen, best_thresholds, figures, seen

REPO = Path(__file__).resolve().parent.parent


def item(
    accepted: str, best: str, sure: float, gap: float, kept: str | None = None, odds: float = 0.0
) -> Seen:
    topics = frozenset(t for t in accepted.split("|") if t)
    return Seen(accepted=topics, kept=kept, shipped=kept, best=best, sure=sure, gap=gap, odds=odds)


def in_scope(n: int, sure: float, gap: float = 0.05) -> list[Seen]:
    return [item("khai-sinh", "khai-sinh", sure, gap) for _ in range(n)]


def test_separable_questions_reach_every_right_first_answer():
    items = in_scope(20, 0.9) + [item("", "tam-tru", 0.3, 0.01) for _ in range(10)]
    (right, wrong, out), at, margin, _ = best_thresholds(items)
    assert (right, wrong, out) == (20, 0, 0)
    assert at > 0.3 or margin > 0.01  # the out-of-scope questions are below the pair


def test_out_of_scope_questions_above_the_right_ones_cap_top1():
    # Two out-of-scope questions look surer than half the right answers: at most one may be
    # answered (90% of 10 refused), so the pair must sit above the second one.
    items = (
        in_scope(10, 0.95)
        + in_scope(10, 0.6)
        + [item("", "tam-tru", 0.8, 0.05), item("", "tam-tru", 0.7, 0.05)]
        + [item("", "tam-tru", 0.2, 0.0) for _ in range(8)]
    )
    (right, _, out), at, _, _ = best_thresholds(items)
    assert right == 10
    assert out <= 1
    assert at > 0.7


def test_wrong_answers_are_kept_at_five_percent_or_under():
    # 22 in scope: one wrong answer is allowed (4.5%), two are not; only the gap sets the
    # second wrong one apart from the right answers.
    wrong_first = [item("khai-sinh", "khai-tu", 0.9, 0.01), item("khai-sinh", "khai-tu", 0.9, 0.08)]
    (right, wrong, _), _, margin, _ = best_thresholds(in_scope(20, 0.8) + wrong_first)
    assert (right, wrong) == (20, 1)
    assert margin > 0.01


def test_odds_answer_a_question_only_a_little_closer_to_a_topic():
    # Half the right answers are within 0.01 of a domain, like the out-of-scope questions,
    # but the discriminant finds them far likelier under a topic: the odds let them through.
    items = (
        in_scope(10, 0.9)
        + [item("khai-sinh", "khai-sinh", 0.9, 0.01, odds=80.0) for _ in range(10)]
        + [item("", "tam-tru", 0.9, 0.01, odds=5.0) for _ in range(10)]
    )
    (right, _, out), _, margin, odds_at = best_thresholds(items)
    assert (right, out) == (20, 0)
    assert margin > 0.01
    assert 5.0 < odds_at <= 80.0


def test_answers_of_the_naming_rules_stand_whatever_the_thresholds():
    items = [
        item("khai-sinh", "khai-tu", 0.1, -0.1, kept="khai-sinh"),
        item("", "tam-tru", 0.1, -0.1, kept="ket-hon"),
    ]
    assert figures(items, lambda i: i.kept) == (1, 0, 1)
    assert best_thresholds(items) is None  # the kept out-of-scope answer breaks the 90% floor


def test_a_question_is_seen_with_its_fused_best_topic(shipped_index):
    question = seen(shipped_index, frozenset({"khai-sinh"}), "làm giấy khai sinh cho con cần gì")
    assert question.best == "khai-sinh"
    assert question.shipped == "khai-sinh"
    assert 0.0 <= question.sure <= 1.0
