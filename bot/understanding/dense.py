"""The semantic retrieval stage: every knowledge-base phrasing embedded once, messages compared.

Rows are the topics' titles and phrasings, their FAQ entries' questions and phrasings, and the
phrasings of the out-of-scope domains (`lexicon/out_of_scope.toml`). A message's vector is
compared with every row (one matrix product); each topic, FAQ entry and domain scores its best
row (cosine similarity, as e5 gives it: about 0.8 for unrelated Vietnamese, 0.9+ for a close
paraphrase). Each topic also scores the cosine to its centroid (the unit mean of its rows),
which the ranking stage blends in (`ranking.meaning`), and its score by a discriminant fitted
on the topics' and domains' rows (`Discriminant`), which orders the choices
(`ranking.MENU_WEIGHT`) and tells how surely the message is about a topic at all
(`DenseScores.scope_odds`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np

from bot.kb.model import KnowledgeBase
from bot.understanding.accents import Accents
from bot.understanding.discriminant import Discriminant
from bot.understanding.semantic import EmbeddingCache, Encoder

T = TypeVar("T")
SCORES_KEPT = 16
"""Texts whose scores an index keeps (`DenseIndex.scores`): a turn scores one text a few
times, and a busy OA serves a few conversations at once."""


@dataclass(frozen=True, slots=True)
class DenseScores:
    """One message against the knowledge base."""

    topics: np.ndarray
    """Best cosine per topic, in `DenseIndex.topic_ids` order."""
    faqs: dict[tuple[str, str], float]
    """Best cosine per (topic id, FAQ id)."""
    topic_phrasing: np.ndarray
    """Best cosine per topic over its own phrasings only (not its FAQ entries)."""
    domain: str | None
    """The out-of-scope domain closest to the message, if the lexicon lists any."""
    domain_score: float
    centroids: np.ndarray
    """Cosine to each topic's centroid (the unit mean of its rows), in `topic_ids` order."""
    likely: np.ndarray
    """Each topic's discriminant score minus the best one (`Discriminant`), in `topic_ids`
    order: what orders the choices besides the words and cosines (`ranking.MENU_WEIGHT`)."""
    scope_odds: float = np.inf
    """The discriminant's best topic score minus its best out-of-scope domain score (a log-
    likelihood ratio; infinite without domains): how surely the message is about a topic at
    all (`ranking.SCOPE_ODDS_AT`)."""

    @property
    def scope_gap(self) -> float:
        """How much closer (cosine) the best topic is than the nearest out-of-scope domain
        (negative: the domain is closer; at least 1 without a domain, cosines being <= 1)."""
        return float(self.topics.max()) - self.domain_score


def _rows(kb: KnowledgeBase) -> Iterator[tuple[str, int, str | None, str | None]]:
    """(text, topic number or -1, FAQ id, out-of-scope domain) for every row."""
    for number, topic in enumerate(kb.topics.values()):
        for text in (topic.title, *topic.questions):
            yield text, number, None, None
        for faq in getattr(topic, "faqs", ()):
            for text in (faq.question, *faq.phrasings):
                yield text, number, faq.id, None
    for domain, entry in kb.lexicon.get("out_of_scope", {}).items():
        for text in entry.get("phrasings", ()):
            yield text, -1, None, domain


class DenseIndex:
    """Embedded knowledge-base rows and their owners."""

    def __init__(
        self,
        kb: KnowledgeBase,
        encoder: Encoder,
        cache_dir: Path | None,
        accents: Accents,
    ) -> None:
        """Embed every row, read as `accents` restores it (cached on disk by text hash: a
        reload embeds only what changed)."""
        self.encoder = encoder
        self.topic_ids = list(kb.topics)
        self.accents = accents
        rows = list(_rows(kb))
        self.cache = shared_cache(cache_dir, encoder)
        self.vectors = self.cache.embed([self.accents.restore(r[0]) for r in rows])
        self.topic_of = np.array([r[1] for r in rows], dtype=np.int64)
        self.faq_keys = list(dict.fromkeys((self.topic_ids[r[1]], r[2]) for r in rows if r[2]))
        numbers = {key: n for n, key in enumerate(self.faq_keys)}
        self.faq_of = np.array(
            [numbers[(self.topic_ids[r[1]], r[2])] if r[2] else -1 for r in rows], dtype=np.int64
        )
        self.domains = list(dict.fromkeys(r[3] for r in rows if r[3]))
        self.domain_of = np.array(
            [self.domains.index(r[3]) if r[3] else -1 for r in rows], dtype=np.int64
        )
        self.is_phrasing = np.array([r[1] >= 0 and r[2] is None for r in rows], dtype=bool)
        count = len(self.topic_ids)
        self.by_topic = Groups(self.topic_of, count)
        self.by_phrasing_topic = Groups(np.where(self.is_phrasing, self.topic_of, -1), count)
        self.by_faq = Groups(self.faq_of, len(self.faq_keys))
        self.by_domain = Groups(self.domain_of, len(self.domains))
        self.centroids = self.by_topic.centroids(self.vectors)
        classes = np.where(self.domain_of >= 0, count + self.domain_of, self.topic_of)
        self.discriminant = Discriminant.fit(self.vectors, classes, count + len(self.domains))
        self.recent: RecentVectors[DenseScores] = RecentVectors(SCORES_KEPT)

    def embed(self, text: str) -> np.ndarray:
        """The vector of one message: from the disk cache when it is a knowledge-base text (as
        in the self-test of `kb check`), from the recent messages when one was just the same
        ("xin chào", "khai sinh"), else embedded now."""
        known = self.cache.vectors.get(self.cache.key(text))
        if known is not None:
            return known
        key = (self.encoder.name, text)
        found = RECENT.get(key)
        if found is None:
            found = self.encoder.embed([text])[0]
            RECENT.put(key, found)
        return found

    def scores(self, text: str) -> DenseScores:
        """Best cosine per topic, FAQ entry and out-of-scope domain for `text`, read with its
        diacritics and abbreviations restored (`Accents`), as the rows were. One turn scores
        the same text several times (the match, then in a conversation the current topic's
        FAQ entries and its distance to the out-of-scope domains): the last few are kept."""
        key = ("scores", text)
        found = self.recent.get(key)
        if found is None:
            found = self._scores(text)
            self.recent.put(key, found)
        return found

    def _scores(self, text: str) -> DenseScores:
        """`scores`, computed."""
        vector = self.embed(self.accents.restore(text))
        sims = self.vectors @ vector if len(self.vectors) else np.zeros(0)
        topics = self.by_topic.best(sims)
        phrasing = self.by_phrasing_topic.best(sims)
        faq_best = self.by_faq.best(sims)
        faqs = {key: float(v) for key, v in zip(self.faq_keys, faq_best, strict=True)}
        domain_best = self.by_domain.best(sims)
        centroids = self.centroids @ vector
        raw = self.discriminant.scores(vector)
        count = len(self.topic_ids)
        likely = raw[:count] - raw[:count].max() if count else raw[:count]
        if not self.domains:
            return DenseScores(topics, faqs, phrasing, None, -1.0, centroids, likely)
        top = int(np.argmax(domain_best))
        domain, domain_score = self.domains[top], float(domain_best[top])
        odds = float(raw[:count].max() - raw[count:].max()) if count else -np.inf
        return DenseScores(topics, faqs, phrasing, domain, domain_score, centroids, likely, odds)


class RecentVectors(Generic[T]):
    """The vectors of the last `size` distinct messages, in memory only (never written out):
    many citizens send the very same short text, and a turn's embedding is most of its CPU.
    (Also the scores of the last few texts an index scored, `DenseIndex.scores`.)"""

    def __init__(self, size: int) -> None:
        """An empty store of at most `size` vectors."""
        self.size = size
        self.items: OrderedDict[tuple[str, str], T] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> T | None:
        """The vector of `key`, or None."""
        with self.lock:
            found = self.items.get(key)
            if found is not None:
                self.items.move_to_end(key)
            return found

    def put(self, key: tuple[str, str], vector: T) -> None:
        """Keep `vector`, forgetting the least recently used beyond `size`."""
        with self.lock:
            self.items[key] = vector
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)


RECENT: RecentVectors[np.ndarray] = RecentVectors(4096)
"""Shared by every index of the process (a reload keeps it): 4,096 vectors are 6 MB."""


class Groups:
    """Rows grouped by owner number (-1: no owner), for the best similarity per owner in one
    `np.maximum.reduceat` (`np.maximum.at` took a few milliseconds a message)."""

    def __init__(self, owner: np.ndarray, count: int) -> None:
        owned = np.flatnonzero(owner >= 0)
        self.order = owned[np.argsort(owner[owned], kind="stable")]
        owners = owner[self.order]
        first = np.ones(len(owners), dtype=bool)
        first[1:] = owners[1:] != owners[:-1]
        self.starts = np.flatnonzero(first)
        self.present = owners[self.starts]
        self.count = count

    def best(self, sims: np.ndarray) -> np.ndarray:
        """The best similarity per owner number; -1.0 for an owner without rows."""
        best = np.full(self.count, -1.0)
        if len(self.order):
            best[self.present] = np.maximum.reduceat(sims[self.order], self.starts)
        return best

    def centroids(self, vectors: np.ndarray) -> np.ndarray:
        """The unit mean of each owner's rows of `vectors` (zeros for an owner without rows)."""
        out = np.zeros((self.count, vectors.shape[1] if vectors.ndim == 2 else 0), np.float32)
        if len(self.order):
            sums = np.add.reduceat(vectors[self.order], self.starts, axis=0)
            out[self.present] = sums / np.linalg.norm(sums, axis=1, keepdims=True)
        return out


_caches: dict[tuple[str, str], EmbeddingCache] = {}


def shared_cache(folder: Path | None, encoder: Encoder) -> EmbeddingCache:
    """One cache per folder and model in a process, so a reload reads no file again."""
    key = (str(folder), encoder.name)
    if key not in _caches or _caches[key].encoder is not encoder:
        _caches[key] = EmbeddingCache(folder, encoder)
    return _caches[key]
