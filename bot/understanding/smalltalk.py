"""Small talk and requests for a person: recognised before any procedure is matched."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from bot.understanding.phrases import Phrasebook

_VOWELS = "aeiouy"
_SYLLABLE = re.compile(
    r"^(?:ngh|ng|gh|gi|kh|nh|ph|th|tr|ch|qu|[bcdghklmnpqrstvx])?"
    r"[aeiouy]{1,3}(?:ng|nh|ch|[cmnpt])?$"
)
"""A Vietnamese syllable shape on folded text (onset, one to three vowels, coda)."""


def smalltalk_kinds(
    book: Phrasebook, words: Sequence[str], folded: Sequence[str]
) -> list[tuple[int, int, str]]:
    """Every small-talk phrase in the message as (start, end, kind)."""
    return [(a, b, str(k)) for a, b, k in book.smalltalk.scan(words, folded)]


def asks_for_person(book: Phrasebook, words: Sequence[str], folded: Sequence[str]) -> bool:
    """True when the citizen asks to talk to a member of staff.

    A request phrase inside a question about the assistant itself ("người thật" in "em là
    người thật hay máy") is that question, answered as small talk, not a request.
    """
    about_bot = [(a, b) for a, b, kind in smalltalk_kinds(book, words, folded) if kind == "who"]
    return any(
        not any(c < b and a < d for c, d in about_bot)
        for a, b, _ in book.handover.scan(words, folded)
    )


def is_emoji_only(text: str) -> bool:
    """True when the message holds symbols (emoji, stickers as text) but no letter or digit."""
    stripped = text.strip()
    return bool(stripped) and not any(unicodedata.category(c)[0] in "LN" for c in stripped)


def looks_like_words(folded: Sequence[str], known: set[str] | frozenset[str]) -> bool:
    """True when at least one token is a known word or has the shape of a Vietnamese syllable."""
    plain = [t.rstrip("'") for t in folded]  # the matcher marks words spelled unlike the KB
    return any(t in known or t.isdigit() or _SYLLABLE.match(t) for t in plain)
