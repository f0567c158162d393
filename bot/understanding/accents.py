"""Diacritics put back on words typed without them, learned from the knowledge base.

e5 reads Vietnamese typed without diacritics poorly: with the dense signal alone, the right
topic came first for 20.0% of the real whole messages stripped of their diacritics, against
69.3% as posted (`bench/eval_accuracy.py` sets, 2 December 2026). Before a text is embedded,
every word typed without diacritics takes the spelling the knowledge base gives it in that
context, and the abbreviations of `knowledge_base/vocabulary.toml` are written out ("dk" ->
"đăng ký"):

- a word's candidates are the spellings of the same letters in the knowledge base's texts
  written with diacritics ("toi" -> tôi, tối, tới, tội); texts typed entirely without them
  (citizens' phrasings) teach nothing and are skipped;
- a bigram model of those texts picks the sequence (Viterbi within each stretch of text
  between punctuation), each transition interpolated with how often the spelling is used;
- words typed with diacritics, and words the knowledge base never writes with them, are kept
  as typed; so are all the words of a message typed mostly with diacritics (`MARKED_SHARE`);
- a word capitalised inside a sentence is part of a name: only the spellings the knowledge
  base capitalises there are candidates ("Ha Noi": Hà Nội; "Nghe An" stays as typed).

The knowledge base's own phrasings typed without diacritics are embedded restored too. With
both, the dense signal alone put the right topic first for 73.3% of the stripped whole
messages, the stripped asking sentences 26.7 -> 69.3% and the short phrasings 68.0 -> 97.9%
(3 December 2026).
It is learned again with the index, so a word new to the knowledge base is restored from the
next reload on.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence

from bot.kb.model import KnowledgeBase
from bot.understanding.normalize import fold

PAIR_WEIGHT = 0.95
"""Weight of the word before against the spelling's own frequency (see `_chance`). With the
dense signal alone on the dev sets stripped of diacritics, 0.85 to 0.98 came within a question
of each other; 0.3 to 0.7 lost 2 to 10 points (one word of context is worth more than how
often a spelling is used: "đi cùng không", not "đi cũng không")."""

MARKED_SHARE = 0.5
"""Share of words carrying diacritics from which a text counts as typed with them: its plain
words ("cho con", "vneid") are then meant so and kept; only abbreviations are written out."""

UNSEEN = 1e-3
"""Share given to a word the knowledge base never writes (kept as typed)."""

_WORD = re.compile(r"[^\W_]+")
_STRETCH = re.compile(r"[^.,;:!?()\[\]\"\n–/]+")
_START = ""


def _strings(value: object) -> Iterator[str]:
    """Every string inside `value` (mappings, sequences and dataclasses, recursively)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from _strings(getattr(value, field.name))


class Accents:
    """The spellings and word pairs of a body of Vietnamese text, and `restore`."""

    def __init__(self, texts: Iterable[str], abbreviations: Mapping[str, str]) -> None:
        """Learn from `texts` (those typed entirely without diacritics are skipped)."""
        self.spellings: dict[str, Counter[str]] = defaultdict(Counter)
        self.pairs: Counter[tuple[str, str]] = Counter()
        self.after: Counter[str] = Counter()
        self.names: dict[str, Counter[str]] = defaultdict(Counter)
        for text in texts:
            if text.isascii():
                continue
            for stretch in _STRETCH.findall(text):
                previous = _START
                for at, typed in enumerate(_WORD.findall(stretch)):
                    word = typed.casefold()
                    self.spellings[fold(word)][word] += 1
                    if at and typed[:1].isupper():
                        self.names[fold(word)][word] += 1
                    self.pairs[previous, word] += 1
                    self.after[previous] += 1
                    previous = word
        self.abbreviations = {key.casefold(): value for key, value in abbreviations.items()}

    @classmethod
    def of(cls, kb: KnowledgeBase) -> Accents:
        """Learned from every text of the knowledge base: topics, wards, lexicon, bot texts."""
        parts = (kb.topics, kb.wards, kb.old_wards, kb.offices, kb.lexicon, kb.texts, kb.phrases)
        return cls((text for part in parts for text in _strings(part)), kb.abbreviations)

    def restore(self, text: str) -> str:
        """`text` with its abbreviations written out and, when it was typed without diacritics
        (`MARKED_SHARE`), its words spelled as the knowledge base spells them in context;
        everything else as typed."""
        if not self.spellings:
            return text
        marked = self._typed_with_marks(text)
        out, done = [], 0
        for stretch in _STRETCH.finditer(text):
            words = list(_WORD.finditer(stretch.group()))
            if not words:
                continue
            typed = [self._expanded(m.group()) for m in words]
            flat = [w for phrase in typed for w in phrase.split()]
            chosen = iter(flat if marked else self._best(flat))
            for match, phrase in zip(words, typed, strict=True):
                start = stretch.start() + match.start()
                spelled = " ".join(next(chosen) for _ in phrase.split())
                out += [text[done:start], spelled]
                done = start + len(match.group())
        out.append(text[done:])
        return "".join(out)

    def settled(self, words: Sequence[str]) -> list[str | None]:
        """For each of `words` (one message's words, in order), its spelling in context when
        the knowledge base has written it next to the same neighbouring word (before or after;
        the start of a text does not count: most knowledge-base texts begin formally, "Bản
        sao"), else None: the spelling is then a guess. All None for a message typed with
        diacritics."""
        if not self.spellings or self._typed_with_marks(" ".join(words)):
            return [None] * len(words)
        spelled = self._best(list(words))
        low = [w.casefold() for w in spelled]
        out: list[str | None] = []
        for at, word in enumerate(low):
            before = low[at - 1] if at else None
            after = low[at + 1] if at + 1 < len(low) else None
            seen = (before is not None and self.pairs[before, word]) or (
                after is not None and self.pairs[word, after]
            )
            out.append(word if seen else None)
        return out

    def _typed_with_marks(self, text: str) -> bool:
        """True when at least `MARKED_SHARE` of the words typed (abbreviations aside) carry
        diacritics."""
        said = [w for w in _WORD.findall(text) if w.casefold() not in self.abbreviations]
        return bool(said) and sum(not w.isascii() for w in said) >= MARKED_SHARE * len(said)

    def _expanded(self, word: str) -> str:
        """The abbreviation's expansion, or the word."""
        return self.abbreviations.get(word.casefold(), word)

    def _best(self, words: list[str]) -> list[str]:
        """The most likely spelling of each word in turn (Viterbi over the word pairs)."""
        best: dict[str, tuple[float, list[str]]] = {_START: (0.0, [])}
        for at, word in enumerate(words):
            step: dict[str, tuple[float, list[str]]] = {}
            for spelling, share, shown in self._candidates(word, at > 0 and word[:1].isupper()):
                score, path = max(
                    (score + math.log(self._chance(previous, spelling, share)), path)
                    for previous, (score, path) in best.items()
                )
                step[spelling] = (score, [*path, shown])
            best = step
        return max(best.values())[1]

    def _candidates(self, word: str, named: bool = False) -> list[tuple[str, float, str]]:
        """(spelling, share of its letters' uses, as shown) for one typed word: the knowledge
        base's spellings of a word typed without diacritics, else the word as typed. A word
        capitalised inside a sentence (`named`) is part of a name: only the spellings the
        knowledge base capitalises there ("Ha Noi": Hà Nội; "Nghe An", unknown, as typed)."""
        lowered = word.casefold()
        found = (self.names if named else self.spellings).get(fold(lowered))
        if not found:
            return [(lowered, UNSEEN, word)]
        total = sum(found.values())
        if not word.isascii():  # typed with diacritics: kept, and context for its neighbours
            return [(lowered, max(found.get(lowered, 0) / total, UNSEEN), word)]
        return [(spelling, n / total, _cased(spelling, word)) for spelling, n in found.items()]

    def _chance(self, previous: str, spelling: str, share: float) -> float:
        """P(spelling | previous word): how often `previous` is followed by it, interpolated
        with `share`, how often its letters are spelled so (`PAIR_WEIGHT`)."""
        after = self.after[previous]
        paired = self.pairs[previous, spelling] / after if after else share
        return PAIR_WEIGHT * paired + (1 - PAIR_WEIGHT) * share


def _cased(spelling: str, typed: str) -> str:
    """`spelling` with the capital letter of `typed`, if it began with one."""
    return spelling[:1].upper() + spelling[1:] if typed[:1].isupper() else spelling
