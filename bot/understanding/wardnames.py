"""Ward names in messages: the new wards (since 1/7/2025) and the old wards of quận Tây Hồ."""

from __future__ import annotations

from collections.abc import Sequence

from bot.kb.model import KnowledgeBase
from bot.understanding.normalize import Lexicon


def ward_lexicon(kb: KnowledgeBase) -> Lexicon:
    """Names and aliases of every ward, labelled ("ward" | "old_ward" | "district", id).

    New wards come first, so a name shared by an old and a new ward (Phú Thượng) means the new
    ward, which exists today. `lexicon/wards.toml` lists the words that often precede a ward's
    name (`prefixes`: the span includes them) and the old district's names (`districts`:
    mentioned often, naming no ward).
    """
    words = kb.lexicon.get("wards", {})
    prefixes = words.get("prefixes", ())
    pairs: list[tuple[str, tuple[str, str]]] = [
        (d, ("district", "")) for d in words.get("districts", ())
    ]
    named: list[tuple[tuple[str, ...], tuple[str, str]]] = []
    for ward in kb.wards.values():
        named.append(((ward.name, *ward.aliases), ("ward", ward.id)))
    for old in kb.old_wards.values():
        named.append(((old.name, *old.aliases), ("old_ward", old.id)))
    for names, label in named:
        for name in names:
            bare = name.strip()
            pairs.append((bare, label))
            for prefix in prefixes:
                if not bare.lower().startswith(prefix + " "):
                    pairs.append((f"{prefix} {bare}", label))
    return Lexicon.build(pairs)


def ward_mentions(
    lexicon: Lexicon, words: Sequence[str], folded: Sequence[str]
) -> list[tuple[int, int, tuple[str, str]]]:
    """Every ward or district named in the message as (start, end, (kind, id))."""
    return [(a, b, label) for a, b, label in lexicon.scan(words, folded)]  # type: ignore[misc]
