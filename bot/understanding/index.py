"""The understanding pipeline for one knowledge base: read → retrieve → rank → decide.

    reading = read(text)                      # capped, sentences, asking sentences
    query   = analyze(reading.text)           # words: section cues, wards, small talk, content
    lexical = naming rules over query         # LexicalIndex.match_query: precise, often unsure
    dense   = DenseIndex.scores(reading.focus)
    ranked  = fuse(lexical ranks, dense)      # one score per topic, and a confidence
    Match   = DECISIONS, first that applies   # answer / choices / fallback, topic, FAQ entry

The decisions, in order (each has a test in tests/test_understanding.py or tests/test_names.py):

1. `named`: the naming rules commit to a topic (a topic named clearly): answer it, unless the
   message is worded more like an out-of-scope phrasing than like any of that topic's, or an
   out-of-scope domain is closer to it by meaning than that topic (`named_out_of_scope`), or
   the message is long and meaning favours another topic with `P_ANSWER` (`story_overrules`).
2. `faq`: the message all but repeats an FAQ entry (`FAQ_DIRECT_AT`): answer that entry.
3. `out_of_scope`: the message is closer to a domain of `lexicon/out_of_scope.toml` than to any
   topic: fallback, naming the domain.
4. `confident`: the fused confidence reaches `P_ANSWER` (typed with diacritics or without:
   the embedding reads the message with them restored, `accents`), the best topic is closer by
   meaning than every out-of-scope domain by `IN_SCOPE_MARGIN` (or closer at all, with the
   discriminant's odds of a topic over a domain at `SCOPE_ODDS_AT`), and the words do not
   forbid it (`withheld`: the message names nothing, names shared by several close topics, or
   words the knowledge base lacks): answer the best fused topic.
5. `plausible`: the best fused score reaches `OFFER_MIN`: offer the best three topics by the
   fused score with the discriminant's added (`ranking.MENU_WEIGHT`), the third giving way
   to the naming rules' best when it is not among them (`menu`); when an out-of-scope domain
   is within `NEAR_DOMAIN_MARGIN` of the best topic, the choices carry it (`near_domain`)
   and the reply names its office too (`offer`).
6. otherwise the lexical verdict (choices or fallback) stands.

An answered topic is answered by one of its FAQ entries when the message is as close to that
entry as to anything else of the topic (`FAQ_AT`, `FAQ_LEAD`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
from pathlib import Path

from bot.kb.model import KnowledgeBase
from bot.understanding.dense import DenseIndex, DenseScores
from bot.understanding.faqs import FaqChoice
from bot.understanding.lexical import MAX_CHOICES, LexicalIndex
from bot.understanding.names import UNKNOWN_SHARE
from bot.understanding.query import Match, Query
from bot.understanding.ranking import (
    DOMAIN_WORDS_AT,
    IN_SCOPE_MARGIN,
    NAMED_DOMAIN_WORDS_AT,
    NEAR_DOMAIN_MARGIN,
    OFFER_MIN,
    OUT_OF_SCOPE_MARGIN,
    P_ANSWER,
    SCOPE_ODDS_AT,
    Scored,
    confidence,
    for_choices,
    fuse,
    meaning,
    menu,
)
from bot.understanding.reading import AskCues, Reading, read
from bot.understanding.semantic import Encoder, default_cache_dir, load_encoder

logger = logging.getLogger(__name__)

_DEFAULT = object()


class Index(LexicalIndex, FaqChoice):
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
        self.general = frozenset(t.id for t in kb.topics.values() if t.general)
        if encoder is _DEFAULT:
            encoder = load_encoder()
        folder = default_cache_dir() if cache_dir is _DEFAULT else cache_dir
        self.dense: DenseIndex | None = None
        if encoder is not None:
            try:
                self.dense = DenseIndex(kb, encoder, folder, self.accents)  # type: ignore[arg-type]
            except Exception as exc:  # the lexical path must keep answering
                logger.warning("semantic index not built, answering on words alone: %s", exc)

    def read(self, text: str) -> Reading:
        """The reading stage for one message."""
        return read(text, self.ask_cues)

    def match(self, text: str, today: dt.date | None = None) -> Match:
        """The verdict for one message, read, analysed and matched."""
        reading = self.read(text)
        return self.match_query(self.analyze_reading(reading), reading, today)

    def analyze_reading(self, reading: Reading) -> Query:
        """`analyze` of the whole message, with the section its asking sentences ask.

        A story carries section cues of its own ("năm ngoái tôi đã nộp lệ phí" before "giờ làm
        hộ chiếu thì cần giấy tờ gì?"): the question is in the asking sentences, so a long
        message asks what they ask, or for the overview when they name no section. Real whole
        messages (`bench/eval_accuracy.py --variants`): section right 47.9 -> 58.3% as typed,
        55.0 -> 62.5% without diacritics; topics unchanged.
        """
        query = self.analyze(reading.text)
        if len(reading.asks) == len(reading.sentences):
            return query
        asked = self.analyze(" ".join(reading.asks)).section
        return query if asked == query.section else dataclasses.replace(query, section=asked)

    def named(self, text: str) -> Match:
        """The naming rules' verdict alone (words only, no embedding): cheap enough to run on
        every asking sentence of a long message."""
        return LexicalIndex.match_query(self, self.analyze(self.read(text).text))

    def topic_match(self, text: str) -> Match:
        """The verdict on the topic alone (no FAQ entry): the naming rules' answer when they
        commit (decision 1 stands whatever else is computed), else the full match. For the
        self-test of `kb check`, which matches every phrasing."""
        reading = self.read(text)
        query = self.analyze(reading.text)
        verdict = LexicalIndex.match_query(self, query)
        return verdict if verdict.outcome == "answer" else self.match_query(query, reading)

    def match_query(
        self, query: Query, reading: Reading | None = None, today: dt.date | None = None
    ) -> Match:
        """The verdict for an analysed message (see the module docstring for the order)."""
        verdict = super().match_query(query)
        if self.dense is None:
            faq = self.faq_for(verdict.topic, None, query, today)
            return dataclasses.replace(verdict, faq=faq) if faq else verdict
        focus = reading.focus if reading is not None else query.normalized.text
        if not focus.strip():
            return verdict
        scores = self.dense.scores(focus)
        ranked = self.fused(query, scores)
        sure = confidence(ranked, self.general)
        named = (
            verdict.outcome == "answer"
            and not self.names_shared(query, [t for t, _ in verdict.candidates])
            and not self.story_overrules(verdict, ranked, reading, sure)
        )
        if named and not self.named_out_of_scope(query, verdict, scores):
            faq = self.faq_for(verdict.topic, scores, query, today)
            return dataclasses.replace(verdict, faq=faq, confidence=sure)
        if not ranked:
            return verdict
        return self.fused_decision(verdict, query, reading, scores, ranked, today)

    @staticmethod
    def story_overrules(
        verdict: Match, ranked: list[Scored], reading: Reading | None, sure: float
    ) -> bool:
        """True when the words of a long message name one topic and its meaning favours
        another as surely as it must to answer (`P_ANSWER`): a story names procedures in
        passing (where the family is registered, the land certificate it already holds), and
        the fused decisions then settle it, offering both when meaning is not sure enough."""
        if reading is None or not reading.is_long or not ranked:
            return False
        return ranked[0].topic != verdict.topic and sure >= P_ANSWER

    def fused_decision(
        self,
        verdict: Match,
        query: Query,
        reading: Reading | None,
        scores: DenseScores,
        ranked: list[Scored],
        today: dt.date | None,
    ) -> Match:
        """Decisions 2 to 6 (see the module docstring) for a message the naming rules left
        open."""
        sure = confidence(ranked, self.general)
        by_words = verdict.candidates[0][0] if verdict.candidates else None
        offered = menu(ranked, by_words, MAX_CHOICES)
        direct = self.direct_faq(scores, today)
        if direct is not None:
            return dataclasses.replace(
                verdict,
                outcome="answer",
                topic=direct[0],
                faq=direct[1],
                candidates=offered,
                confidence=sure,
                via="faq",
            )
        domain = self.out_of_scope(query, scores, ranked[0].topic)
        if domain is not None:
            return dataclasses.replace(
                verdict,
                outcome="fallback",
                topic=None,
                domain=domain,
                via="fused",
            )
        best = ranked[0]
        if (
            sure >= P_ANSWER
            and self.in_scope(scores)
            and not self.withheld(ranked, query, reading, verdict.outcome)
        ):
            faq = self.faq_for(best.topic, scores, query, today)
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
            choices = for_choices(ranked, scores.likely, self.topic_ids)
            shown = menu(choices, by_words, MAX_CHOICES)
            return self.offer(verdict, shown, sure, scores, tuple(t for t, _ in offered))
        return dataclasses.replace(verdict, confidence=sure)

    def offer(
        self,
        verdict: Match,
        offered: tuple,
        sure: float,
        scores: DenseScores,
        plausible: tuple[str, ...] = (),
    ) -> Match:
        """Choices; with the out-of-scope domain when it is nearly as close as the best topic
        (`NEAR_DOMAIN_MARGIN`), for the reply to name its office too: the question may be
        about another office altogether. `plausible`: the best topics before the choices were
        reordered (`Match.plausible`)."""
        near = scores.domain if scores.scope_gap < NEAR_DOMAIN_MARGIN else None
        return dataclasses.replace(
            verdict,
            outcome="choices",
            topic=None,
            candidates=offered,
            confidence=sure,
            near_domain=near,
            plausible=plausible,
        )

    def out_of_scope(self, query: Query, scores: DenseScores, best: str) -> str | None:
        """The out-of-scope domain the message is about, if it is closer to one than to any
        topic: by meaning (cosine), or by words (`DOMAIN_WORDS_AT`, and more alike than the
        best topic's phrasings: e5 is weak on messages typed without diacritics)."""
        if not query.core:
            return None  # "mất bao lâu", "thế nộp ở đâu": nothing of its own to be about
        if -scores.scope_gap > OUT_OF_SCOPE_MARGIN:
            return scores.domain
        domain, likeness, own = self.domain_similarity(query, best)
        if domain is not None and likeness >= DOMAIN_WORDS_AT and likeness > own:
            return domain
        return None

    def worded_out_of_scope(self, query: Query, topic_id: str | None) -> bool:
        """True when the message is worded more like an out-of-scope domain's phrasing than
        like any phrasing of the topic the naming rules chose (`NAMED_DOMAIN_WORDS_AT`): "mua
        bảo hiểm y tế hộ gia đình" names insurance but is not children's health insurance."""
        domain, likeness, own = self.domain_similarity(query, topic_id or "")
        return domain is not None and likeness >= NAMED_DOMAIN_WORDS_AT and likeness > own

    def named_out_of_scope(self, query: Query, verdict: Match, scores: DenseScores) -> bool:
        """True when the topic the naming rules chose is still not what the message is about:
        it is worded like an out-of-scope phrasing (`worded_out_of_scope`), or an out-of-scope
        domain is closer to it by meaning than that topic ("nhận sổ BHXH" shares "bảo hiểm"
        with children's health insurance but is social insurance), typed with diacritics or
        without (read restored), unless the message says nothing but words of the topic's
        names (`only_names`). The fused decisions then decide, and may refuse it."""
        if self.worded_out_of_scope(query, verdict.topic):
            return True
        if scores.domain is None or verdict.topic not in self.numbers:
            return False
        if self.only_names(verdict.topic, query):
            return False  # "còn bằng lái xe thì sao": nothing but the topic's name to weigh
        return scores.domain_score > float(scores.topics[self.numbers[verdict.topic]])

    @staticmethod
    def in_scope(scores: DenseScores) -> bool:
        """True when the best topic is closer by meaning than every out-of-scope domain by
        `IN_SCOPE_MARGIN` (questions about other offices sit close to some topic too), or
        closer at all and much likelier under a topic than under a domain by the discriminant
        (`SCOPE_ODDS_AT`)."""
        gap = scores.scope_gap
        return gap >= IN_SCOPE_MARGIN or (gap >= 0 and scores.scope_odds >= SCOPE_ODDS_AT)

    def withheld(
        self,
        ranked: list[Scored],
        query: Query,
        reading: Reading | None,
        verdict_outcome: str = "choices",
    ) -> bool:
        """True when the words forbid a fused answer: a short message in which the naming
        rules found nothing close (`verdict_outcome` "fallback"; in a long message with its
        story they often find nothing and prove nothing), the message names nothing ("thế nộp
        ở đâu"), it names several close topics alike (`shared_name`) or several of them
        (`names_several`), or `UNKNOWN_SHARE` of the
        asking sentence's words (by weight) are words the knowledge base never uses ("mở thẻ
        tín dụng cần giấy tờ gì")."""
        short = reading is None or not reading.is_long
        if (short and verdict_outcome == "fallback") or not query.names_topic:
            return True
        if (
            self.shared_name(ranked, query)
            or self.names_shared(query, [ranked[0].topic])
            or self.names_several([s.topic for s in ranked[:MAX_CHOICES]], query)
        ):
            return True
        asked = query
        if reading is not None and reading.is_long:
            asked = self.analyze(" ".join(reading.asks))
        said = frozenset(asked.core) | frozenset(asked.alt_core)
        unknown = [t for t in said if t in asked.unknown and not t.isdigit()]
        total = math.fsum(map(self.weight, said))
        return bool(unknown) and math.fsum(map(self.weight, unknown)) >= UNKNOWN_SHARE * total

    def shared_name(self, ranked: list[Scored], query: Query) -> bool:
        """True when what the message names is part of the names of several close topics
        ("đăng ký khai" for khai sinh and khai tử): ambiguous by its words, whatever the
        semantic favourite, so it is offered, not answered. A message that says one of them
        by its whole name ("khai sinh", also part of "trích lục khai sinh") is not ambiguous."""
        said = query.said
        if not said:
            return False
        holders = [
            s.topic
            for s in ranked[:MAX_CHOICES]
            if s.topic in self.numbers and said <= self.name_words[self.numbers[s.topic]]
        ]
        whole = [t for t in holders if said in self.names[self.numbers[t]]]
        return len(holders) >= 2 and len(whole) != 1

    def names_shared(self, query: Query, close: list[str]) -> bool:
        """True when all the message says is part of the names of several topics of the
        knowledge base and the whole name of none, and the closest topic (`close[0]`) is not
        one of them or another close one is too ("làm giấy xác nhận": cư trú, tình trạng hôn
        nhân, yet a phrasing of hộ nghèo matched it best by its words; "làm chứng thực": bản
        sao, chữ ký). "làm cà vẹt xe" (biển số xe, giấy phép lái xe) goes to the one it names."""
        said = query.said
        if not said or not close:
            return False
        holders = [n for n, words in enumerate(self.name_words) if said <= words]
        if len(holders) < 2 or any(said in self.names[n] for n in holders):
            return False
        near = [t for t in close if self.numbers.get(t) in holders]
        return close[0] not in near or len(near) >= 2

    def fused(self, query: Query, scores: DenseScores) -> list[Scored]:
        """Topics ranked by the fused score for an analysed message."""
        lexical = [
            (topic, score)
            for terms in (query.terms, query.alt_terms)
            if terms
            for topic, score, *_ in self.rank(terms)
        ]
        return fuse(lexical, meaning(scores.topics, scores.centroids), self.topic_ids)


_BUILT: dict[tuple[str, str], Index] = {}
KEEP_BUILT = 4
"""Indexes kept per process by knowledge-base version: a reload or a second app over files
whose content has not changed reuses the index instead of building it again."""


def build_index(kb: KnowledgeBase, **options: object) -> Index:
    """The understanding index for `kb` (options: `encoder`, `cache_dir`).

    With no options and a versioned knowledge base (one read from files), the index of the
    same content is built once per process; an Index holds no per-message state. A knowledge
    base changed in memory keeps the version of the files it came from (`dataclasses.replace`
    in a benchmark that leaves phrasings out): its content differs, so it gets its own index.
    """
    if options or not kb.version:
        return Index(kb, **options)  # type: ignore[arg-type]
    key = (kb.version, str(default_cache_dir()))
    found = _BUILT.get(key)
    if found is not None and found.kb != kb:
        return Index(kb)
    if found is None:
        found = Index(kb)
        _BUILT[key] = found
        while len(_BUILT) > KEEP_BUILT:
            _BUILT.pop(next(iter(_BUILT)))
    return found
