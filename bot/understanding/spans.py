"""The first reading of a message's words: which spans are wards, small talk, section cues or
stop words, the spelling fixed where nothing claimed a word, and the message without the
document it asks about.

A mixin of `LexicalIndex`: it reads the index's phrasebook, ward lexicon, spelling and
`_terms_of`.
"""

from __future__ import annotations

from bot.understanding.sections import section_spans, stopword_spans
from bot.understanding.smalltalk import smalltalk_kinds
from bot.understanding.wardnames import ward_mentions


class Spans:
    """Span claiming and spelling for `LexicalIndex.analyze`."""

    def _spans(self, words: list[str], folded: tuple[str, ...]) -> tuple[list, list, list, list]:
        """Which words are taken, and the spans that take them: wards, small talk, section cues
        (which may overlap each other: "nộp ở" + "ở đâu"), then stop words."""
        taken = [False] * len(words)

        def claim(spans: list) -> list:
            kept = []
            for span in spans:
                a, b = span[0], span[1]
                if not any(taken[a:b]):
                    taken[a:b] = [True] * (b - a)
                    kept.append(span)
            return kept

        wards = claim(ward_mentions(self.wards, words, folded))
        found = section_spans(self.book, words, folded)
        talk = smalltalk_kinds(self.book, words, folded)
        small = claim([span for span in talk if not _inside(span, found)])
        cues = [(a, b, c) for a, b, c in found if not any(taken[a:b])]
        for a, b, _ in cues:
            taken[a:b] = [True] * (b - a)
        claim(stopword_spans(self.book, words, folded))
        return taken, wards, small, cues

    def _spelled(
        self, words: list[str], folded: tuple[str, ...], taken: list[bool]
    ) -> tuple[str, ...]:
        """The folded words, marked and with typos corrected where not taken by a span."""
        spelling = self.spelling
        if spelling is None:
            return folded
        marked = [spelling.mark(w, t) for w, t in zip(words, folded, strict=True)]
        fixed = [t if taken[i] else spelling.correct(t) for i, t in enumerate(marked)]
        return tuple(self._onsets_fixed(fixed, taken))

    def _onsets_fixed(self, tokens: list[str], taken: list[bool]) -> list[str]:
        """`tokens` with a word whose initial consonant was written for another ("thường chú",
        "nàm căn cước") read as the knowledge base writes it: only where the word makes a
        pair with a neighbour that no phrasing has, and the swapped word makes one that a
        phrasing has (`onset_swaps` of lexicon/words.toml)."""
        out = list(tokens)
        for i, token in enumerate(tokens):
            word = token.rstrip("'")
            if taken[i] or not word.isalpha():
                continue
            near = [j for j in (i - 1, i + 1) if 0 <= j < len(tokens) and not taken[j]]
            pairs = [(tokens[j].rstrip("'"), j < i) for j in near]
            if any(self._pair_known(word, other, before) for other, before in pairs):
                continue
            for a, b in self.book.onset_swaps:
                swapped = b + word[len(a) :]
                if word.startswith(a) and any(
                    self._pair_known(swapped, other, before) for other, before in pairs
                ):
                    out[i] = swapped
                    break
        return out

    def _pair_known(self, word: str, other: str, other_first: bool) -> bool:
        """True when some phrasing has `word` next to `other` (in that order)."""
        return (f"{other} {word}" if other_first else f"{word} {other}") in self.idf

    def _without(
        self,
        span: tuple[int, int] | None,
        words: list[str],
        folded: tuple[str, ...],
        taken: list[bool],
        cues: list,
        generic: set[int],
    ) -> tuple[str, ...]:
        """The terms of the message without the document it asks about (`span`), when anything
        specific is left."""
        if span is None:
            return ()
        rest = [t or span[0] <= i < span[1] for i, t in enumerate(taken)]
        if any(not t and i not in generic for i, t in enumerate(rest)):
            return self._terms_of(words, folded, rest, cues)
        return ()

    def _other_reading(
        self,
        words: list[str],
        folded: tuple[str, ...],
        taken: list[bool],
        cues: list,
        generic: set[int],
    ) -> tuple[tuple[str, ...] | None, tuple[str, ...]]:
        """The terms and core words of the message read with its plain words that may be
        fillers or content ("can": "cần" or "căn") as content; those words are then taken,
        for the main reading. (None, ()) when there are none."""
        unsure = [i for i, w in enumerate(words) if not taken[i] and w in self.book.ambiguous_plain]
        if unsure:
            unsure = self._still_unsure(words, unsure)
        if not unsure:
            return None, ()
        alt_terms = self._terms_of(words, folded, taken, cues)
        alt_core = tuple(folded[i] for i, t in enumerate(taken) if not t and i not in generic)
        for i in unsure:
            taken[i] = True
        return alt_terms, alt_core

    def _still_unsure(self, words: list[str], unsure: list[int]) -> list[int]:
        """The plain words of `unsure` still unsure once the message is spelled in context: one
        the knowledge base writes, next to the same neighbour, as a word other than a filler
        ("chu nha co can di cung": "đi cùng", not "cũng") is content in both readings."""
        spelled = self.accents.settled(words)
        fillers = self.book.filler_spellings
        return [i for i in unsure if spelled[i] is None or spelled[i] in fillers]


def _inside(span: tuple, cues: list[tuple[int, int, str]]) -> bool:
    """True when a longer section cue holds the small-talk `span`: "được" is "OK" alone but part
    of the question in "có được hưởng không"."""
    a, b = span[0], span[1]
    return any(c <= a and b <= d and d - c > b - a for c, d, section in cues if section)
