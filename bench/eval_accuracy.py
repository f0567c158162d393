"""Accuracy of the dialogue on a labelled question set, as typed, in NFD and without diacritics.

Usage: .venv/bin/python bench/eval_accuracy.py [QUESTIONS.tsv] [--kb knowledge_base] [--misses]
       [--holdout]

The TSV has a header and columns topic, section, question; an empty topic marks a question the
bot must not answer with a procedure, an empty section one that asks for the overview. Each
question is a fresh conversation through `bot.dialogue.respond`, as `python -m bot ask
--independent` would run it. Prints in-scope top-1 (committed to the right topic), answered or
offered (right topic answered or among the choices), out-of-scope rejected, section accuracy
(on questions answered with the right topic), and whether NFD input gives identical turns.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime as dt
import sys
import unicodedata
from pathlib import Path
from types import MappingProxyType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import BotConfig  # noqa: E402
from bot.dialogue import respond  # noqa: E402
from bot.kb.loader import load_kb  # noqa: E402
from bot.understanding import build_index  # noqa: E402

TARGETS = {"top1": 0.95, "offered": 0.98, "rejected": 0.90, "section": 0.90}
NOW = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)


def strip_diacritics(text: str) -> str:
    """All marks removed and đ -> d, as typed on a keyboard without Vietnamese input."""
    plain = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return plain.replace("đ", "d").replace("Đ", "D")


def read_questions(path: Path) -> list[tuple[str, str, str]]:
    """(topic, section, question) rows."""
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return [(r["topic"].strip(), (r["section"] or "").strip(), r["question"]) for r in rows]


def evaluate(rows, index, settings, transform=lambda q: q):
    """Figures and misses for one variant of the questions."""
    top1 = offered = rejected = section_ok = section_n = 0
    in_scope = [r for r in rows if r[0]]
    out_scope = [r for r in rows if not r[0]]
    misses = []
    turns = []
    for topic, section, question in rows:
        turn = respond(transform(question), {}, index, NOW, settings, buttons=True)
        turns.append((turn.kind, turn.topic, turn.section, turn.candidates))
        if not topic:
            if turn.kind == "answer":
                misses.append(f"OOS answered {turn.topic}/{turn.section}: {question}")
            else:
                rejected += 1
            continue
        hit = turn.kind == "answer" and turn.topic == topic
        top1 += hit
        offer = hit or (turn.kind == "choices" and topic in turn.candidates)
        offered += offer
        if hit:
            section_n += 1
            if (turn.section or "") == section:
                section_ok += 1
            else:
                misses.append(f"section {turn.section} != {section or 'overview'}: {question}")
        else:
            got = f"{turn.kind} {turn.topic or list(turn.candidates)}"
            misses.append(
                f"{'offered' if offer else 'MISSED'} {topic}: got {got} "
                f"({turn.score:.2f}): {question}"
            )
    figures = {
        "top1": top1 / max(len(in_scope), 1),
        "offered": offered / max(len(in_scope), 1),
        "rejected": rejected / max(len(out_scope), 1),
        "section": section_ok / max(section_n, 1),
    }
    return figures, misses, turns


def holdout(kb, folds: int = 4) -> dict[str, float]:
    """Each phrasing matched by an index built without it (`folds` rounds): a measure of how
    the matcher generalises that needs no labelled questions."""
    counts = {"top1": 0, "offered": 0, "wrong": 0}
    total = 0
    for fold_no in range(folds):
        kept, held = {}, []
        for topic in kb.topics.values():
            qs = topic.questions
            held += [(topic.id, q) for i, q in enumerate(qs) if i % folds == fold_no]
            kept[topic.id] = dataclasses.replace(
                topic, questions=tuple(q for i, q in enumerate(qs) if i % folds != fold_no)
            )
        index = build_index(dataclasses.replace(kb, topics=MappingProxyType(kept)))
        for topic_id, question in held:
            match = index.match(question)
            total += 1
            hit = match.outcome == "answer" and match.topic == topic_id
            counts["top1"] += hit
            counts["wrong"] += match.outcome == "answer" and not hit
            counts["offered"] += hit or (
                match.outcome == "choices" and topic_id in [c for c, _ in match.candidates]
            )
    return {k: v / max(total, 1) for k, v in counts.items()} | {"phrasings": total}


def main(argv: list[str] | None = None) -> int:
    """Run the evaluation and print the figures; exit 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "questions", nargs="?", default=str(ROOT / ".." / "shared" / "eval" / "dev_questions.tsv")
    )
    parser.add_argument("--kb", default=str(ROOT / "knowledge_base"))
    parser.add_argument("--misses", action="store_true", help="list every miss")
    parser.add_argument(
        "--holdout",
        action="store_true",
        help="also match every shipped phrasing with it left out of the index",
    )
    args = parser.parse_args(argv)
    rows = read_questions(Path(args.questions))
    index = build_index(load_kb(args.kb))
    settings = BotConfig()
    n_in = sum(1 for r in rows if r[0])
    print(
        f"{len(rows)} questions ({n_in} in scope, {len(rows) - n_in} out of scope), "
        f"{len(index.kb.topics)} topics"
    )
    ok = True
    variants = {
        "as typed": lambda q: q,
        "NFD": lambda q: unicodedata.normalize("NFD", q),
        "no diacritics": strip_diacritics,
    }
    baseline = None
    for name, transform in variants.items():
        figures, misses, turns = evaluate(rows, index, settings, transform)
        line = "  ".join(f"{k} {v:6.1%}" for k, v in figures.items())
        extra = ""
        if baseline is None:
            baseline = turns
        else:
            same = sum(a == b for a, b in zip(baseline, turns, strict=True))
            extra = f"  identical to as-typed: {same}/{len(turns)}"
            if name == "NFD" and same != len(turns):
                ok = False
        print(f"{name:>14}: {line}{extra}")
        if name == "as typed":
            ok &= all(figures[k] >= t for k, t in TARGETS.items())
        if args.misses and misses:
            for miss in misses:
                print(f"    {miss}")
    if args.holdout:
        held = holdout(index.kb)
        print(
            f"{'held-out':>14}: top1 {held['top1']:6.1%}  offered {held['offered']:6.1%}  "
            f"wrong answers {held['wrong']:6.1%}  ({held['phrasings']} shipped phrasings, "
            "each matched by an index built without it)"
        )
    print(
        "targets: "
        + ", ".join(f"{k} >= {v:.0%}" for k, v in TARGETS.items())
        + ", NFD identical: "
        + ("met" if ok else "NOT met")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
