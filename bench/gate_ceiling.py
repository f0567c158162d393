"""How far setting the answer / refuse thresholds can take top-1 on a labelled question set.

Usage: .venv/bin/python bench/gate_ceiling.py [QUESTIONS.tsv ...] [--variants]

Without files it reads ../shared/eval/real_dev_questions.tsv (asking sentences and whole
messages). Every question is matched once and its decision replayed as `bench/calibrate.py`
replays it (`dev_items`, `replay`): the naming rules' answer, the out-of-scope domain, then the
fused best topic when its confidence reaches `P_ANSWER`, it is in scope (its cosine gap to the
nearest out-of-scope domain reaches `IN_SCOPE_MARGIN`, or the gap is positive and the
discriminant's odds reach `SCOPE_ODDS_AT`) and the words do not withhold it. It prints, per
set:

- shipped: the replay's figures at the shipped constants (top-1, wrong, out of scope refused);
- ranked first: the share of in-scope questions whose right topic the fused ranking puts
  first, what a gate that answered every right-first question and refused everything else
  would reach;
- best thresholds: every triple (P_ANSWER, IN_SCOPE_MARGIN, SCOPE_ODDS_AT) tried on the set
  itself, as if tuned on the very questions it is scored on. The triple with the most right
  answers that keeps wrong answers at or under 5% of the in-scope questions and refuses at
  least 90% of the out-of-scope ones is printed with its figures.

A top-1 target above "best thresholds" cannot be met by moving the thresholds: it needs a
signal that tells questions the knowledge base answers from questions for other offices
better. (The replay approximates the dialogue, which adds turns of its own: its top-1 in
`bench/eval_accuracy.py` can differ from `shipped` by a question or two.)
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.calibrate import dev_items  # noqa: E402
from bench.eval_accuracy import read_sets, strip_diacritics  # noqa: E402
from bot.kb.loader import load_kb  # noqa: E402
from bot.understanding import build_index, ranking  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "eval" / "real_dev_questions.tsv"
MAX_WRONG = 0.05
MIN_REFUSED = 0.90
STEPS = 120
"""Values tried per threshold at most (every distinct value of a set of up to this size)."""


@dataclasses.dataclass(frozen=True)
class Questions:
    """A set's questions as the replayed decision sees them, one array entry per question."""

    sure: np.ndarray
    """The fused confidence of the best topic."""
    gap: np.ndarray
    odds: np.ndarray
    named: np.ndarray
    """The naming rules answer (with `story`: unless meaning favours another topic surely)."""
    story: np.ndarray
    oos: np.ndarray
    """An out-of-scope domain is closer: the fallback, whatever the thresholds."""
    withheld: np.ndarray
    """The words forbid a fused answer (`Index.withheld`)."""
    low: np.ndarray
    """The fused best score is below `OFFER_MIN`: no choices, the naming rules' verdict stands."""
    out: np.ndarray
    """Out of scope."""
    named_right: np.ndarray
    best_right: np.ndarray
    """The naming rules' topic / the fused best topic is an acceptable one."""

    @classmethod
    def of(cls, items: list) -> Questions:
        """From `bench/calibrate.py`'s `dev_items` of one set."""
        columns = [
            (
                sure,
                gap,
                odds,
                verdict.outcome == "answer",
                story,
                oos,
                withheld,
                not ranked or ranked[0].score < ranking.OFFER_MIN,
                not accepted,
                verdict.topic in accepted,
                bool(ranked) and ranked[0].topic in accepted,
            )
            for accepted, verdict, ranked, sure, oos, withheld, (gap, odds), story, _ in items
        ]
        return cls(*(np.array(c) for c in zip(*columns, strict=True)))

    @property
    def counts(self) -> tuple[int, int]:
        """(in scope, out of scope)."""
        return int((~self.out).sum()), int(self.out.sum())


def answered(
    q: Questions, at: float, margins: np.ndarray, odds_at: float
) -> tuple[np.ndarray, np.ndarray]:
    """Which questions the naming rules and which the fused ranking answer, one row per margin
    (`calibrate.replay`'s decision)."""
    sure = q.sure >= at
    stands = q.named & ~(q.story & sure)
    in_scope = (q.gap[None, :] >= margins[:, None]) | ((q.gap >= 0) & (q.odds >= odds_at))
    fused = ~stands & ~q.oos & ~q.withheld & sure & in_scope
    named = stands | (q.named & ~q.oos & ~fused & q.low)  # an overruled story's answer too
    return named, fused


def figures(q: Questions, at: float, margins: np.ndarray, odds_at: float) -> np.ndarray:
    """(right, wrong, out-of-scope answered) per margin."""
    named, fused = (m.astype(int) for m in answered(q, at, margins, odds_at))
    right = named @ q.named_right + fused @ q.best_right
    out = (named + fused) @ q.out
    wrong = (named + fused) @ ~q.out - right
    return np.stack([right, wrong, out], 1)


def _steps(values: np.ndarray) -> list[float]:
    """The thresholds tried on one number: its distinct values, or `STEPS` of its quantiles."""
    distinct = np.unique(values)
    if len(distinct) > STEPS:
        distinct = np.unique(np.quantile(values, np.linspace(0.0, 1.0, STEPS)))
    return [float(v) for v in distinct]


def best_thresholds(q: Questions) -> tuple[tuple[int, int, int], float, float, float] | None:
    """The (figures, confidence, gap, odds) of the allowed triple with the most right
    answers (the fewest wrong among equals), or None when none is allowed."""
    n_in, n_out = q.counts
    margins = np.array([*_steps(q.gap), 2.0])
    best = None
    for at in [*_steps(q.sure), 2.0]:
        for odds_at in [*_steps(q.odds), np.inf]:
            counts = figures(q, at, margins, odds_at)
            allowed = (counts[:, 1] <= MAX_WRONG * n_in) & (
                n_out - counts[:, 2] >= MIN_REFUSED * n_out
            )
            for k in np.flatnonzero(allowed):
                found = tuple(int(c) for c in counts[k])
                if best is None or (found[0], -found[1]) > (best[0][0], -best[0][1]):
                    best = (found, at, float(margins[k]), odds_at)
    return best


def report(name: str, q: Questions, ranked_first: int) -> None:
    """Print one set's lines."""
    n_in, n_out = q.counts

    def line(right: int, wrong: int, out: int) -> str:
        refused = (n_out - out) / n_out if n_out else 1.0
        return f"top1 {right / n_in:6.1%}  wrong {wrong / n_in:5.1%}  refused {refused:6.1%}"

    margin = np.array([ranking.IN_SCOPE_MARGIN])
    shipped = figures(q, ranking.P_ANSWER, margin, ranking.SCOPE_ODDS_AT)[0]
    print(f"{name}: {n_in} in scope, {n_out} out of scope")
    print(f"  {'shipped':>16}: {line(*shipped)}")
    print(f"  {'ranked first':>16}: top1 {ranked_first / n_in:6.1%}")
    found = best_thresholds(q)
    if found is None:
        print(f"  {'best thresholds':>16}: none keeps wrong and refused within bounds")
        return
    counts, at, margin_at, odds_at = found
    triple = f"P_ANSWER {at:.2f}, IN_SCOPE_MARGIN {margin_at:+.3f}, SCOPE_ODDS_AT {odds_at:.1f}"
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
                typed_rows = [(topics, section, typed(q)) for topics, section, q in rows]
                items = dev_items(index, {name: typed_rows})[name]
                first = sum(bool(r) and r[0].topic in a for a, _, r, *_ in items if a)
                report(f"{name}, {label}", Questions.of(items), first)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
