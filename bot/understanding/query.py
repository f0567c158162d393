"""What the matcher hands on: a message taken apart (`Query`) and its verdict (`Match`)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.understanding.normalize import Normalized


@dataclass(frozen=True, slots=True)
class Query:
    """A message taken apart: its section cue, wards named, and the words that name a topic."""

    normalized: Normalized
    section: str | None
    wards: tuple[tuple[str, str], ...]
    smalltalk: tuple[str, ...]
    content: tuple[str, ...]
    cues: tuple[tuple[str, tuple[str, ...]], ...]
    terms: tuple[str, ...]
    names_topic: bool
    alt_terms: tuple[str, ...] | None = None
    """Terms when plain words that may be fillers ("can": "cần" or "căn") are kept instead."""
    core: tuple[str, ...] = ()
    """Content words that are not procedure-neutral: what the message names."""
    alt_core: tuple[str, ...] = ()
    """`core` when the plain words that may be fillers are read as content (if different)."""
    heads: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = ()
    """Procedure verbs with the content words that follow them (`sections.procedure_heads`)."""
    document: tuple[str, ...] = ()
    """The document Y of "có cần Y không" (`sections.document_object`)."""
    without_document: tuple[str, ...] = ()
    """`terms` without the document Y, when something else is named (the procedure asked)."""
    unknown: tuple[str, ...] = ()
    """Content words the knowledge base never uses: what it knows nothing about."""

    @property
    def said(self) -> frozenset[str]:
        """What the message names: its core words in either reading."""
        return frozenset(self.core) | frozenset(self.alt_core)


@dataclass(frozen=True, slots=True)
class Match:
    """The matcher's verdict for one message."""

    outcome: str
    topic: str | None
    candidates: tuple[tuple[str, float], ...]
    score: float
    query: Query | None = None
    back: float = 0.0
    """Share of the best topic's best phrasing the message covers: low when the message only
    shares a common word with it ("ở xa" with "trợ cấp xã hội")."""
    faq: str | None = None
    """The id of the topic's FAQ entry that answers the message, if one does."""
    confidence: float = 0.0
    """Probability the best topic is right, from the fused ranking (`bot.understanding.ranking`)."""
    domain: str | None = None
    """The out-of-scope domain the message is about, when it is closer to one than to any topic."""
    near_domain: str | None = None
    """With choices: an out-of-scope domain nearly as close as the best topic (within
    `NEAR_DOMAIN_MARGIN`), whose office the reply names next to the choices."""
    plausible: tuple[str, ...] = ()
    """With choices: the best topics by the fused score, before the discriminant reordered
    them for the choices (`ranking.for_choices`). A follow-up whose current topic is among
    them still belongs to it, as when it is among the choices."""
    via: str = "lexical"
    """Which stage decided: "lexical" (naming rules), "fused" (both signals) or "context"."""

    @property
    def section(self) -> str | None:
        """The section the message asks about (None: the overview)."""
        return self.query.section if self.query else None
