"""Which FAQ entry of a topic answers a message, if any, and how near a follow-up stays to
its conversation's topic.

A mixin of `Index`: it reads the index's knowledge base, topic numbers, semantic index and
word likeness (`Likeness.faq_similarity`). The thresholds are in `ranking.py`.
"""

from __future__ import annotations

import datetime as dt

from bot.understanding.dense import DenseScores
from bot.understanding.query import Query
from bot.understanding.ranking import (
    FAQ_AT,
    FAQ_DIRECT_AT,
    FAQ_LEAD,
    FAQ_LEAD_SECTION,
    FAQ_WORDS_AT,
    FAQ_WORDS_SECTION_AT,
    FOLLOW_UP_AT,
)


class FaqChoice:
    """The FAQ entry a message asks, by meaning or by words."""

    def direct_faq(
        self, scores: DenseScores, today: dt.date | None = None
    ) -> tuple[str, str] | None:
        """(topic, FAQ id) of an entry the message all but repeats (`FAQ_DIRECT_AT`), closer
        than any topic phrasing: answered even when the words leave the topic open."""
        if not scores.faqs:
            return None
        (topic_id, faq_id), sim = max(scores.faqs.items(), key=lambda kv: kv[1])
        if sim < FAQ_DIRECT_AT or sim <= float(scores.topic_phrasing.max()):
            return None
        faq = self.kb.topics[topic_id].faq(faq_id)
        if faq is None or (today is not None and not faq.in_force(today)):
            return None
        return topic_id, faq_id

    def faq_for(
        self,
        topic_id: str | None,
        scores: DenseScores | None,
        query: Query,
        today: dt.date | None = None,
        floor: float = FAQ_AT,
        worded: bool = False,
    ) -> str | None:
        """The FAQ entry of `topic_id` that answers the message, if one is close enough.

        An entry answers when the message is nearer to it than to the topic's own phrasings,
        by meaning (cosine at least `floor`) or by words (similarity at least `FAQ_WORDS_AT`,
        which also holds for messages typed without diacritics, where e5 is weak). `worded`:
        by meaning only if the entry is also at least as close by words as the topic's own
        phrasings (a follow-up names no procedure, and e5 puts unrelated short Vietnamese
        near 0.88: "hàng xóm bật nhạc to thì báo ai" against the entry on lump-sum tax).
        """
        if topic_id is None or topic_id not in self.kb.topics:
            return None
        words, own_words = self.faq_similarity(topic_id, query)
        own = float(scores.topic_phrasing[self.numbers[topic_id]]) if scores else 1.0
        lead, words_at = _bars(query.section, worded)
        best_id, best = None, 0.0
        for faq in self.kb.topics[topic_id].faqs:
            if today is not None and not faq.in_force(today):
                continue
            sim = scores.faqs.get((topic_id, faq.id), -1.0) if scores else -1.0
            lexical = words.get(faq.id, 0.0)
            by_meaning = sim >= max(floor, own + lead) and (not worded or lexical >= own_words)
            value = _closeness(sim if by_meaning else 0.0, lexical, words_at, own_words)
            if value > best:
                best_id, best = faq.id, value
        return best_id

    def faq_in_context(self, topic_id: str, text: str, today: dt.date | None = None) -> str | None:
        """The FAQ entry of the current topic a follow-up asks, if one is close enough."""
        reading = self.read(text)
        scores = self.dense.scores(reading.focus) if self.dense is not None else None
        query = self.analyze(reading.text)
        return self.faq_for(topic_id, scores, query, today, FOLLOW_UP_AT, worded=True)

    def domain_lead(self, topic_id: str, text: str) -> float:
        """By how much (cosine) the nearest out-of-scope domain is closer to a follow-up than
        the conversation's topic `topic_id` (negative: the topic is closer; -1 without the
        semantic signal or out-of-scope domains)."""
        if self.dense is None or topic_id not in self.numbers:
            return -1.0
        scores = self.dense.scores(self.read(text).focus)
        if scores.domain is None:
            return -1.0
        return scores.domain_score - float(scores.topics[self.numbers[topic_id]])


def _closeness(by_meaning: float, lexical: float, words_at: float, own_words: float) -> float:
    """How close an FAQ entry is: its cosine when close enough by meaning (else 0), or its
    word similarity when that reaches `words_at` and beats the topic's own phrasings."""
    by_words = lexical if lexical >= words_at and lexical > own_words else 0.0
    return max(by_meaning, by_words)


def _bars(section: str | None, worded: bool) -> tuple[float, float]:
    """(lead over the topic's own phrasings by meaning, word similarity) an entry needs.

    A message asking a standard section needs an entry well ahead (`FAQ_LEAD_SECTION`,
    `FAQ_WORDS_SECTION_AT`), except one asking only whether something can be done ("được
    không", eligibility) or how (steps): that is how citizens ask a case, and what entries
    answer ("sổ hộ khẩu cũ còn dùng được không"; "chưa đăng ký kết hôn, làm khai sinh cho
    cháu mang họ bố thì phải làm sao"). In a follow-up (`worded`) asking no other section, being
    the topic's closest text is enough: the conversation already says which topic it is about.
    """
    specific = section not in (None, "eligibility", "steps")
    lead = FAQ_LEAD_SECTION if specific else FAQ_LEAD
    if worded and not specific:
        lead = 0.0
    return lead, FAQ_WORDS_SECTION_AT if specific else FAQ_WORDS_AT
