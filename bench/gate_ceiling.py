"""How far setting the answer / refuse thresholds can take top-1 on a labelled question set.

Usage: .venv/bin/python bench/gate_ceiling.py [QUESTIONS.tsv ...] [--variants]

Without files it reads ../shared/eval/real_dev_questions.tsv (asking sentences and whole
messages). For every question it takes the matcher's own verdict (`Index.match`) and, from the
fused ranking, the best topic, its confidence (`ranking.confidence`) and its cosine gap to the
nearest out-of-scope domain (`DenseScores.scope_gap`): the two numbers the answer decision is
set on. It prints, per set:

- shipped: the matcher's figures (top-1, wrong, out of scope refused);
- ranked first: the share of in-scope questions whose right topic the fused ranking puts
  first, what a gate that answered every right-first question and refused everything else
  would reach;
- best thresholds: every pair (confidence, gap) tried on the set itself, as if tuned on the
  very questions it is scored on; the answers of the naming rules and of FAQ entries asked
  almost word for word stand as shipped, every other question is answered with the fused best
  topic when it reaches both thresholds. The pair with the most right answers that keeps wrong
  answers at or under 5% of the in-scope questions and refuses at least 90% of the out-of-scope
  ones is printed with its figures.

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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.eval_accuracy import read_sets, strip_diacritics  # noqa: E402
from bot.kb.loader import load_kb  # noqa: E402
from bot.understanding import build_index  # noqa: E402
from bot.understanding.ranking import confidence  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "eval" / "real_dev_questions.tsv"
MAX_WRONG = 0.05
MIN_REFUSED = 0.90


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


def best_thresholds(items: list[Seen]) -> tuple[tuple[int, int, int], float, float] | None:
    """The (figures, confidence, gap) of the allowed pair with the most right answers."""
    n_in = sum(bool(i.accepted) for i in items)
    n_out = len(items) - n_in
    sures = sorted({i.sure for i in items} | {2.0})
    gaps = sorted({i.gap for i in items} | {2.0})
    best = None
    for at in sures:
        for margin in gaps:

            def answer(item: Seen, at: float = at, margin: float = margin) -> str | None:
                if item.kept is not None:
                    return item.kept
                return item.best if item.sure >= at and item.gap >= margin else None

            right, wrong, out = figures(items, answer)
            allowed = wrong <= MAX_WRONG * n_in and n_out - out >= MIN_REFUSED * n_out
            if allowed and (best is None or right > best[0][0]):
                best = ((right, wrong, out), at, margin)
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
    counts, at, margin = found
    pair = f"confidence >= {at:.2f}, gap >= {margin:+.3f}"
    print(f"  {'best thresholds':>16}: {line(*counts)}  ({pair})")


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
