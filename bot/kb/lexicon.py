"""`knowledge_base/lexicon/*.toml`: the Vietnamese word lists the understanding stages read.

Each file is a set of named lists of phrases (`name = ["...", ...]`), or of named entries
(`[name]` tables whose values are texts or lists of texts, as the out-of-scope domains). The
file's stem names the group: `lexicon/reading.toml` becomes `kb.lexicon["reading"]`. Every
phrase must be non-empty text; problems are reported with their line like any other file.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any

from bot.kb.model import ANSWER_SECTIONS
from bot.kb.reader import Reader

CUE_SECTIONS = frozenset({*ANSWER_SECTIONS, "steps", "sources", "hours"})
"""The sections a `[cues]` list of `lexicon/sections.toml` may name."""


def lexicon_files(root: Path) -> list[Path]:
    """The lexicon files under `root`, sorted (hidden files excluded)."""
    folder = root / "lexicon"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.toml") if not p.name.startswith("."))


def _phrases(reader: Reader, file: Path, line: int, name: str, raw: Any) -> tuple[str, ...] | None:
    """A list of non-empty texts, or None after noting the problem."""
    if not isinstance(raw, list) or not all(isinstance(p, str) and p.strip() for p in raw):
        reader.add(file, line, f"'{name}' phải là danh sách các cụm từ (chuỗi không rỗng)")
        return None
    return tuple(p.strip() for p in raw)


def _entry(reader: Reader, file: Path, source: Any, name: str, raw: dict) -> dict | None:
    """A `[name]` table: texts and lists of texts."""
    entry: dict[str, str | tuple[str, ...]] = {}
    for key, value in raw.items():
        line = source.subkey(name, key)
        if isinstance(value, str) and value.strip():
            entry[key] = value.strip()
        else:
            phrases = _phrases(reader, file, line, f"{name}.{key}", value)
            if phrases is None:
                return None
            entry[key] = phrases
    return entry


def read_lexicon(reader: Reader, root: Path) -> MappingProxyType:
    """Every lexicon file as group -> name -> phrases (or entry table)."""
    groups: dict[str, MappingProxyType] = {}
    for file in lexicon_files(root):
        data, source = reader.parse(file)
        if data is None:
            continue
        group: dict[str, Any] = {}
        for name, raw in data.items():
            if isinstance(raw, dict):
                value = _entry(reader, file, source, name, raw)
                if value is not None and (file.stem, name) == ("sections", "cues"):
                    for key in sorted(set(value) - CUE_SECTIONS):
                        known = ", ".join(sorted(CUE_SECTIONS))
                        reader.add(
                            file, source.subkey(name, key), f"'{key}' không phải phần ({known})"
                        )
            else:
                value = _phrases(reader, file, source.line(name), name, raw)
            if value is not None:
                group[name] = value
        groups[file.stem] = MappingProxyType(group)
    return MappingProxyType(groups)
