"""Ward names in messages: the new wards (since 1/7/2025) and the old wards of quận Tây Hồ."""

from __future__ import annotations

from collections.abc import Sequence

from bot.kb.model import KnowledgeBase, Topic
from bot.normalize import Lexicon, clean, fold

_PREFIXES = ("phường", "p", "khu vực", "khu", "ở", "tại", "thuộc")
"""Words that often precede a ward name; the ward lexicon includes them in the span."""

DISTRICTS = ("quận tây hồ", "q tây hồ", "tây hồ cũ", "quận tây hồ cũ", "quận cũ")
"""The old district: mentioned often, but it names no ward."""


def ward_lexicon(kb: KnowledgeBase) -> Lexicon:
    """Names and aliases of every ward, labelled ("ward" | "old_ward" | "district", id).

    New wards come first, so a name shared by an old and a new ward (Phú Thượng) means the new
    ward, which exists today.
    """
    pairs: list[tuple[str, tuple[str, str]]] = [(d, ("district", "")) for d in DISTRICTS]
    named: list[tuple[tuple[str, ...], tuple[str, str]]] = []
    for ward in kb.wards.values():
        named.append(((ward.name, *ward.aliases), ("ward", ward.id)))
    for old in kb.old_wards.values():
        named.append(((old.name, *old.aliases), ("old_ward", old.id)))
    for names, label in named:
        for name in names:
            bare = name.strip()
            pairs.append((bare, label))
            for prefix in _PREFIXES:
                if not bare.lower().startswith(prefix + " "):
                    pairs.append((f"{prefix} {bare}", label))
    return Lexicon.build(pairs)


def ward_mentions(
    lexicon: Lexicon, words: Sequence[str], folded: Sequence[str]
) -> list[tuple[int, int, tuple[str, str]]]:
    """Every ward or district named in the message as (start, end, (kind, id))."""
    return [(a, b, label) for a, b, label in lexicon.scan(words, folded)]  # type: ignore[misc]


def in_sentence(name: str) -> str:
    """A ward name as written inside a sentence: "Phường Tây Hồ" -> "phường Tây Hồ"."""
    return name[:1].lower() + name[1:] if name.lower().startswith("phường ") else name


def new_ward_names(kb: KnowledgeBase, old_id: str) -> str:
    """The new wards an old ward went to, as a list inside a sentence."""
    old = kb.old_wards[old_id]
    return ", ".join(in_sentence(kb.wards[w].name) for w in old.new_wards if w in kb.wards)


def explain_old_ward(kb: KnowledgeBase, old_id: str) -> str:
    """Where an old ward went in the 2025 reorganisation, for the citizen."""
    old = kb.old_wards[old_id]
    return kb.text(
        "ward_old_explained",
        old=old.name,
        new=new_ward_names(kb, old_id) or "các phường mới",
        note=old.note or "",
    ).strip()


def decided_by_ward(topic: Topic) -> bool:
    """True when the ward's People's Committee decides the procedure (its office is the place).

    Procedures of the ward police, the city or other bodies are filed elsewhere, so the ward's
    service point is not suggested for them.
    """
    return "ubnd phuong" in " ".join(fold(w) for w in clean(topic.authority).split())


def ward_office(kb: KnowledgeBase, ward_id: str) -> str:
    """The service point of a new ward, one line."""
    ward = kb.wards[ward_id]
    address = f", {ward.address}" if ward.address else ""
    return kb.text("ward_office", ward=in_sentence(ward.name), office=ward.office, address=address)
