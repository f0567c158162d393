"""The understanding pipeline for one knowledge base: read → retrieve → rank → decide.

    reading = read(text)                      # capped, sentences, asking sentences
    query   = analyze(reading.text)           # words: section cues, wards, small talk, content
    lexical = naming rules over query         # LexicalIndex.match_query: precise, often unsure
    dense   = DenseIndex.scores(reading.focus)
    ranked  = fuse(lexical ranks, dense)      # one score per topic, and a confidence
    Match   = DECISIONS, first that applies   # answer / choices / fallback, topic, FAQ entry

The decisions, in order (each has a test in tests/test_understanding.py):

1. `named`: the naming rules commit to a topic (a topic named clearly): answer it.
2. `out_of_scope`: the message is closer to a domain of `lexicon/out_of_scope.toml` than to any
   topic: fallback, naming the domain.
3. `confident`: the fused confidence reaches `P_ANSWER`: answer the best fused topic.
4. `plausible`: the best fused score reaches `OFFER_MIN`: offer the best three fused topics.
5. otherwise the lexical verdict (choices or fallback) stands.

An answered topic is answered by one of its FAQ entries when the message is as close to that
entry as to anything else of the topic (`FAQ_AT`, `FAQ_SLACK`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from pathlib import Path

from bot.kb.model import KnowledgeBase
from bot.understanding.dense import DenseIndex, DenseScores
from bot.understanding.lexical import MAX_CHOICES, LexicalIndex
from bot.understanding.query import Match, Query
from bot.understanding.ranking import (
    FAQ_AT,
    FAQ_SLACK,
    OFFER_MIN,
    OUT_OF_SCOPE_MARGIN,
    P_ANSWER,
    Scored,
    confidence,
    fuse,
)
from bot.understanding.reading import AskCues, Reading, read
from bot.understanding.semantic import Encoder, default_cache_dir, load_encoder

logger = logging.getLogger(__name__)

_DEFAULT = object()


class Index(LexicalIndex):
    """Everything the dialogue needs to understand messages about one knowledge base."""

    def __init__(
        self,
        kb: KnowledgeBase,
        encoder: Encoder | None | object = _DEFAULT,
        cache_dir: Path | None | object = _DEFAULT,
    ) -> None:
        """Build the lexical index and, when a model loads, the semantic one."""
        super().__init__(kb)
        self.ask_cues = AskCues.from_kb(kb)
        if encoder is _DEFAULT:
            encoder = load_encoder()
        folder = default_cache_dir() if cache_dir is _DEFAULT else cache_dir
        self.dense: DenseIndex | None = None
        if encoder is not None:
            try:
                self.dense = DenseIndex(kb, encoder, folder)  # type: ignore[arg-type]
            except Exception as exc:  # the lexical path must keep answering
                logger.warning("semantic index not built, answering on words alone: %s", exc)

    def read(self, text: str) -> Reading:
        """The reading stage for one message."""
        return read(text, self.ask_cues)

    def match(self, text: str, today: dt.date | None = None) -> Match:
        """The verdict for one message, read, analysed and matched."""
        reading = self.read(text)
        return self.match_query(self.analyze(reading.text), reading, today)

    def match_query(
        self, query: Query, reading: Reading | None = None, today: dt.date | None = None
    ) -> Match:
        """The verdict for an analysed message (see the module docstring for the order)."""
        verdict = super().match_query(query)
        if self.dense is None:
            return verdict
        focus = reading.focus if reading is not None else query.normalized.text
        if not focus.strip():
            return verdict
        scores = self.dense.scores(focus)
        ranked = self.fused(query, scores)
        sure = confidence(ranked)
        if verdict.outcome == "answer":
            faq = self.faq_for(verdict.topic, scores, today)
            return dataclasses.replace(verdict, faq=faq, confidence=sure)
        if not ranked:
            return verdict
        if scores.domain is not None and scores.domain_score > float(
            scores.topics.max() + OUT_OF_SCOPE_MARGIN
        ):
            return dataclasses.replace(
                verdict, outcome="fallback", topic=None, domain=scores.domain, via="fused"
            )
        offered = tuple((s.topic, round(s.score, 4)) for s in ranked[:MAX_CHOICES])
        best = ranked[0]
        if sure >= P_ANSWER:
            faq = self.faq_for(best.topic, scores, today)
            return dataclasses.replace(
                verdict,
                outcome="answer",
                topic=best.topic,
                candidates=offered,
                score=round(best.score, 4),
                faq=faq,
                confidence=sure,
                via="fused",
            )
        if best.score >= OFFER_MIN:
            return dataclasses.replace(
                verdict, outcome="choices", topic=None, candidates=offered, confidence=sure
            )
        return dataclasses.replace(verdict, confidence=sure)

    def fused(self, query: Query, scores: DenseScores) -> list[Scored]:
        """Topics ranked by the fused score for an analysed message."""
        lexical = [
            (topic, score)
            for terms in (query.terms, query.alt_terms)
            if terms
            for topic, score, *_ in self.rank(terms)
        ]
        return fuse(lexical, scores.topics, self.topic_ids)

    def faq_for(
        self, topic_id: str | None, scores: DenseScores, today: dt.date | None = None
    ) -> str | None:
        """The FAQ entry of `topic_id` that answers the message best, if one is close enough."""
        if topic_id is None or topic_id not in self.kb.topics:
            return None
        topic = self.kb.topics[topic_id]
        own = float(scores.topic_phrasing[self.numbers[topic_id]])
        best_id, best = None, FAQ_AT
        for faq in getattr(topic, "faqs", ()):
            if today is not None and not faq.in_force(today):
                continue
            sim = scores.faqs.get((topic_id, faq.id), -1.0)
            if sim >= best and sim >= own - FAQ_SLACK:
                best_id, best = faq.id, sim
        return best_id

    def faq_in_context(
        self, topic_id: str, text: str, today: dt.date | None = None, floor: float = FAQ_AT
    ) -> str | None:
        """The FAQ entry of the current topic a follow-up asks, if one is close enough."""
        if self.dense is None or topic_id not in self.kb.topics:
            return None
        scores = self.dense.scores(self.read(text).focus)
        best_id, best = None, floor
        for faq in getattr(self.kb.topics[topic_id], "faqs", ()):
            if today is not None and not faq.in_force(today):
                continue
            sim = scores.faqs.get((topic_id, faq.id), -1.0)
            if sim >= best:
                best_id, best = faq.id, sim
        return best_id


def build_index(kb: KnowledgeBase, **options: object) -> Index:
    """The understanding index for `kb` (options: `encoder`, `cache_dir`)."""
    return Index(kb, **options)  # type: ignore[arg-type]
