"""The word lists of the understanding stages, read from `knowledge_base/lexicon/`.

Staff see and extend them there (`sections.toml`: what part of a procedure is asked;
`words.toml`: fillers, procedure-neutral words, procedure verbs, "có cần Y không" documents;
`smalltalk.toml`: small talk and requests for a person). Phrases follow `normalize.Lexicon`:
written with accents, several words also match without them, one word only with a leading `~`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.kb.model import KnowledgeBase
from bot.understanding.normalize import Lexicon, unaccented

WEAK_KINDS = {"weak_documents": "documents", "weak_heads": "heads"}
"""Weak cue lists and the section label each gives (`sections.weak_section`)."""
YES_NO_KINDS = {"may_openers": "may", "must_openers": "must"}
"""Opener lists of yes-or-no questions and the kind each gives (`sections.yes_no_section`)."""


@dataclass(frozen=True, slots=True)
class Phrasebook:
    """Every lexicon the word-level stages scan a message with."""

    sections: Lexicon
    weak: Lexicon
    progress: Lexicon
    document_verbs: Lexicon
    head_verbs: frozenset[str]
    fillers: Lexicon
    generic: Lexicon
    procedure_verbs: Lexicon
    run_ends: Lexicon
    """Words after which a procedure verb's object has ended ("theo" a document)."""
    document_asks: Lexicon
    document_nouns: Lexicon
    yes_no_openers: Lexicon
    """What opens a yes-or-no question on whether one may ("may") or must ("must") do
    something (`sections.yes_no_section`)."""
    yes_no_ends: frozenset[str]
    """The folded words that end such a question ("khong", "ko")."""
    smalltalk: Lexicon
    handover: Lexicon
    ambiguous_plain: frozenset[str]
    """Plain spellings of fillers ("can" for "cần", "con" for "còn", "nha"): typed without
    accents they may be a filler or a content word ("căn", "con", "nhà"); both are tried."""
    onset_swaps: tuple[tuple[str, str], ...] = ()
    """Initial consonants written for one another ("ch"/"tr": "thường chú" for "thường trú")."""
    filler_spellings: frozenset[str] = frozenset()
    """The one-word fillers as spelled with diacritics ("cần", "còn"): a plain word of
    `ambiguous_plain` spelled in context (`Accents.settled`) as none of them is content."""

    @classmethod
    def from_kb(cls, kb: KnowledgeBase) -> Phrasebook:
        """The phrasebook of `kb` (empty lists where a lexicon file is missing)."""
        sections = kb.lexicon.get("sections", {})
        words = kb.lexicon.get("words", {})
        talk = kb.lexicon.get("smalltalk", {})
        progress = _list(sections, "progress")
        cues: Mapping[str, Any] = sections.get("cues", {})
        fillers = _list(words, "fillers")
        return cls(
            sections=Lexicon.build(
                [
                    *((p, "") for p in (*progress, *_list(sections, "not_section"))),
                    *((cue, name) for name, phrases in cues.items() for cue in phrases),
                ]
            ),
            weak=Lexicon.build(
                [
                    *((p, None) for p in _list(sections, "not_cues")),
                    *(
                        (p, label)
                        for key, label in WEAK_KINDS.items()
                        for p in sections.get(key, ())
                    ),
                ]
            ),
            progress=_labelled(progress, "progress"),
            document_verbs=_labelled(_list(sections, "document_verbs"), "verb"),
            head_verbs=frozenset(_list(sections, "head_verbs")),
            fillers=_labelled(fillers, "stop"),
            generic=_labelled(_list(words, "generic"), "generic"),
            procedure_verbs=_labelled(_list(words, "procedure_verbs"), "verb"),
            run_ends=_labelled(_list(words, "run_ends"), "end"),
            document_asks=_labelled(_list(words, "document_asks"), "ask"),
            document_nouns=_labelled(_list(words, "document_nouns"), "noun"),
            yes_no_openers=_by_kind(sections, YES_NO_KINDS),
            yes_no_ends=frozenset(unaccented(w) for w in _list(sections, "yes_no_ends")),
            smalltalk=Lexicon.build(
                (p, kind) for kind, phrases in talk.get("smalltalk", {}).items() for p in phrases
            ),
            handover=_labelled(talk.get("handover", {}).get("phrases", ()), "handover"),
            ambiguous_plain=frozenset(
                unaccented(w)
                for w in fillers
                if not w.startswith("~") and " " not in w and not w.isascii()
            )
            | {"nha"},
            onset_swaps=_swaps(_list(words, "onset_swaps")),
            filler_spellings=frozenset(
                w.casefold() for w in fillers if not w.startswith("~") and " " not in w
            ),
        )


def _list(group: Mapping[str, Any], name: str) -> tuple[str, ...]:
    """One list of a lexicon group (empty when absent)."""
    found = group.get(name, ())
    return tuple(found) if isinstance(found, tuple | list) else ()


def _by_kind(group: Mapping[str, Any], kinds: Mapping[str, str]) -> Lexicon:
    """A lexicon of several lists of `group`, each phrase labelled with its list's kind."""
    return Lexicon.build((p, kind) for name, kind in kinds.items() for p in _list(group, name))


def _labelled(phrases: Iterable[str], label: str) -> Lexicon:
    """A lexicon giving every phrase the same label."""
    return Lexicon.build((p, label) for p in phrases)


def _swaps(entries: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """Each "ch tr" entry both ways: ("ch", "tr") and ("tr", "ch")."""
    found = []
    for entry in entries:
        parts = entry.split()
        if len(parts) == 2:
            found += [(parts[0], parts[1]), (parts[1], parts[0])]
    return tuple(found)
