"""Line numbers for problems: tomllib gives none for keys, so find them in the file text."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")


def _unquote(name: str) -> str:
    """A bare or quoted TOML key as plain text."""
    name = name.strip()
    if len(name) >= 2 and name[0] == name[-1] and name[0] in "\"'":
        return name[1:-1]
    return name


@dataclass(frozen=True, slots=True)
class _Block:
    """A run of lines under one table header (or the root, with header None)."""

    header: str | None
    array: bool
    start: int  # 1-based line of the header (1 for the root)
    end: int  # last line, inclusive


class SourceLines:
    """The text of one TOML file, able to say on which line a key or a value sits."""

    def __init__(self, text: str) -> None:
        """Split `text` into header blocks."""
        # Only "\n" ends a line in TOML (and in tomllib's line numbers); str.splitlines would
        # also split on U+0085, U+2028... which may appear inside strings.
        self.lines = [line.removesuffix("\r") for line in text.split("\n")]
        self.blocks: list[_Block] = []
        header: str | None = None
        array = False
        start = 1
        for number, line in enumerate(self.lines, start=1):
            found = _HEADER.match(line)
            if found and "=" not in line.split("#")[0].split("]")[0]:
                self.blocks.append(_Block(header, array, start, number - 1))
                header, array, start = _unquote(found.group(2)), found.group(1) == "[[", number
        self.blocks.append(_Block(header, array, start, max(len(self.lines), start)))

    def _block(self, table: str | None, index: int | None) -> _Block | None:
        """The block of `[table]`, or of the `index`-th `[[table]]`; the root when table is None."""
        matches = [b for b in self.blocks if b.header == table]
        if not matches:
            return None
        if index is None:
            return matches[0]
        return matches[index] if index < len(matches) else None

    def _key_in(self, block: _Block, key: str) -> int | None:
        """The line of `key = ...` inside `block`."""
        pattern = re.compile(
            r"^\s*(?:"
            + re.escape(key)
            + r'|"'
            + re.escape(key)
            + r'"|\''
            + re.escape(key)
            + r"')\s*="
        )
        for number in range(block.start, block.end + 1):
            if pattern.match(self.lines[number - 1]):
                return number
        return None

    def line(
        self,
        key: str | None = None,
        table: str | None = None,
        index: int | None = None,
        value: str | None = None,
    ) -> int:
        """Best line for `key` in `[table]` / the `index`-th `[[table]]`, at `value` if given.

        Falls back to the table header, then to line 1, so a problem always has a line.
        """
        block = self._block(table, index)
        if block is None:
            if table is None:
                return 1
            # A key that is itself a table, such as [where_by_ward].
            block = self._block(None, None)
            return 1 if block is None else (self._key_in(block, table) or 1)
        if key is None:
            return block.start
        found = self._key_in(block, key)
        if found is None:
            sub = self._block(f"{table}.{key}" if table else key, None)
            return sub.start if sub else block.start
        if value is not None:
            for literal in (json.dumps(value, ensure_ascii=False), f"'{value}'"):
                for number in range(found, block.end + 1):
                    if literal in self.lines[number - 1]:
                        return number
        return found

    def nested(self, table: str, index: int, sub: str, sub_index: int) -> int | None:
        """The global index of the `sub_index`-th `[[table.sub]]` under the `index`-th `[[table]]`.

        For `SourceLines.line(key, f"{table}.{sub}", nested(...))`; None when not written so.
        """
        parents = [b for b in self.blocks if b.header == table]
        if index >= len(parents):
            return None
        start = parents[index].start
        end = parents[index + 1].start if index + 1 < len(parents) else len(self.lines) + 1
        children = [b for b in self.blocks if b.header == f"{table}.{sub}"]
        inside = [n for n, b in enumerate(children) if start < b.start < end]
        return inside[sub_index] if sub_index < len(inside) else None

    def has_key(self, key: str) -> bool:
        """True when `key = ...` is written at the top level of the file."""
        block = self._block(None, None)
        return block is not None and self._key_in(block, key) is not None

    def has_table(self, name: str) -> bool:
        """True when the file has a `[name]` or `[[name]]` header."""
        return self._block(name, None) is not None

    def subkey(self, table: str, key: str) -> int:
        """The line of `key` inside the plain table `[table]`, else the header's line."""
        block = self._block(table, None)
        if block is None:
            return self.line(table)
        return self._key_in(block, key) or block.start
