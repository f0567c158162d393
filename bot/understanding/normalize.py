"""Vietnamese text normalisation shared by the knowledge base side and each citizen message.

The pipeline (see `../shared/matching-notes.md`): NFC, look-alike repair (legacy ETH for Đ),
invisible characters, case, punctuation, then the knowledge base's vocabulary (abbreviations,
teencode, folk terms) on whole tokens. Every token also has a *folded* form: no diacritics,
`đ` -> `d`, and `y` -> `i` when `y` is a whole rhyme after a plain consonant (kí/ký, lí/lý). The
folded form does not depend on where the tone mark was placed (hoà/hòa, thuỷ/thủy) nor on NFC
versus NFD input, so matching on it is robust to keyboards.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import OSA

_LOOKALIKES = str.maketrans(
    {"\u00d0": "\u0110", "\u00f0": "\u0111", "\u0189": "\u0110", "\u0256": "\u0111"}
)
"""Legacy ETH and African D look-alikes typed or pasted instead of Đ/đ."""

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACES = dict.fromkeys(map(ord, "\u00a0\u2007\u202f\u3000\t\r\n"), " ")
_CLEAN = {**_INVISIBLE, **_SPACES}

_TOKEN = re.compile(r"[^\W_]+")
"""A run of letters and digits (combining marks count as word characters in NFC text)."""

_PLAIN_ONSET = re.compile(r"^(?:b|c|ch|d|g|gh|h|k|kh|l|m|n|ng|ngh|nh|p|ph|r|s|t|th|tr|v|x)y$")

_TONES = {"\u0300": "2", "\u0301": "1", "\u0303": "4", "\u0309": "3", "\u0323": "5"}
"""Tone marks (huyền, sắc, ngã, hỏi, nặng) and the digit the accent key appends."""


def clean(text: str) -> str:
    """NFC, look-alikes repaired, invisibles removed, case folded, punctuation to single spaces."""
    text = unicodedata.normalize("NFC", text.translate(_CLEAN)).translate(_LOOKALIKES)
    return " ".join(_TOKEN.findall(text.casefold()))


def unaccented(token: str) -> str:
    """The token as typed on a keyboard without Vietnamese input: no marks, đ -> d."""
    plain = "".join(c for c in unicodedata.normalize("NFD", token) if not unicodedata.combining(c))
    return plain.replace("đ", "d").replace("Đ", "D")


@functools.lru_cache(maxsize=1 << 16)
def fold(token: str) -> str:
    """The diacritic-free key of one token: no marks, đ -> d, lone rhyme y -> i (memoized: the
    same words are folded again and again, and a knowledge-base reload folds every phrasing)."""
    plain = unaccented(token.replace("Đ", "đ"))
    if _PLAIN_ONSET.match(plain):
        plain = plain[:-1] + "i"
    return plain


def vowel_key(token: str) -> str:
    """Tone marks dropped, vowel marks kept (ă â ê ô ơ ư), đ -> d, lone rhyme y -> i.

    "vàng" and "vắng" differ, "sửa" and "sữa" (a common hỏi/ngã slip) do not.
    """
    kept = "".join(c for c in unicodedata.normalize("NFD", token) if c not in _TONES)
    plain = unicodedata.normalize("NFC", kept).replace("đ", "d").replace("Đ", "d")
    if _PLAIN_ONSET.match(plain):
        plain = plain[:-1] + "i"
    return plain


def tone_key(token: str) -> str:
    """`vowel_key` plus the tone digit, hỏi and ngã as one: "giảm" -> giam3, "giám" -> giam1.

    Tone placement does not matter (hoà/hòa), and neither does hỏi versus ngã ("sữa"/"sửa"),
    which many speakers merge; a word without a tone mark has no digit.
    """
    tone = next((_TONES[c] for c in unicodedata.normalize("NFD", token) if c in _TONES), "")
    return vowel_key(token) + ("3" if tone == "4" else tone)


def accent_key(token: str) -> str:
    """Vowel marks kept, tone mark moved to a trailing digit: hoà/hòa -> hoa2, qúy -> quy1."""
    tone = ""
    kept = []
    for c in unicodedata.normalize("NFD", token):
        if c in _TONES:
            tone = _TONES[c]
        else:
            kept.append(c)
    return unicodedata.normalize("NFC", "".join(kept)) + tone


def is_plain(token: str) -> bool:
    """True when the token carries no diacritic other than đ (typed without accents)."""
    return fold(token) == token.replace("đ", "d") or token.isascii()


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Phrases indexed by the folded form of their words, each with a label, found on tokens.

    A phrase of several words matches on its folded form ("bằng lái" matches "bang lai"). A
    one-word phrase written without accents matches that word typed without accents (`dc`
    matches `dc` and `đc`, but `hong` leaves `hồng` alone). A one-word phrase written with
    accents (or only `đ`) matches that spelling wherever the tone mark sits, so `hông` leaves
    `hong` and `hồng` alone and `đang` leaves `dang`; with a leading `~` it also matches the word
    typed without any accents (use it only where the plain spelling is not another common word:
    `~phí` yes, `~còn` no, as `con`).
    """

    entries: Mapping[tuple[str, ...], tuple[tuple[object, str | None], ...]]
    longest: int

    @classmethod
    def build(cls, pairs: Iterable[tuple[str, object]]) -> Lexicon:
        """Index (phrase, label) pairs; the first pair wins where two match the same words."""
        entries: dict[tuple[str, ...], tuple[tuple[object, str | None], ...]] = {}
        for phrase, label in pairs:
            loose = phrase.startswith("~")
            words = tuple(clean(phrase.lstrip("~")).split())
            if not words:
                continue
            if len(words) > 1:
                guard = None
            elif words[0].isascii():
                guard = ""
            else:
                guard = ("~" if loose else "=") + accent_key(words[0])
            key = tuple(fold(w) for w in words)
            entries[key] = (*entries.get(key, ()), (label, guard))
        return cls(entries=entries, longest=max((len(k) for k in entries), default=0))

    def at(
        self,
        words: Sequence[str],
        folded: Sequence[str],
        i: int,
        fits: Callable[[int], bool] | None = None,
    ) -> tuple[int, object] | None:
        """The longest phrase starting at word `i` as (length, label), or None.

        `fits(length)`, when given, can refuse a length (the next shorter phrase is tried).
        """
        for size in range(min(self.longest, len(words) - i), 0, -1):
            if fits is not None and not fits(size):
                continue
            for label, guard in self.entries.get(tuple(folded[i : i + size]), ()):
                if guard is None:
                    return size, label
                if guard == "":
                    if is_plain(words[i]):
                        return size, label
                elif accent_key(words[i]) == guard[1:] or (guard[0] == "~" and words[i].isascii()):
                    return size, label
        return None

    def scan(self, words: Sequence[str], folded: Sequence[str]) -> list[tuple[int, int, object]]:
        """Non-overlapping phrases found left to right, longest first: (start, end, label)."""
        found = []
        i = 0
        while i < len(words):
            hit = self.at(words, folded, i) if self.entries else None
            if hit:
                found.append((i, i + hit[0], hit[1]))
                i += hit[0]
            else:
                i += 1
        return found


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Abbreviations and folk terms mapped to canonical words (`knowledge_base/vocabulary.toml`).

    Keys follow the `Lexicon` rules. A replacement never cuts into a canonical phrase already in
    the text ("làm căn cước công dân" keeps its "căn cước công dân" even if "làm căn cước" is a
    key), so an expansion is never expanded again and normalising twice changes nothing.
    """

    lexicon: Lexicon
    canon: Lexicon

    @classmethod
    def build(
        cls,
        abbreviations: Mapping[str, str] | None = None,
        phrases: Mapping[str, str] | None = None,
    ) -> Vocabulary:
        """Index the vocabulary file's two tables."""
        pairs = []
        for source, target in [*(abbreviations or {}).items(), *(phrases or {}).items()]:
            words = tuple(clean(target).split())
            if words:
                pairs.append((source.strip(), words))
        canon = Lexicon.build((" ".join(words), True) for _, words in pairs)
        return cls(Lexicon.build(pairs), canon)

    def _protected(self, words: Sequence[str], folded: Sequence[str]) -> list[tuple[int, int]]:
        """Spans of canonical phrases already present."""
        return [(a, b) for a, b, _ in self.canon.scan(words, folded)]

    def expand(self, words: list[str]) -> list[str]:
        """Replace known abbreviations and phrases once, longest first, left to right."""
        lexicon = self.lexicon
        if not lexicon.entries:
            return words
        folded = [fold(w) for w in words]
        protected = self._protected(words, folded)
        out: list[str] = []
        i = 0
        while i < len(words):

            def fits(size: int, start: int = i) -> bool:
                end = start + size
                return all(
                    b <= start or a >= end or (a >= start and b <= end) for a, b in protected
                )

            hit = lexicon.at(words, folded, i, fits)
            if hit is None:
                out.append(words[i])
                i += 1
                continue
            size, canon = hit
            same = tuple(folded[i : i + size]) == tuple(fold(w) for w in canon)
            out.extend(words[i : i + size] if same else canon)
            i += size
        return out


EMPTY_VOCABULARY = Vocabulary(Lexicon(entries={}, longest=0), Lexicon(entries={}, longest=0))


@dataclass(frozen=True, slots=True)
class Normalized:
    """A message after normalisation: canonical text, and the folded tokens to match on."""

    text: str
    tokens: tuple[str, ...]

    @property
    def folded(self) -> str:
        """The folded tokens as one string (the main matching key)."""
        return " ".join(self.tokens)


def normalize(text: str, vocab: Vocabulary = EMPTY_VOCABULARY) -> Normalized:
    """Normalise `text` (pure and idempotent: normalising `.text` again gives the same result)."""
    words = clean(text).split()
    for _ in range(4):
        expanded = vocab.expand(words)
        if expanded == words:
            break
        words = expanded
    return Normalized(text=" ".join(words), tokens=tuple(fold(w) for w in words))


TYPO_MIN_LENGTH = 4
"""Shorter tokens are not corrected: most Vietnamese syllables are one edit from several."""


@dataclass(frozen=True, slots=True)
class Spelling:
    """How the knowledge base spells its words, to check and correct the words of a message."""

    vowels: Mapping[str, frozenset[str]]
    tones: Mapping[str, frozenset[str]]
    known: frozenset[str]
    words: tuple[str, ...]

    @classmethod
    def build(cls, texts: Iterable[str], known: Iterable[str]) -> Spelling:
        """Index the accented words of `texts` (normalised) and the folded `known` words."""
        vowels: dict[str, set[str]] = {}
        tones: dict[str, set[str]] = {}
        for text in texts:
            for word in text.split():
                if not word.isascii():
                    vowels.setdefault(fold(word), set()).add(vowel_key(word))
                    tones.setdefault(fold(word), set()).add(tone_key(word))
        known = frozenset(known)
        return cls(
            vowels={k: frozenset(v) for k, v in vowels.items()},
            tones={k: frozenset(v) for k, v in tones.items()},
            known=known,
            words=tuple(sorted(t for t in known if len(t) >= TYPO_MIN_LENGTH and t.isalpha())),
        )

    def mark(self, word: str, token: str) -> str:
        """`token`, or `token` + "'" (a token no phrasing has) when the word is another word.

        Typed with diacritics, a word is another word when its vowel marks differ from every
        spelling the knowledge base uses for its folded form ("vàng" is not "vắng"), or when it
        carries a tone mark that differs from all of them ("giảm" is not "giám"); hỏi and ngã
        count as one tone, as many speakers do not tell them apart ("sữa" for "sửa"). A word
        typed without any mark is left alone: it may be any of them.
        """
        if word.isascii():
            return token
        spellings = self.vowels.get(token)
        if not spellings:
            return token
        if vowel_key(word) not in spellings:
            return token + "'"
        tone = tone_key(word)
        if tone[-1:].isdigit() and tone not in self.tones.get(token, ()):
            return token + "'"
        return token

    def correct(self, token: str) -> str:
        """A typo fixed: an unknown token one edit from exactly one known word becomes it.

        Vietnamese syllables are short and close to each other ("vang" is one letter from
        "dang"), so a 4-letter token is only corrected for two swapped letters ("sihn" ->
        "sinh"), and shorter ones never.
        """
        if len(token) < TYPO_MIN_LENGTH or token in self.known or not token.isalpha():
            return token
        found = process.extract(token, self.words, scorer=OSA.distance, score_cutoff=1, limit=2)
        if len(found) != 1:
            return token
        fixed = found[0][0]
        if len(token) == TYPO_MIN_LENGTH and sorted(fixed) != sorted(token):
            return token
        return fixed
