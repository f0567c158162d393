"""Rules about the names of topics: which topic a message names, and which it names first.

A topic's names are the words of its id, short title and title, procedure-neutral words aside
(see `LexicalIndex`). A message *names* a topic when it holds `NAME_SHARE` of one of them
by weight. These rules settle votes that word overlap alone leaves split: a message naming one
topic and none of its rivals gets that topic (`names_alone`, `named_instead`), and the topic
named right after a procedure verb ("làm khai sinh", "xin hộ chiếu", "chứng thực bản sao")
wins over topics named later as the documents or objects of that procedure (`head_topic`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from bot.understanding.phrases import Phrasebook
from bot.understanding.query import Query
from bot.understanding.sections import PRIORITY

NAME_SHARE = 0.6
"""Share of a topic's name (by weight) a message must hold to name it (`Index.names_alone`)."""

CLOSE_PHRASING = 0.75
"""Share of one of the best topic's phrasings the message covers, above which no other topic
is preferred for its name (`Index.named_instead`): the message says nearly what that phrasing
says."""
HEAD_WITHIN = 0.1
"""Most a topic named after a procedure verb may trail the best one by to be answered."""
CLEAR_NAME = 0.75
"""Share of a topic's name a message with unknown words must hold: "tài khoản" alone is
not enough to name "tài khoản VNeID" in "đăng ký tài khoản facebook"."""
RIVAL_SHARE = 0.3
"""Most of a rival's name that the words naming the head topic, its own name words aside, may
hold: in "xin bản sao khai tử" the run also says "trích lục", so siblings are left to the
other rules."""
UNKNOWN_SHARE = 0.4
"""Share of the message's distinctive words (by weight) that, when unknown to the knowledge
base and no offered topic is named, makes the message out of scope; below it, no answer."""

Ranked = list[tuple[str, float, float, float]]
"""Topics as `Index.rank` gives them: (id, score, coverage by the topic, phrasing share)."""


class NameRules:
    """Naming rules, mixed into `LexicalIndex` (which fills the attributes below)."""

    book: Phrasebook
    names: list[tuple[frozenset[str], ...]]
    name_words: list[frozenset[str]]
    numbers: dict[str, int]
    topic_terms: list[frozenset[str]]

    def weight(self, term: str) -> float:  # pragma: no cover - provided by the index
        """The IDF weight of a term."""
        raise NotImplementedError

    def rank(self, tokens: Sequence[str]) -> Ranked:  # pragma: no cover - provided by the index
        """Topics scored against the folded tokens, best first."""
        raise NotImplementedError

    def names_alone(self, topic_id: str, rivals: Sequence[str], query: Query) -> bool:
        """True when the message names `topic_id` and says nothing that names a rival.

        Named: the message holds at least `NAME_SHARE` (by weight) of the words of the topic's
        title or short title, procedure-neutral words aside ("căn cước" for "Thẻ căn cước",
        "khai sinh" in a long story about a new baby). Nothing for a rival: no rival is named
        that way ("khai" names "khai sinh" and "khai tử" alike), and none of the words of the
        rivals' names that are not in the topic's own names is said ("trích lục" for copies of
        civil-status records, "cải chính" for corrections). A message that shares words with
        phrasings of several topics thus gets the topic it names.
        """
        said = query.said
        number = self.numbers[topic_id]
        if not said or not self._named(number, said):
            return False
        own = self.name_words[number]
        others = [self.numbers[r] for r in rivals]
        return not any((self.name_words[r] - own) & said or self._named(r, said) for r in others)

    def named_instead(
        self, best_id: str, offered: Sequence[tuple[str, float]], query: Query
    ) -> str | None:
        """Another offered topic that the message names where the best one is a sibling.

        "con sinh ở bệnh viện tỉnh khác thì khai sinh ở đâu" shares its story words with
        phrasings about deaths, but says "khai sinh" where that topic's name says "khai tử".
        When the two names share a word the message says, the message holds a word of the
        other topic's name that the best one's lacks (and none the other way round), and the
        other topic is named alone (`names_alone`), the other topic is meant.
        """
        said = query.said
        if not said or self._named(self.numbers[best_id], said):
            return None
        best_words = self.name_words[self.numbers[best_id]]
        ids = [tid for tid, _ in offered]
        for tid in ids:
            if tid == best_id:
                continue
            own = self.name_words[self.numbers[tid]]
            if (
                own & best_words & said
                and (own - best_words) & said
                and not (best_words - own) & said
                and self.names_alone(tid, [r for r in ids if r != tid], query)
            ):
                return tid
        return None

    def only_names(self, topic_id: str, query: Query) -> bool:
        """True when every word of the message is a word of the topic's names, a filler, a
        cue or a procedure-neutral word ("thủ tục căn cước"): then the procedure-neutral words
        that other phrasings happen to use do not lower the coverage that an answer needs."""
        said = query.said
        return bool(said) and said <= self.name_words[self.numbers[topic_id]]

    def _named(self, number: int, said: frozenset[str], whole: bool = False) -> bool:
        """True when `said` holds `NAME_SHARE` of one of the topic's names (all of it when
        `whole`)."""
        share = 1.0 - 1e-9 if whole else NAME_SHARE
        return any(
            math.fsum(map(self.weight, name & said)) >= share * math.fsum(map(self.weight, name))
            for name in self.names[number]
        )

    def is_named(self, topic_id: str, words: Sequence[str]) -> bool:
        """True when the folded `words` name the topic ("căn cước" names "can-cuoc")."""
        number = self.numbers.get(topic_id)
        return number is not None and self._named(number, frozenset(words))

    def name_share(self, number: int, said: frozenset[str]) -> float:
        """The largest share (by weight) of one of the topic's names that `said` holds."""
        best = 0.0
        for name in self.names[number]:
            total = math.fsum(map(self.weight, name))
            if total:
                best = max(best, math.fsum(map(self.weight, name & said)) / total)
        return best

    def head_topic(
        self, query: Query, candidates: Sequence[str]
    ) -> tuple[str, frozenset[str]] | None:
        """The candidate named right after a procedure verb, and the words that name it.

        "làm khai sinh cần mang căn cước của bố mẹ không" names "khai sinh" after its verb and
        "căn cước" only as a document to bring; "chứng thực bản sao sổ hộ khẩu" names the copy
        first and the household book as its object. Each verb's run of words (`Query.heads`)
        is read word by word: the first candidate named by the verb and the words read so far
        is the head (of several named at once, the one whose name is held the most; a tie
        names none), unless a word read before it names something else ("đăng ký học bằng
        lái" is about a course). None when no run names a candidate.
        """
        numbers = [(tid, self.numbers[tid]) for tid in candidates if tid in self.numbers]
        content = query.said
        for verb, run in query.heads:
            for size in range(1, len(run) + 1):
                said = frozenset(verb) | frozenset(run[:size])
                named = sorted(
                    ((self.name_share(n, said), tid) for tid, n in numbers if self._named(n, said)),
                    reverse=True,
                )
                if not named:
                    continue
                if len(named) == 1 or named[0][0] > named[1][0] + 1e-9:
                    topic = named[0][1]
                    if (said & content) - self.name_words[self.numbers[topic]]:
                        break  # "đăng ký học bằng lái": the verb's object is something else
                    return topic, said
        return None

    def names_several(self, topics: Sequence[str], query: Query) -> bool:
        """True when the message says nothing but the names of two or more of `topics` ("khai
        sinh hay khai tử"): the citizen is asked which, not answered one."""
        said = query.said
        named = [self.numbers[t] for t in topics if t in self.numbers]
        named = [n for n in named if self._named(n, said)]
        return len(named) >= 2 and said <= frozenset().union(*(self.name_words[n] for n in named))

    def section_for(self, topic_id: str, query: Query) -> str | None:
        """The section asked, leaving out cues that are part of the topic's own title.

        "nộp hồ sơ trực tuyến" names the topic about filing online rather than asking for the
        online section of some other topic, so it asks for that topic's overview; "nộp hồ sơ
        trực tuyến có được giảm phí không" asks for its fee.
        """
        title = self.title_words.get(topic_id, frozenset())
        inside = {s for s, words in query.cues if s and set(words) <= title}
        if query.section is None and query.document and topic_id in self.numbers:
            if not self._named(self.numbers[topic_id], frozenset(query.document)):
                return "documents"  # "làm căn cước có cần giấy khai sinh không"
        if query.section not in inside:
            return query.section
        rest = {s for s, _ in query.cues if s and s not in inside}
        return next((s for s in PRIORITY if s in rest), None)

    def second_section(self, topic_id: str, query: Query, first: str | None) -> str | None:
        """Another section the message asks besides `first`, answered with it ("nộp ở đâu, có
        mất tiền không": where, then fee). Not the steps, which hold the other sections, nor
        eligibility, whose "được không" is how a yes-or-no question on another section ends
        ("làm online được không"), nor a cue that is part of the topic's title."""
        if first is None:
            return None
        title = self.title_words.get(topic_id, frozenset())
        asked = {s for s, words in query.cues if s and not set(words) <= title}
        skip = {first, "steps", "sources", "hours", "eligibility"}
        return next((s for s in PRIORITY if s in asked and s not in skip), None)

    def unknown_word(self, token: str) -> bool:
        """True for a word no phrasing uses (digits, single letters and words set apart only
        for their marks aside)."""
        known = getattr(self, "known", None)
        return (
            known is not None
            and len(token) > 1
            and token.isalnum()
            and not token.isdigit()
            and token not in known
        )

    def foreign(self, query: Query, candidates: Sequence[str]) -> bool:
        """True when the message is about something none of the candidates deals with.

        "đăng ký tài khoản ngân hàng" shares "đăng ký" and "tài khoản" with VNeID, but its
        distinctive words are unknown to the knowledge base or foreign to the best candidate's
        phrasings, and it names no candidate clearly (`CLEAR_NAME`): when such words weigh
        `UNKNOWN_SHARE` of the message, the shared words prove nothing.
        """
        said = query.said
        numbers = [self.numbers[tid] for tid in candidates]
        if not said or any(self.name_share(n, said) >= CLEAR_NAME for n in numbers):
            return False
        best = self.topic_terms[numbers[0]] if numbers else frozenset()
        document = frozenset(query.document)  # the document to bring is not the topic
        foreign = [
            t
            for t in said - document - self.book.ambiguous_plain  # "thi": "thì" or an exam
            if not t.isdigit() and (t in query.unknown or t.rstrip("'") not in best)
        ]
        weight = math.fsum(map(self.weight, foreign))
        return bool(foreign) and weight >= UNKNOWN_SHARE * math.fsum(map(self.weight, said))

    def document_answer(
        self, query: Query, answer_at: float, cover_min: float
    ) -> tuple[str, float] | None:
        """The procedure of "làm hộ chiếu có cần căn cước không", with its score, or None.

        The document to bring ("căn cước") is left out and the rest is ranked again: the best
        topic is the answer when it scores `answer_at`, covers `cover_min` of the rest, and is
        the one a procedure verb names (`head_topic`).
        """
        if not query.without_document:
            return None
        ranked = self.rank(query.without_document)
        if not ranked:
            return None
        topic, score, cover, _ = ranked[0]
        if score < answer_at or cover < cover_min or self.head_topic(query, [topic]) is None:
            return None
        return topic, score

    def head_answer(
        self,
        query: Query,
        ranks: Sequence[Ranked],
        offered: Sequence[tuple[str, float]],
        offer_at: float,
        offer_cover: float,
    ) -> tuple[str, float] | None:
        """The topic named after a procedure verb, when the rest of the message is its object
        or a story ("chứng thực bản sao sổ hộ khẩu", "em với bạn gái định cưới tháng sau thì
        đăng ký kết hôn thế nào"): other words then split the vote or lower the coverage.

        The head (`head_topic`) among the topics either reading offers is the answer when it
        covers `offer_cover` of the message, trails the best by `HEAD_WITHIN` at most, the
        message says something besides the head's words, and the words of the message's verb
        runs, the head's name aside, name no rival by `RIVAL_SHARE` ("làm mất giấy khai sinh,
        xin bản sao" also says "bản sao").
        """
        pool: dict[str, tuple[float, float]] = {}
        for ranked in ranks:
            for tid, score, cover, _ in ranked:
                if score >= offer_at and score > pool.get(tid, (0.0, 0.0))[0]:
                    pool[tid] = (score, cover)
        head = self.head_topic(query, list(pool))
        if head is None:
            return None
        topic, words = head
        score, cover = pool[topic]
        best = max(score for score, _ in pool.values())
        said = query.said
        spoken = frozenset(w for verb, run in query.heads for w in (*verb, *run))
        others = (words | spoken) - self.name_words[self.numbers[topic]]
        rivals = [self.numbers[tid] for tid in pool if tid != topic]
        if (
            cover >= offer_cover
            and said - words
            and score >= best - HEAD_WITHIN
            and all(self.name_share(r, others) < RIVAL_SHARE for r in rivals)
        ):
            return topic, score
        return None
