"""How alike two citizen messages are, for grouping them (the console's inbox, rephrases)."""

from __future__ import annotations

from rapidfuzz import fuzz

from bot.understanding.reading import folded


def similarity(a: str, b: str) -> float:
    """0-100: rapidfuzz token_set_ratio of the two texts, cleaned (NFC, look-alikes,
    punctuation) and folded (no diacritics), as the lexical stage compares them."""
    return fuzz.token_set_ratio(folded(a), folded(b))
