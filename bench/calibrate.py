"""Set the understanding constants of `bot/understanding/ranking.py` from measurements.

Usage: .venv/bin/python bench/calibrate.py [--kb knowledge_base] [--folds 4] [--share 0.5]

1. Fusion (learned from the knowledge base): every shipped phrasing is matched by an index
   built without its fold, words and embeddings alike (best rows and centroids); for each
   `CENTROID_SHARE`, `W_DENSE` and `TEMPERATURE` are the pair that gives the right topic the
   highest mean log-probability.
2. Operating points (calibrated on the dev sets): with each share's fusion, every question of
   ../shared/eval/dev_questions.tsv and real_dev_questions.tsv (asking sentence and whole
   message, each as typed and without diacritics) is matched once; the decision is replayed
   for each (P_ANSWER, IN_SCOPE_MARGIN, OFFER_MIN, SCOPE_ODDS_AT). An allowed point keeps
   wrong answers at or under 5% on every set (or under what the naming rules alone already
   answer wrongly, which no point changes) and out-of-scope questions refused at or over 90%
   on the real ones; the best has the most right answers plus out-of-scope questions refused
   on the real ones, then the fewest wrong answers.
3. The weight of the discriminant in the choices (`MENU_WEIGHT`), which changes no answer:
   first from the knowledge base, the weights that put the right topic of the held-out
   phrasings among the choices about as often as the best one (`MENU_TOLERANCE`); of those,
   the one offering the right topic for the most real dev questions at the shipped operating
   point, then the smallest.
4. The share is not chosen here: the dev sets cannot tell the shares apart (their best points
   are within a question or two of each other) and the replay only approximates the dialogue.
   The table and point printed are those of `--share` (default: the shipped one); see
   `CENTROID_SHARE` in ranking.py for how it was chosen.
It prints the figures and the chosen constants; it writes nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import math
import sys
from pathlib import Path
from types import MappingProxyType

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.eval_accuracy import read_sets, strip_diacritics  # noqa: E402
from bot.kb.loader import load_kb  # noqa: E402
from bot.understanding import build_index, ranking  # noqa: E402
from bot.understanding.dense import Groups  # noqa: E402
from bot.understanding.discriminant import Discriminant  # noqa: E402
from bot.understanding.lexical import MAX_CHOICES  # noqa: E402

SHARES = (0.0, 0.25, 0.5, 0.75, 1.0)
WEIGHTS = (0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0, 48.0)
TEMPERATURES = (0.02, 0.03, 0.05, 0.08, 0.12, 0.2)
P_ANSWERS = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01)
MARGINS = (-1.0, 0.0, 0.02, 0.03, 0.04, 0.05, 0.06)
OFFER_MINS = (0.0, 0.2, 0.3, 0.4)
SCOPE_ODDS = (math.inf, 80.0, 70.0, 60.0, 50.0, 40.0, 30.0)
MENU_WEIGHTS = (0.0, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0)
MENU_TOLERANCE = 0.0025
"""How far below the best share of held-out phrasings offered a menu weight may be and still
count as as good (a few phrasings of about a thousand)."""
WRONG_MAX = 0.05
REFUSED_MIN = 0.90


def held_out_features(kb, folds: int) -> list[tuple[str, list, tuple]]:
    """(right topic, lexical ranks, (best cosine, centroid cosine, discriminant score) per
    topic) for every phrasing, matched without its fold."""
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
        kept_vectors = dense.vectors[mask]
        groups = Groups(dense.topic_of[mask], len(dense.topic_ids))
        centroids = groups.centroids(kept_vectors)
        count = len(dense.topic_ids)
        classes = np.where(dense.domain_of >= 0, count + dense.domain_of, dense.topic_of)
        discriminant = Discriminant.fit(kept_vectors, classes[mask], count + len(dense.domains))
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
            vector = vector_of[question]
            best, centroid = groups.best(kept_vectors @ vector), centroids @ vector
            likely = discriminant.scores(vector)[:count]
            likely = likely - likely.max()
            out.append((dense.topic_ids[number], ranks, (best, centroid, likely)))
    return out


def _row_texts(kb) -> list[str]:
    """The dense index's row texts, in its order."""
    from bot.understanding.dense import _rows  # noqa: PLC0415

    return [r[0] for r in _rows(kb)]


def learn_fusion(samples, topic_ids) -> dict[float, tuple[float, float, float]]:
    """For each `CENTROID_SHARE`, the (W_DENSE, TEMPERATURE, mean log-probability of the right
    topic) maximising the latter."""
    learned = {}
    for share in SHARES:
        ranking.CENTROID_SHARE = share
        best = (0.0, 0.1, -math.inf)
        for weight in WEIGHTS:
            ranking.W_DENSE = weight
            fused = [
                (gold, ranking.fuse(ranks, ranking.meaning(d[0], d[1]), topic_ids))
                for gold, ranks, d in samples
            ]
            for temperature in TEMPERATURES:
                mean = _mean_log_probability(fused, temperature)
                if mean > best[2]:
                    best = (weight, temperature, mean)
        learned[share] = best
    return learned


def menu_weights(samples, topic_ids, temperature: float) -> list[tuple[float, float, float]]:
    """(MENU_WEIGHT, share of held-out phrasings whose right topic is among the choices, mean
    log-probability of the right topic) for every weight of `MENU_WEIGHTS`, at the fusion of
    `ranking`'s current constants."""
    found = []
    for weight in MENU_WEIGHTS:
        ranking.MENU_WEIGHT = weight
        fused, offered = [], 0
        for gold, ranks, d in samples:
            semantic = ranking.meaning(d[0], d[1])
            ranked = ranking.fuse(ranks, semantic, topic_ids)
            ranked = ranking.for_choices(ranked, d[2], topic_ids)
            by_words = max(ranks, key=lambda r: r[1])[0] if ranks else None
            offered += gold in dict(ranking.menu(ranked, by_words, MAX_CHOICES))
            fused.append((gold, ranked))
        loglik = _mean_log_probability(fused, temperature)
        found.append((weight, offered / max(len(samples), 1), loglik))
    return found


def menu_weight(weights: list[tuple[float, float, float]], items) -> float:
    """The weight of the choices: among those within `MENU_TOLERANCE` of the most held-out
    phrasings offered, the one that offers the right topic for the most real dev questions
    (every real set, as typed and without diacritics) at the shipped operating point (the
    weight changes no answer, only the choices), then the smallest."""
    most = max(offered for _, offered, _ in weights)
    close = [w for w, offered, _ in weights if offered >= most - MENU_TOLERANCE]
    point = (ranking.P_ANSWER, ranking.IN_SCOPE_MARGIN, ranking.OFFER_MIN)
    odds = ranking.SCOPE_ODDS_AT
    real = [it for n, it in items.items() if n.startswith("real")]

    def offered(weight: float) -> int:
        return sum(
            round(replay(it, *point, weight, odds)["offered"] * _in_scope(it)) for it in real
        )

    return max(close, key=lambda w: (offered(w), -w))


def _in_scope(items) -> int:
    """How many questions of a replayed set are in scope."""
    return sum(1 for item in items if item[0])


def _mean_log_probability(fused, temperature: float) -> float:
    """The mean log-probability of the right topic (-10 when not ranked at all)."""
    total = 0.0
    for gold, ranked in fused:
        scores = np.array([s.score for s in ranked]) / temperature
        scores -= scores.max()
        logp = scores - np.log(np.exp(scores).sum())
        where = [n for n, s in enumerate(ranked) if s.topic == gold]
        total += logp[where[0]] if where else -10.0
    return total / max(len(fused), 1)


def replay(
    items,
    p_answer: float,
    margin: float,
    offer_min: float,
    weight: float | None = None,
    odds: float = math.inf,
) -> dict[str, float]:
    """Figures of one set for one operating point (SCOPE_ODDS_AT `odds`, MENU_WEIGHT `weight`:
    the shipped one when None), from the precomputed parts of each match."""
    right = offered = wrong = refused = n_in = n_out = 0
    for accepted, verdict, ranked, sure, oos, withheld, (gap, scope), story, choices in items:
        in_scope = gap >= margin or (gap >= 0 and scope >= odds)
        if verdict.outcome == "answer" and not (story and sure >= p_answer):
            outcome, topic, shown = "answer", verdict.topic, ()
        elif oos:
            outcome, topic, shown = "fallback", None, ()
        elif ranked and sure >= p_answer and in_scope and not withheld:
            outcome, topic, shown = "answer", ranked[0].topic, ()
        elif ranked and ranked[0].score >= offer_min:
            shown = choices[ranking.MENU_WEIGHT if weight is None else weight]
            outcome, topic = "choices", None
        else:  # the naming rules' verdict stands (an overruled story's answer too)
            outcome, topic = verdict.outcome, verdict.topic if verdict.outcome == "answer" else None
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
            sure = ranking.confidence(ranked, index.general)
            if verdict.outcome == "answer" and index.named_out_of_scope(query, verdict, scores):
                verdict = dataclasses.replace(verdict, outcome="fallback", topic=None)
            # whether the story's meaning favours another topic; it overrules at P_ANSWER
            story = verdict.outcome == "answer" and index.story_overrules(
                verdict, ranked, reading, 1.0
            )
            oos = bool(ranked) and index.out_of_scope(query, scores, ranked[0].topic) is not None
            accepted = set(topics.split("|")) if topics else set()
            withheld = index.withheld(ranked, query, reading, verdict.outcome)
            choices = _choices(index, query, scores, verdict, ranked)
            scope = (scores.scope_gap, scores.scope_odds)
            items.append((accepted, verdict, ranked, sure, oos, withheld, scope, story, choices))
        found[name] = items
    return found


def _choices(index, query, scores, verdict, ranked) -> dict[float, list[str]]:
    """The topics offered at each weight of `MENU_WEIGHTS` (the shipped one included)."""
    by_words = verdict.candidates[0][0] if verdict.candidates else None
    shipped, found = ranking.MENU_WEIGHT, {}
    for weight in (*MENU_WEIGHTS, shipped):
        ranking.MENU_WEIGHT = weight
        choices = ranking.for_choices(ranked, scores.likely, index.topic_ids)
        offered = ranking.menu(choices, by_words, MAX_CHOICES)
        found[weight] = [topic for topic, _ in offered]
    ranking.MENU_WEIGHT = shipped
    return found


def main(argv: list[str] | None = None) -> int:
    """Learn the fusion, print the operating points and the chosen constants."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", default=str(ROOT / "knowledge_base"))
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument(
        "--share",
        type=float,
        default=ranking.CENTROID_SHARE,
        choices=SHARES,
        help="centroid share whose table and point to print (default: the shipped one)",
    )
    args = parser.parse_args(argv)
    kb = load_kb(args.kb)
    samples = held_out_features(kb, args.folds)
    learned = learn_fusion(samples, list(kb.topics))
    index = build_index(kb)
    shared = ROOT / ".." / "shared" / "eval"
    sets = {
        **read_sets(shared / "dev_questions.tsv"),
        **read_sets(shared / "real_dev_questions.tsv"),
    }
    sets |= {  # the bot must hold on messages typed without diacritics too
        f"{name} plain": [(t, sec, strip_diacritics(q)) for t, sec, q in rows]
        for name, rows in sets.items()
        if name.startswith("real")
    }
    print(f"fusion learned on {len(samples)} held-out phrasings, for each centroid share:")
    points, items, menus = {}, {}, {}
    for share, (weight, temperature, loglik) in learned.items():
        ranking.CENTROID_SHARE, ranking.W_DENSE, ranking.TEMPERATURE = share, weight, temperature
        items[share] = dev_items(index, sets)
        point = operating_point(items[share], table=False)
        weights = menu_weights(samples, list(kb.topics), temperature)
        chosen = menu_weight(weights, items[share])
        menus[share] = chosen
        print(
            f"  CENTROID_SHARE = {share}: W_DENSE = {weight}, TEMPERATURE = {temperature}, mean "
            f"log-probability of the right topic {loglik:.3f}; best point "
            + (
                f"P_ANSWER = {point[1]}, IN_SCOPE_MARGIN = {point[2]}, OFFER_MIN = {point[3]}, "
                f"SCOPE_ODDS_AT = {point[4]} "
                f"(right + refused on the real sets {point[0][0]:.3f}, wrong on all "
                f"{-point[0][1]:.3f})"
                if point
                else "none"
            )
            + f"; MENU_WEIGHT = {chosen}; right topic offered for held-out phrasings at each "
            + ", ".join(f"{w}: {offered:.1%}" for w, offered, _ in weights)
        )
        if point is not None:
            points[share] = point
    share = args.share
    if share not in points:
        print(
            f"\nno operating point of CENTROID_SHARE = {share} keeps wrong answers at or under 5%"
        )
        return 1
    _, p_answer, margin, offer_min, odds = points[share]
    weight, temperature, _ = learned[share]
    operating_point(items[share], table=True)
    print(
        f"\nchosen: CENTROID_SHARE = {share}, W_DENSE = {weight}, TEMPERATURE = {temperature}, "
        f"P_ANSWER = {p_answer}, IN_SCOPE_MARGIN = {margin}, OFFER_MIN = {offer_min}, "
        f"SCOPE_ODDS_AT = {odds}, MENU_WEIGHT = {menus[share]}"
    )
    return 0


def operating_point(items, table: bool):
    """The best allowed operating point as ((right answers plus refusals on the real sets,
    minus wrong answers on every set), P_ANSWER, IN_SCOPE_MARGIN, OFFER_MIN, SCOPE_ODDS_AT),
    or None; with `table`, every point's figures printed."""
    if table:
        print(
            f"\n{'P_ANSWER':>8} {'MARGIN':>6} {'OFFER':>5} {'ODDS':>5}  "
            + "  ".join(f"{n[:26]:>36}" for n in items)
        )
    named_wrong = {n: replay(it, 9.0, 9.0, 9.0)["wrong"] for n, it in items.items()}
    best = None
    for point in itertools.product(P_ANSWERS, MARGINS, OFFER_MINS, SCOPE_ODDS):
        p_answer, margin, offer_min, odds = point
        figures = {n: replay(it, p_answer, margin, offer_min, odds=odds) for n, it in items.items()}
        if table:
            _print_row(point, figures)
        real = [f for n, f in figures.items() if n.startswith("real")]
        allowed = all(
            f["wrong"] <= max(WRONG_MAX, named_wrong[n]) for n, f in figures.items()
        ) and all(f["refused"] >= REFUSED_MIN - 1e-9 for f in real)
        value = (
            round(sum(f["top1"] + f["refused"] for f in real), 9),
            -round(sum(f["wrong"] for f in figures.values()), 9),
        )
        if allowed and (best is None or value > best[0]):
            best = (value, *point)
    return best


def _print_row(point: tuple, figures: dict) -> None:
    """One line of the operating-point table."""
    cells = [
        "t1 {top1:4.0%} off {offered:4.0%} wr {wrong:4.0%} oos {refused:4.0%}".format(**f)
        for f in figures.values()
    ]
    p_answer, margin, offer_min, odds = point
    print(
        f"{p_answer:>8} {margin:>6} {offer_min:>5} {odds:>5}  "
        + "  ".join(f"{c:>36}" for c in cells)
    )


if __name__ == "__main__":
    sys.exit(main())
