"""Reading a message before any matching: cap it, split it, find the asking sentence(s).

Citizens often tell a story first ("mẹ tôi 80 tuổi, không có lương hưu...") and ask at the end.
`read` splits the message into sentences and marks as asking those with a question mark, an
asking phrase, or an asking final word, all listed in `knowledge_base/lexicon/reading.toml`.
The whole (capped) message is still matched word by word; the asking sentences decide what
the embedding sees (`Reading.focus`), which keeps its cost bounded for long messages.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.kb.model import KnowledgeBase
from bot.understanding.normalize import clean, fold

MAX_CHARS = 2000
"""A message is read up to this many characters (Zalo's own cap on a text)."""

FOCUS_CHARS = 240
"""Characters handed to the embedding model: its cost grows faster than the text's length
(about 15 ms for 20 characters, 60 ms for 150, 230 ms for 600 on one loaded core)."""

_SENTENCE_END = re.compile(r"(?<=[.?!…\n])\s+|\n+")
"""Where a sentence ends. Not at a semicolon: citizens list documents with them ("gồm giấy tờ:
Giấy khai sinh; Sổ hộ khẩu, tờ khai thì cần giấy tờ gì nữa không?"), and the list's last item
then asked alone, without the procedure named at its start (real whole messages: top-1 61.3 ->
62.7%, offered 89.3 -> 90.7%)."""


def folded(text: str) -> str:
    """`text` cleaned and folded word by word (no marks, đ -> d)."""
    return " ".join(fold(token) for token in clean(text).split())


@dataclass(frozen=True, slots=True)
class AskCues:
    """Folded phrases and final words that make a sentence a question, and the particles a
    question may end with after its final word ("cần gì ạ", "có phải đi không vậy")."""

    phrases: tuple[str, ...] = ()
    endings: frozenset[str] = frozenset()
    particles: frozenset[str] = frozenset()

    @classmethod
    def from_kb(cls, kb: KnowledgeBase) -> AskCues:
        """The cues of `lexicon/reading.toml` (none when the file is absent)."""
        group = kb.lexicon.get("reading", {})
        phrases = tuple(f" {folded(p)} " for p in group.get("ask_phrases", ()))
        endings = frozenset(folded(w) for w in group.get("ask_endings", ()))
        particles = frozenset(folded(w) for w in group.get("closing_particles", ()))
        return cls(phrases, endings, particles)

    def asks(self, sentence: str) -> bool:
        """True when `sentence` asks something."""
        if "?" in sentence:
            return True
        key = f" {folded(sentence)} "
        words = key.split()
        while len(words) > 1 and words[-1] in self.particles:
            words.pop()
        if words and words[-1] in self.endings:
            return True
        return any(p in key for p in self.phrases)


@dataclass(frozen=True, slots=True)
class Reading:
    """A message as read: capped text, its sentences and which of them ask."""

    text: str
    sentences: tuple[str, ...]
    asks: tuple[str, ...]
    asking: bool = True
    """False when no sentence asks anything ("em đang học đại học năm hai"): the message tells
    something (`asks` then holds its last sentence)."""

    @property
    def is_long(self) -> bool:
        """More than one sentence: a story around the question."""
        return len(self.sentences) > 1

    @property
    def focus(self) -> str:
        """What the embedding reads: the message when short, else its asking sentences. The
        story around them is left to the words (the whole message is matched word by word):
        with the first 80 characters of the opening sentence added, as until December 2026,
        real whole messages (real_dev_questions.tsv) had 2.7 points fewer right answers, 1.3
        fewer right topics offered and 3.4 fewer out-of-scope questions refused."""
        if len(self.text) <= FOCUS_CHARS:
            return self.text
        return " ".join(self.asks)[:FOCUS_CHARS]


def read(text: str, cues: AskCues) -> Reading:
    """Cap, split and mark the asking sentences of `text` (the last one when none asks). The
    text is composed (NFC) first: a phone that sends decomposed marks gets the same reading,
    and the model the same input, as one that sends composed ones."""
    capped = unicodedata.normalize("NFC", text.strip())[:MAX_CHARS]
    sentences = tuple(s.strip() for s in _SENTENCE_END.split(capped) if s and s.strip())
    if not sentences:
        return Reading(capped, (), ())
    asks = tuple(s for s in sentences if cues.asks(s))
    return Reading(capped, sentences, asks or sentences[-1:], bool(asks))
