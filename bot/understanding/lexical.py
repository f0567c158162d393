"""The lexical stage: finding the topic a message names, with rapidfuzz and keyword coverage.

Every topic's phrasings (and its title) are normalised once when the index is built. A message
is normalised the same way, then taken apart (`Index.analyze`): section cues such as "lệ phí",
ward names, small talk and fillers ("ạ", "cho em hỏi") are set aside, and what remains is the
*content* that names the procedure (when it names none, the cues are matched too: "nộp hồ sơ
trực tuyến" is a topic of its own). Content is scored on the folded view against every phrasing
of the candidate topics:

    score = 0.35 · token_set_ratio + 0.15 · token_sort_ratio + 0.2 · coverage by the phrasing
            + 0.1 · share of the phrasing covered, and a topic scores its best phrasing
            + 0.2 · coverage by the whole topic (all its phrasings together)

Coverage is the IDF-weighted share of the message's syllables and syllable pairs found on the
other side; a word the knowledge base never uses weighs the most, so questions about other
things score low. Three outcomes (see the constants below):

- answer: score ≥ `ANSWER_AT`, topic coverage ≥ `COVER_MIN`, phrasing share ≥ `BACK_MIN`,
  and a lead over the second topic ≥ `MARGIN` or, when the lead is smaller, a message that
  names the best topic and nothing of its rivals (`Index.names_alone`); a message made only of
  the topic's name and procedure-neutral words needs neither coverage (`Index.only_names`);
- choices: score ≥ `OFFER_AT` and coverage ≥ `OFFER_COVER` (the closest two or three topics),
  unless only one topic is left, named by the message, covering `SINGLE_COVER` (answered);
- fallback: anything lower.

Before these bands, rules about names (`names`) settle split votes: the procedure of "làm
hộ chiếu có cần căn cước không" is ranked without the document asked about; a message whose
distinctive words are unknown or foreign to the best topic and that names no topic clearly is
not answered ("đăng ký tài khoản ngân hàng"); the topic named right after a procedure verb is
answered, over topics named later as its objects ("chứng thực bản sao sổ hộ khẩu") and
despite story words.

Robustness: a plain word that may be a filler or a content word ("can": "cần"/"căn") is read
both ways; a word whose vowel or tone marks differ from every spelling in the knowledge base
is kept apart ("vàng" is not "vắng", "giảm" is not "giám"; see `normalize.Spelling`); a
longer unknown word one edit from a single known one is corrected. Candidate topics are first
picked by the summed weight of the rarer terms they share with the message (`PREFILTER` at
most), so the cost per message stays flat as the knowledge base grows.
"""

from __future__ import annotations

import heapq
import logging
import math
from collections import defaultdict
from collections.abc import Sequence

from rapidfuzz import fuzz

from bot.kb.model import KnowledgeBase, Topic
from bot.understanding.accents import Accents
from bot.understanding.likeness import Likeness
from bot.understanding.names import CLOSE_PHRASING, NameRules
from bot.understanding.normalize import Lexicon, Normalized, Spelling, Vocabulary, normalize
from bot.understanding.phrases import Phrasebook
from bot.understanding.query import Match, Query
from bot.understanding.sections import (
    document_object,
    generic_spans,
    only_generic,
    procedure_heads,
    section_of,
)
from bot.understanding.spans import Spans
from bot.understanding.terms import Phrasing, postings, terms_of_tokens
from bot.understanding.wardnames import ward_lexicon

logger = logging.getLogger(__name__)

ANSWER_AT = 0.62
"""Lowest score at which the bot commits to a topic."""
MARGIN = 0.05
"""Lowest lead of the best topic over the second one for the bot to commit."""
OFFER_AT = 0.45
"""Lowest score at which a topic is offered as a choice."""
OFFER_WITHIN = 0.2
"""Topics scoring within this of the best one are offered with it."""
MAX_CHOICES = 3
PREFILTER = 12
"""Topics scored in full per message."""
WEIGHTS = (0.35, 0.15, 0.2, 0.2, 0.1)
"""token_set_ratio, token_sort_ratio, share of the message covered by the phrasing and by the
whole topic, share of the phrasing covered by the message."""
COVER_MIN = 0.55
"""Lowest share of the message (by weight) the topic must cover for the bot to commit."""
OFFER_COVER = 0.2
"""Lowest share of the message the best topic must cover to be offered as a choice."""
SINGLE_COVER = 0.45
"""Lowest share of the message the one topic left must cover to be answered when named."""
BACK_MIN = 0.25
"""Lowest share of the best phrasing the message must cover for the bot to commit: a short
question found inside a long phrasing about something else ("ly hôn" inside "đã ly hôn, xin
xác nhận tình trạng hôn nhân") is offered, not answered."""


def _offered(ranked: list[tuple[str, float, float, float]]) -> tuple[tuple[str, float], ...]:
    """The topics worth offering: at least `OFFER_AT`, within `OFFER_WITHIN` of the best."""
    best = ranked[0][1]
    return tuple(
        (tid, round(score, 4))
        for tid, score, *_ in ranked[:MAX_CHOICES]
        if score >= OFFER_AT and score >= best - OFFER_WITHIN
    )


class LexicalIndex(NameRules, Likeness, Spans):
    """The word-level view of a knowledge base (`bot.understanding.Index` adds the semantic one)."""

    def __init__(self, kb: KnowledgeBase) -> None:
        """Normalise every phrasing and compute term weights."""
        self.kb = kb
        self._normalized: dict[str, Normalized] | None = {}  # while building only
        self.accents = Accents.of(kb)
        self.book = Phrasebook.from_kb(kb)
        self.vocab = Vocabulary.build(kb.abbreviations, kb.phrases)
        self.wards: Lexicon = ward_lexicon(kb)
        self.topic_ids: list[str] = list(kb.topics)
        self.title_words: dict[str, frozenset[str]] = {}
        self.spelling: Spelling | None = None  # built once the phrasings are known
        texts: list[dict[str, frozenset[str]]] = []
        df: dict[str, int] = defaultdict(int)
        self.names: list[tuple[frozenset[str], ...]] = []
        for topic in kb.topics.values():
            seen, cores = self._read_topic(topic)
            texts.append(seen)
            self.names.append(cores)
            for term in set().union(*seen.values()):
                df[term] += 1
            self.title_words[topic.id] = frozenset(self.normalize(topic.title).tokens)
        count = max(len(self.topic_ids), 1)
        self.idf = {t: math.log(1 + count / n) for t, n in df.items()}
        self.unseen_idf = math.log(1 + count)
        self.known = {t for t in df if " " not in t}
        self.spelling = Spelling.build(
            (
                self.normalize(q).text
                for topic in kb.topics.values()
                for q in (topic.title, *topic.questions)
            ),
            self.known,
        )
        self.common = {t for t, n in df.items() if n > max(2, PREFILTER * 4, count // 20)}
        self.phrasings: list[list[Phrasing]] = [
            [Phrasing(k, t, math.fsum(self.idf[x] for x in t)) for k, t in seen.items()]
            for seen in texts
        ]
        self.topic_terms = [frozenset(set().union(*seen.values())) for seen in texts]
        self.name_words = [frozenset().union(*cores) for cores in self.names]
        self.numbers = {tid: n for n, tid in enumerate(self.topic_ids)}
        self._read_whole_texts(kb)
        self.postings = postings(self.topic_terms)
        logger.debug("index: %d topics, %d terms", count, len(df))
        self._normalized = None  # messages are normalised afresh, never kept

    def _best_phrasing(
        self, number: int, text: str, terms: set[str], weight: dict[str, float], total: float
    ) -> tuple[float, float]:
        """The score of topic `number`'s best phrasing for the message, and the share of that
        phrasing the message covers."""
        w_set, w_sort, w_cov, _, w_back = WEIGHTS
        best = best_back = 0.0
        for phrasing in self.phrasings[number]:
            shared = terms & phrasing.terms
            if not shared:
                continue
            mass = math.fsum(weight[t] for t in shared)  # shared terms weigh their IDF
            back = mass / phrasing.mass if phrasing.mass else 0.0
            score = w_cov * mass / total + w_back * back
            if score + w_set + w_sort <= best:
                continue  # cannot beat the best phrasing so far, whatever rapidfuzz says
            score += (
                w_set * fuzz.token_set_ratio(text, phrasing.text) / 100
                + w_sort * fuzz.token_sort_ratio(text, phrasing.text) / 100
            )
            if score > best:
                best, best_back = score, back
        return best, best_back

    def _read_topic(
        self, topic: Topic
    ) -> tuple[dict[str, frozenset[str]], tuple[frozenset[str], ...]]:
        """A topic's phrasings (terms by text) and its names (the core words of its id, short
        title and title; the id is a name only if none of its words is neutral)."""
        seen: dict[str, frozenset[str]] = {}
        cores = []
        slug = topic.id.replace("-", " ")
        for number, text in enumerate((slug, topic.short_title, topic.title, *topic.questions)):
            if not text:
                continue
            query = self.analyze(text)
            core = query.said
            size = max(len(query.core), len(query.alt_core))
            if number < 3 and core and (number > 0 or size == len(query.normalized.tokens)):
                cores.append(core)
            if number < 2:
                continue  # the id and short title name the topic but are no phrasings
            for tokens in (query.terms, query.alt_terms or ()):
                if tokens:
                    seen.setdefault(" ".join(tokens), frozenset(terms_of_tokens(tokens)))
        return seen, tuple(cores)

    def weight(self, term: str) -> float:
        """The IDF weight of a term; unseen pairs of words count half their words' mean.

        A word set apart for its marks ("quần" where the knowledge base only has "quận") is
        unseen, but weighs what its folded form weighs: it is an ordinary word, not a sign
        that the question is about something the knowledge base does not cover.
        """
        found = self.idf.get(term)
        if found is not None:
            return found
        if " " in term:
            a, b = term.split(" ", 1)
            return (self._word_weight(a) + self._word_weight(b)) / 4
        return self._word_weight(term)

    def _word_weight(self, word: str) -> float:
        """The IDF of one word, of its folded form when it was set apart for its marks."""
        return self.idf.get(word.rstrip("'"), self.unseen_idf)

    def _terms_of(
        self,
        words: Sequence[str],
        folded: Sequence[str],
        taken: Sequence[bool],
        cues: Sequence[tuple],
    ) -> tuple[str, ...]:
        """The tokens to match on: the content, or content and cues when it names no topic."""
        index = [i for i, t in enumerate(taken) if not t and not folded[i].isdigit()]
        if index and not only_generic(
            self.book, [words[i] for i in index], [folded[i] for i in index]
        ):
            return tuple(folded[i] for i in index)
        in_cue = {i for a, b, _ in cues for i in range(a, b)}
        found = tuple(folded[i] for i in range(len(words)) if i in in_cue or not taken[i])
        return () if all(t.isdigit() for t in found) else found

    def analyze(self, text: str) -> Query:
        """Normalise `text` and take it apart into section, wards, small talk and content."""
        norm = self.normalize(text)
        words = norm.text.split()
        taken, wards, small, cues = self._spans(words, norm.tokens)
        folded = self._spelled(words, norm.tokens, taken)
        heads = procedure_heads(self.book, words, folded, taken)
        generic = {i for a, b in generic_spans(self.book, words, folded) for i in range(a, b)}
        alt_terms, alt_core = self._other_reading(words, folded, taken, cues, generic)
        content_idx = [i for i, t in enumerate(taken) if not t]
        content = tuple(folded[i] for i in content_idx)
        cue_tokens = tuple((str(c), tuple(folded[a:b])) for a, b, c in cues)
        names = self._names_something(words, content_idx, content)
        terms = self._terms_of(words, folded, taken, cues)
        core = tuple(folded[i] for i in content_idx if i not in generic)
        span = document_object(self.book, words, folded)
        without = self._without(span, words, folded, taken, cues, generic)
        return Query(
            normalized=norm,
            section=section_of(self.book, words, folded, cues, taken),
            wards=tuple(label for _, _, label in wards if label[0] != "district"),
            smalltalk=tuple(kind for _, _, kind in small),
            content=content,
            cues=cue_tokens,
            terms=terms,
            names_topic=names,
            alt_terms=alt_terms if alt_terms != terms else None,
            core=core,
            alt_core=alt_core if alt_core != core else (),
            heads=heads,
            document=tuple(folded[span[0] : span[1]]) if span else (),
            without_document=without,
            unknown=tuple(t for t in core if self.unknown_word(t)),
        )

    def _names_something(
        self, words: list[str], content_idx: list[int], content: tuple[str, ...]
    ) -> bool:
        """True when the content words name something beyond procedure-neutral words."""
        return bool(content) and not only_generic(
            self.book, [words[i] for i in content_idx], content
        )

    def match(self, text: str) -> Match:
        """The verdict for one message (see the module docstring for the bands)."""
        return self.match_query(self.analyze(text))

    def match_query(self, query: Query) -> Match:
        """The verdict for an analysed message.

        When plain words may be fillers or content ("can": "cần" or "căn"), both readings are
        ranked and the better one is kept, but the coverage that must clear `COVER_MIN` and
        `OFFER_COVER` is the mean of the two readings', so a guess alone does not make an answer.
        """
        readings = [t for t in (query.terms, query.alt_terms) if t]
        ranks = [r for r in map(self.rank, readings) if r]
        if not ranks:
            return Match("fallback", None, (), 0.0, query)
        ranked = max(ranks, key=lambda r: r[0][1])
        best_id, best, cover, back = ranked[0]
        covers = [next((r[2] for r in other if r[0] == best_id), 0.0) for other in ranks]
        cover = sum(covers) / len(covers)
        offered = _offered(ranked)
        early = self._before_names(query, ranked, offered, cover)
        if early is not None:
            return early
        head = self.head_answer(query, ranks, offered, OFFER_AT, OFFER_COVER)
        if head is not None:  # named after a procedure verb; the rest is an object or a story
            return Match("answer", head[0], offered, round(head[1], 4), query, back)
        named_instead = (
            None if back >= CLOSE_PHRASING else self.named_instead(best_id, offered, query)
        )
        if named_instead is not None:
            score = dict(offered)[named_instead]
            return Match("answer", named_instead, offered, score, query, back)
        return self._by_score(query, ranked, offered, cover)

    def _before_names(
        self, query: Query, ranked: list, offered: tuple[tuple[str, float], ...], cover: float
    ) -> Match | None:
        """The rules before the names: a document to bring, several procedures named and
        nothing else ("khai sinh hay khai tử"), words the knowledge base lacks (`foreign`)."""
        best, back = ranked[0][1], ranked[0][3]
        document = self.document_answer(query, ANSWER_AT, COVER_MIN)
        if document is not None:
            return Match("answer", document[0], offered, round(document[1], 4), query, back)
        if self.names_several([tid for tid, _ in offered], query):
            return Match("choices", None, offered, round(best, 4), query, back)
        if self.foreign(query, [tid for tid, *_ in ranked[:MAX_CHOICES]]):
            outcome = "choices" if best >= OFFER_AT and cover >= OFFER_COVER else "fallback"
            return Match(outcome, None, offered, round(best, 4), query, back)
        return None

    def _by_score(
        self,
        query: Query,
        ranked: list[tuple[str, float, float, float]],
        offered: tuple[tuple[str, float], ...],
        cover: float,
    ) -> Match:
        """The last of the naming rules: a best topic clear enough by its score, coverage and
        margin (or named alone) is answered; close ones are offered; else a fallback."""
        best_id, best, _, back = ranked[0]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        if best >= ANSWER_AT:
            rivals = [tid for tid, score, *_ in ranked[1:] if score > best - OFFER_WITHIN]
            named = self.names_alone(best_id, rivals, query)
            bare = named and self.only_names(best_id, query)
            covered = cover >= COVER_MIN and back >= BACK_MIN
            if (covered or bare) and (best - second >= MARGIN or named):
                return Match("answer", best_id, offered, round(best, 4), query, back)
        if best >= OFFER_AT and cover >= OFFER_COVER:
            if len(offered) == 1 and cover >= SINGLE_COVER and self.names_alone(best_id, (), query):
                # The one topic left is named by the message ("tách khẩu", "giấy hôn thú").
                return Match("answer", best_id, offered, round(best, 4), query, back)
            return Match("choices", None, offered, round(best, 4), query, back)
        return Match("fallback", None, offered, round(best, 4), query, back)

    def normalize(self, text: str) -> Normalized:
        """`normalize(text)` with this index's vocabulary; knowledge-base texts are normalised
        once while the index is built (messages are not kept)."""
        if self._normalized is None:
            return normalize(text, self.vocab)
        found = self._normalized.get(text)
        if found is None:
            found = self._normalized[text] = normalize(text, self.vocab)
        return found

    def rank(self, tokens: Sequence[str]) -> list[tuple[str, float, float, float]]:
        """Topics scored against the folded `tokens`, best first.

        Each is (id, score, coverage of the message by the topic, coverage of the best
        phrasing by the message).
        """
        terms = terms_of_tokens(tokens)
        weight = {t: self.weight(t) for t in terms}
        total = math.fsum(weight.values())
        if not total:
            return []
        votes: dict[int, float] = defaultdict(float)
        for term in sorted(terms):  # sorted: the same sums, whatever the hash seed
            if term not in self.common:
                for number in self.postings.get(term, ()):
                    votes[number] += weight[term]
        if not votes:
            for term in sorted(terms):
                for number in self.postings.get(term, ()):
                    votes[number] += weight[term]
        picked = heapq.nlargest(PREFILTER, votes.items(), key=lambda kv: (kv[1], -kv[0]))
        text = " ".join(tokens)
        w_topic = WEIGHTS[3]
        scored = []
        for number, _ in picked:
            union = self.topic_terms[number]
            topic_cover = math.fsum(weight[t] for t in terms if t in union) / total
            best, best_back = self._best_phrasing(number, text, terms, weight, total)
            scored.append(
                (self.topic_ids[number], best + w_topic * topic_cover, topic_cover, best_back)
            )
        scored.sort(key=lambda kv: (-kv[1], kv[0]))
        return scored
