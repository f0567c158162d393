"""How far setting the answer / refuse thresholds can take top-1 on a labelled question set.

Usage: .venv/bin/python bench/gate_ceiling.py [QUESTIONS.tsv ...] [--variants]

Without files it reads ../shared/eval/real_dev_questions.tsv (asking sentences and whole
messages). For every question it takes the matcher's own verdict (`Index.match`) and, from the
fused ranking, the best topic, its confidence (`ranking.confidence`), its cosine gap to the
nearest out-of-scope domain (`DenseScores.scope_gap`) and the discriminant's odds of a topic
over a domain (`DenseScores.scope_odds`): the numbers the answer decision is set on
(`P_ANSWER`, `IN_SCOPE_MARGIN`, `SCOPE_ODDS_AT`). It prints, per set:

- shipped: the matcher's figures (top-1, wrong, out of scope refused);
- ranked first: the share of in-scope questions whose right topic the fused ranking puts
  first, what a gate that answered every right-first question and refused everything else
  would reach;
- best thresholds: every triple (confidence, gap, odds) tried on the set itself, as if tuned
  on the very questions it is scored on; the answers of the naming rules and of FAQ entries
  asked almost word for word stand as shipped, every other question is answered with the
  fused best topic when its confidence reaches the first and its gap the second (or its gap
  is positive and its odds reach the third), as `Index.in_scope` decides. The triple with the
  most right answers that keeps wrong answers at or under 5% of the in-scope questions and
  refuses at least 90% of the out-of-scope ones is printed with its figures.

A top-1 target above "best thresholds" cannot be met by moving the thresholds: it needs a
signal that tells questions the knowledge base answers from questions for other offices
better. (The dialogue adds its own turns, several questions in one message for one: its
top-1 in `bench/eval_accuracy.py` can differ from `shipped` by a question or two.)
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.eval_accuracy import read_sets, strip_diacritics  # noqa: E402
from bot.kb.loader import load_kb  # noqa: E402
from bot.understanding import build_index  # noqa: E402
from bot.understanding.ranking import confidence  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "eval" / "real_dev_questions.tsv"
MAX_WRONG = 0.05
MIN_REFUSED = 0.90
STEPS = 120
"""Values tried per threshold at most (every distinct value of a set of up to this size)."""


@dataclasses.dataclass(frozen=True)
class Seen:
    """One question as the gate sees it."""

    accepted: frozenset[str]
    """The acceptable topics (empty: out of scope)."""
    kept: str | None
    """The topic the naming rules or a verbatim FAQ entry answer (stands whatever the gate)."""
    shipped: str | None
    """The topic the matcher answers as shipped (None: choices or fallback)."""
    best: str
    """The fused ranking's best topic."""
    sure: float
    gap: float
    odds: float


def seen(index, accepted: frozenset[str], text: str) -> Seen:
    """What the gate sees of `text`."""
    match = index.match(text)
    reading = index.read(text)
    query = index.analyze_reading(reading)
    scores = index.dense.scores(reading.focus)
    ranked = index.fused(query, scores)
    answered = match.topic if match.outcome == "answer" else None
    return Seen(
        accepted=accepted,
        kept=answered if match.via != "fused" else None,
        shipped=answered,
        best=ranked[0].topic,
        sure=confidence(ranked, index.general),
        gap=scores.scope_gap,
        odds=scores.scope_odds,
    )


def figures(items: list[Seen], answer) -> tuple[int, int, int]:
    """(right, wrong, out-of-scope answered) when `answer(item)` gives each item's answer."""
    right = wrong = answered_out = 0
    for item in items:
        topic = answer(item)
        if topic is None:
            continue
        if not item.accepted:
            answered_out += 1
        elif topic in item.accepted:
            right += 1
        else:
            wrong += 1
    return right, wrong, answered_out


def _steps(values: np.ndarray) -> list[float]:
    """The thresholds tried on one number: its distinct values, or `STEPS` of its quantiles."""
    distinct = np.unique(values)
    if len(distinct) > STEPS:
        distinct = np.unique(np.quantile(values, np.linspace(0.0, 1.0, STEPS)))
    return [float(v) for v in distinct]


def best_thresholds(
    items: list[Seen],
) -> tuple[tuple[int, int, int], float, float, float] | None:
    """The (figures, confidence, gap, odds) of the allowed triple with the most right
    answers (the fewest wrong among equals), or None when none is allowed."""
    n_in = sum(bool(i.accepted) for i in items)
    n_out = len(items) - n_in
    kept = figures(items, lambda i: i.kept)
    open_ = [i for i in items if i.kept is None]
    sure = np.array([i.sure for i in open_])
    gap = np.array([i.gap for i in open_])
    odds = np.array([i.odds for i in open_])
    right = np.array([bool(i.accepted) and i.best in i.accepted for i in open_], dtype=int)
    wrong = np.array([bool(i.accepted) and i.best not in i.accepted for i in open_], dtype=int)
    out = np.array([not i.accepted for i in open_], dtype=int)
    margins = np.array([*_steps(gap), 2.0])
    by_gap = gap[None, :] >= margins[:, None]  # (margin, question)
    best = None
    for at in [*_steps(sure), 2.0]:
        for odds_at in [*_steps(odds), np.inf]:
            likely = (gap >= 0) & (odds >= odds_at)
            answered = (sure >= at) & (by_gap | likely)
            counts = np.stack([answered @ right, answered @ wrong, answered @ out], 1)
            counts += np.array(kept)
            allowed = (counts[:, 1] <= MAX_WRONG * n_in) & (
                n_out - counts[:, 2] >= MIN_REFUSED * n_out
            )
            for k in np.flatnonzero(allowed):
                found = (int(counts[k, 0]), int(counts[k, 1]), int(counts[k, 2]))
                if best is None or (found[0], -found[1]) > (best[0][0], -best[0][1]):
                    best = (found, float(at), float(margins[k]), float(odds_at))
    return best


def report(name: str, items: list[Seen]) -> None:
    """Print one set's lines."""
    n_in = sum(bool(i.accepted) for i in items)
    n_out = len(items) - n_in

    def line(right: int, wrong: int, out: int) -> str:
        refused = (n_out - out) / n_out if n_out else 1.0
        return f"top1 {right / n_in:6.1%}  wrong {wrong / n_in:5.1%}  refused {refused:6.1%}"

    ranked_first = sum(i.best in i.accepted for i in items if i.accepted)
    print(f"{name}: {n_in} in scope, {n_out} out of scope")
    print(f"  {'shipped':>16}: {line(*figures(items, lambda i: i.shipped))}")
    print(f"  {'ranked first':>16}: top1 {ranked_first / n_in:6.1%}")
    found = best_thresholds(items)
    if found is None:
        print(f"  {'best thresholds':>16}: none keeps wrong and refused within bounds")
        return
    counts, at, margin, odds_at = found
    triple = f"confidence >= {at:.2f}, gap >= {margin:+.3f}, or odds >= {odds_at:.1f}"
    print(f"  {'best thresholds':>16}: {line(*counts)}  ({triple})")


def main(argv: list[str] | None = None) -> int:
    """Read the sets, see every question, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", nargs="*", type=Path, default=[DEFAULT])
    parser.add_argument("--variants", action="store_true", help="also without diacritics")
    args = parser.parse_args(argv)
    index = build_index(load_kb(ROOT / "knowledge_base"))
    if index.dense is None:
        print("the semantic signal is off: nothing to measure")
        return 1
    typings = [("as typed", lambda t: t)]
    if args.variants:
        typings.append(("no diacritics", strip_diacritics))
    for path in args.questions:
        for name, rows in read_sets(path).items():
            for label, typed in typings:
                items = [
                    seen(index, frozenset(t for t in topics.split("|") if t), typed(question))
                    for topics, _, question in rows
                ]
                report(f"{name}, {label}", items)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
