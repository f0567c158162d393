"""Likeness of whole messages: how much a message reads like a topic's phrasings, an FAQ
entry's or an out-of-scope domain's, word for word (folded, every word counting).

A mixin of `LexicalIndex`: it reads the index's `normalize`, `known` and knowledge base.
"""

from __future__ import annotations

from rapidfuzz import fuzz

from bot.kb.model import KnowledgeBase
from bot.understanding.query import Query


def _similar(text: str, other: str) -> float:
    """Word likeness of two whole folded messages (0-1): token_sort_ratio, so that every word,
    section cues included, counts ("khai sinh mất bao lâu" is not "khai sinh cần gì")."""
    return fuzz.token_sort_ratio(text, other) / 100


class Likeness:
    """The folded whole texts of the knowledge base and the likeness measures over them."""

    def _read_whole_texts(self, kb: KnowledgeBase) -> None:
        """The folded whole texts the likeness measures compare (topics, out-of-scope domains,
        FAQ entries); the words of FAQ entries join the known words."""
        topics = kb.topics.values()
        self.whole = {t.id: tuple(self._whole(q) for q in (t.title, *t.questions)) for t in topics}
        self.domain_texts = {
            domain: tuple(self._whole(p) for p in entry.get("phrasings", ()))
            for domain, entry in kb.lexicon.get("out_of_scope", {}).items()
        }
        self.faq_texts: dict[str, dict[str, tuple[str, ...]]] = {
            t.id: {f.id: tuple(self._whole(x) for x in (f.question, *f.phrasings)) for f in t.faqs}
            for t in topics
            if t.faqs
        }
        self.known |= {  # a word an FAQ entry uses is not unknown to the knowledge base
            token
            for t in topics
            for faq in t.faqs
            for text in (faq.question, *faq.phrasings)
            for token in self.normalize(text).tokens
        }

    def _whole(self, text: str) -> str:
        """A message normalised and folded, every word kept (fillers and cues too)."""
        return " ".join(self.normalize(text).tokens)

    def faq_similarity(self, topic_id: str, query: Query) -> tuple[dict[str, float], float]:
        """Word likeness (0-1) of the whole message to each FAQ entry of a topic, and to the
        topic's own best phrasing (`_similar`)."""
        text = " ".join(query.normalized.tokens)
        entries = self.faq_texts.get(topic_id, {})
        if not text or not entries:
            return {}, 0.0
        found = {fid: max(_similar(text, t) for t in texts) for fid, texts in entries.items()}
        own = max((_similar(text, t) for t in self.whole.get(topic_id, ())), default=0.0)
        return found, own

    def domain_similarity(self, query: Query, topic_id: str) -> tuple[str | None, float, float]:
        """The out-of-scope domain whose phrasings the whole message is most alike, that
        likeness, and the likeness of the message to `topic_id`'s own phrasings (0-1)."""
        text = " ".join(query.normalized.tokens)
        if not text or not self.domain_texts:
            return None, 0.0, 0.0
        domain, best = max(
            ((d, max(_similar(text, t) for t in texts)) for d, texts in self.domain_texts.items()),
            key=lambda kv: kv[1],
        )
        own = max((_similar(text, t) for t in self.whole.get(topic_id, ())), default=0.0)
        return domain, best, own
