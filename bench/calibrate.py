"""Set the understanding constants of `bot/understanding/ranking.py` from measurements.

Usage: .venv/bin/python bench/calibrate.py [--kb knowledge_base] [--folds 4]

1. Fusion (learned from the knowledge base): every shipped phrasing is matched by an index
   built without its fold, words and embeddings alike; `W_DENSE` and `TEMPERATURE` are the pair
   that gives the right topic the highest mean log-probability.
2. Operating points (calibrated on the dev sets): with that fusion, every question of
   ../shared/eval/dev_questions.tsv and real_dev_questions.tsv (asking sentence and whole
   message) is matched once; the decision is replayed for each (P_ANSWER, IN_SCOPE_MARGIN,
   OFFER_MIN), and the table prints right answers, right topic answered or offered, wrong
   answers and out-of-scope refused. The chosen point keeps wrong answers at or under 5% on
   every set (or under what the naming rules alone already answer wrongly, which no point
   changes) and out-of-scope questions refused at or over 90% on the real ones, and, among
   those, has the most right answers plus out-of-scope questions refused on the real ones.
It prints the figures and the chosen constants; it writes nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from pathlib import Path
from types import MappingProxyType

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.eval_accuracy import read_sets  # noqa: E402
from bot.kb.loader import load_kb  # noqa: E402
from bot.understanding import build_index, ranking  # noqa: E402
from bot.understanding.lexical import MAX_CHOICES  # noqa: E402

WEIGHTS = (0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0)
TEMPERATURES = (0.02, 0.03, 0.05, 0.08, 0.12, 0.2)
P_ANSWERS = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01)
MARGINS = (-1.0, 0.0, 0.02, 0.03, 0.04, 0.05, 0.06)
OFFER_MINS = (0.0, 0.2, 0.3, 0.4)
WRONG_MAX = 0.05
REFUSED_MIN = 0.90


def held_out_features(kb, folds: int) -> list[tuple[str, list, np.ndarray]]:
    """(right topic, lexical ranks, dense scores) for every phrasing, matched without its fold."""
    full = build_index(kb)
    if full.dense is None:
        sys.exit("the semantic model did not load: nothing to calibrate")
    dense = full.dense
    rows = _row_texts(kb)
    vector_of = {text: dense.vectors[r] for r, text in enumerate(rows)}
    texts = {}
    for number, topic in enumerate(kb.topics.values()):
        for i, q in enumerate(topic.questions):
            texts[(number, i)] = q
    out = []
    for fold in range(folds):
        kept = {
            t.id: dataclasses.replace(
                t, questions=tuple(q for i, q in enumerate(t.questions) if i % folds != fold)
            )
            for t in kb.topics.values()
        }
        lexical = build_index(dataclasses.replace(kb, topics=MappingProxyType(kept)), encoder=None)
        held = {q for (n, i), q in texts.items() if i % folds == fold}
        mask = np.array(
            [not (dense.topic_of[r] >= 0 and text in held) for r, text in enumerate(rows)]
        )
        for (number, i), question in texts.items():
            if i % folds != fold:
                continue
            query = lexical.analyze(question)
            ranks = [
                (t, s)
                for terms in (query.terms, query.alt_terms)
                if terms
                for t, s, *_ in lexical.rank(terms)
            ]
            sims = dense.vectors[mask] @ vector_of[question]
            best = np.full(len(dense.topic_ids), -1.0)
            owners = dense.topic_of[mask]
            np.maximum.at(best, owners[owners >= 0], sims[owners >= 0])
            out.append((dense.topic_ids[number], ranks, best))
    return out


def _row_texts(kb) -> list[str]:
    """The dense index's row texts, in its order."""
    from bot.understanding.dense import _rows  # noqa: PLC0415

    return [r[0] for r in _rows(kb)]


def learn_fusion(samples, topic_ids) -> tuple[float, float, float]:
    """(W_DENSE, TEMPERATURE, mean log-probability of the right topic) maximising the latter."""
    best = (0.0, 0.1, -math.inf)
    for weight in WEIGHTS:
        ranking.W_DENSE = weight
        fused = [(gold, ranking.fuse(ranks, d, topic_ids)) for gold, ranks, d in samples]
        for temperature in TEMPERATURES:
            total = 0.0
            for gold, ranked in fused:
                scores = np.array([s.score for s in ranked]) / temperature
                scores -= scores.max()
                logp = scores - np.log(np.exp(scores).sum())
                where = [n for n, s in enumerate(ranked) if s.topic == gold]
                total += logp[where[0]] if where else -10.0
            mean = total / max(len(fused), 1)
            if mean > best[2]:
                best = (weight, temperature, mean)
    return best


def replay(items, p_answer: float, margin: float, offer_min: float) -> dict[str, float]:
    """Figures of one set for one operating point, from the precomputed parts of each match."""
    right = offered = wrong = refused = n_in = n_out = 0
    for accepted, verdict, ranked, sure, oos, withheld, gap in items:
        if verdict.outcome == "answer":
            outcome, topic, shown = "answer", verdict.topic, ()
        elif oos:
            outcome, topic, shown = "fallback", None, ()
        elif ranked and sure >= p_answer and gap >= margin and not withheld:
            outcome, topic, shown = "answer", ranked[0].topic, ()
        elif ranked and ranked[0].score >= offer_min:
            outcome, topic, shown = "choices", None, [s.topic for s in ranked[:MAX_CHOICES]]
        else:
            outcome, topic = verdict.outcome, None
            shown = [c for c, _ in verdict.candidates]
        if not accepted:
            n_out += 1
            refused += outcome != "answer"
            continue
        n_in += 1
        hit = outcome == "answer" and topic in accepted
        right += hit
        wrong += outcome == "answer" and not hit
        offered += hit or (outcome == "choices" and bool(accepted & set(shown)))
    return {
        "top1": right / max(n_in, 1),
        "offered": offered / max(n_in, 1),
        "wrong": wrong / max(n_in, 1),
        "refused": refused / max(n_out, 1),
    }


def dev_items(index, sets) -> dict[str, list]:
    """For each dev set, the parts of every match the decision is replayed from."""
    found = {}
    for name, rows in sets.items():
        items = []
        for topics, _, question in rows:
            reading = index.read(question)
            query = index.analyze(reading.text)
            verdict = super(type(index), index).match_query(query)
            scores = index.dense.scores(reading.focus)
            ranked = index.fused(query, scores)
            sure = ranking.confidence(ranked)
            if verdict.outcome == "answer" and (
                index.named_out_of_scope(query, verdict, scores)
                or index.story_overrules(verdict, ranked, reading, sure)
            ):
                verdict = dataclasses.replace(verdict, outcome="fallback", topic=None)
            oos = bool(ranked) and index.out_of_scope(query, scores, ranked[0].topic) is not None
            accepted = set(topics.split("|")) if topics else set()
            withheld = index.withheld(ranked, query, reading, verdict.outcome)
            gap = float(scores.topics.max()) - (scores.domain_score if scores.domain else -1.0)
            items.append((accepted, verdict, ranked, sure, oos, withheld, gap))
        found[name] = items
    return found


def main(argv: list[str] | None = None) -> int:
    """Learn the fusion, print the operating points and the chosen constants."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", default=str(ROOT / "knowledge_base"))
    parser.add_argument("--folds", type=int, default=4)
    args = parser.parse_args(argv)
    kb = load_kb(args.kb)
    samples = held_out_features(kb, args.folds)
    weight, temperature, loglik = learn_fusion(samples, list(kb.topics))
    print(
        f"fusion learned on {len(samples)} held-out phrasings: W_DENSE = {weight}, "
        f"TEMPERATURE = {temperature} (mean log-probability of the right topic {loglik:.3f})"
    )
    ranking.W_DENSE, ranking.TEMPERATURE = weight, temperature
    index = build_index(kb)
    shared = ROOT / ".." / "shared" / "eval"
    sets = {
        **read_sets(shared / "dev_questions.tsv"),
        **read_sets(shared / "real_dev_questions.tsv"),
    }
    items = dev_items(index, sets)
    print(
        f"\n{'P_ANSWER':>8} {'MARGIN':>6} {'OFFER':>5}  "
        + "  ".join(f"{n[:26]:>36}" for n in items)
    )
    named_wrong = {n: replay(it, 9.0, 9.0, 9.0)["wrong"] for n, it in items.items()}
    best = None
    for p_answer in P_ANSWERS:
        for margin in MARGINS:
            for offer_min in OFFER_MINS:
                figures = {n: replay(it, p_answer, margin, offer_min) for n, it in items.items()}
                cells = [
                    "t1 {top1:4.0%} off {offered:4.0%} wr {wrong:4.0%} oos {refused:4.0%}".format(
                        **f
                    )
                    for f in figures.values()
                ]
                print(
                    f"{p_answer:>8} {margin:>6} {offer_min:>5}  "
                    + "  ".join(f"{c:>36}" for c in cells)
                )
                real = [f for n, f in figures.items() if n.startswith("real")]
                allowed = all(
                    f["wrong"] <= max(WRONG_MAX, named_wrong[n]) for n, f in figures.items()
                ) and all(f["refused"] >= REFUSED_MIN - 1e-9 for f in real)
                value = sum(f["top1"] + f["refused"] for f in real)
                if allowed and (best is None or value > best[0] + 1e-9):
                    best = (value, p_answer, margin, offer_min)
    if best is None:
        print("\nno operating point keeps wrong answers at or under 5% and refusals at 90%")
        return 1
    print(f"\nchosen: P_ANSWER = {best[1]}, IN_SCOPE_MARGIN = {best[2]}, OFFER_MIN = {best[3]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
