"""Terms of the lexical stage: syllables and syllable pairs, phrasings, and postings."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Phrasing:
    """One phrasing of a topic: folded text, its terms, and the summed weight of its terms."""

    text: str
    terms: frozenset[str]
    mass: float


def postings(topic_terms: Sequence[frozenset[str]]) -> dict[str, list[int]]:
    """For each term, the numbers of the topics whose phrasings use it."""
    postings: dict[str, list[int]] = defaultdict(list)
    for number, union in enumerate(topic_terms):
        for term in union:
            postings[term].append(number)
    return postings


def terms_of_tokens(tokens: Sequence[str]) -> set[str]:
    """Syllables and syllable pairs."""
    found = set(tokens)
    found.update(f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False))
    return found
