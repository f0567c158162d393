"""Reading one TOML file into checked values, noting each problem against its `file:line`.

Messages are in Vietnamese because the staff who edit the files read them.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from bot.kb.model import ANSWER_SECTIONS
from bot.kb.source import SourceLines
from bot.kb.syntax import explain

TEXT, TEXTS, DATE, TABLE, SECTIONS, FLAG = "text", "texts", "date", "table", "sections", "flag"

TOPIC_FIELDS = {
    "id": (TEXT, True),
    "title": (TEXT, True),
    "short_title": (TEXT, False),
    "category": (TEXT, True),
    "authority": (TEXT, True),
    "reviewed": (DATE, True),
    "legal_basis": (TEXTS, False),
    "sources": (TEXTS, True),
    "not_applicable": (SECTIONS, False),
    "general": (FLAG, False),
    "questions": (TEXTS, True),
    "summary": (TEXT, True),
    "documents": (TEXTS, True),
    "duration": (TEXT, True),
    "fee": (TEXT, True),
    "where": (TEXT, True),
    "online": (TEXT, True),
    "online_link": (TEXT, False),
    "eligibility": (TEXT, False),
    "steps": (TEXTS, False),
    "notes": (TEXT, False),
    "where_by_ward": (TABLE, False),
}
"""Every key a topic file may have: kind and whether it must be filled in."""

WARD_FIELDS = {
    "id": (TEXT, True),
    "name": (TEXT, True),
    "office": (TEXT, True),
    "address": (TEXT, False),
    "aliases": (TEXTS, False),
    "phone": (TEXT, False),
    "notes": (TEXT, False),
}
OLD_WARD_FIELDS = {
    "id": (TEXT, True),
    "name": (TEXT, True),
    "new_wards": (TEXTS, True),
    "aliases": (TEXTS, False),
    "note": (TEXT, False),
}
OFFICE_FIELDS = {
    "id": (TEXT, True),
    "name": (TEXT, True),
    "address": (TEXT, True),
    "handles": (TEXT, False),
    "phone": (TEXT, False),
    "hours": (TEXT, False),
}
MENU_FIELDS = {"title": (TEXT, True), "payload": (TEXT, True)}

_EMPTY = {
    TEXT: "",
    TEXTS: (),
    DATE: None,
    TABLE: MappingProxyType({}),
    SECTIONS: frozenset(),
    FLAG: False,
}
_KIND_NAMES = {
    TEXT: 'một đoạn văn bản trong ngoặc kép, ví dụ "..."',
    TEXTS: 'một danh sách văn bản, ví dụ ["...", "..."]',
    DATE: "một ngày dạng 2026-11-20",
    TABLE: 'một bảng các dòng khóa = "văn bản"',
    SECTIONS: 'một danh sách tên mục, ví dụ ["fee"]',
    FLAG: "true hoặc false",
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong (or worth a look) in a knowledge-base file."""

    file: str
    line: int
    severity: str  # 'error' | 'warning'
    message: str
    unreadable: bool = False  # the file could not be read at all (syntax, encoding)

    def __str__(self) -> str:
        """`file:line: message`, with warnings marked as such."""
        prefix = "cảnh báo: " if self.severity == "warning" else ""
        return f"{self.file}:{self.line}: {prefix}{self.message}"


class KBError(Exception):
    """The knowledge base has at least one error; `problems` lists all of them."""

    def __init__(self, problems: list[Problem]) -> None:
        """Keep the problems; the message is their first lines."""
        self.problems = list(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        shown = "\n".join(str(p) for p in errors[:10])
        more = f"\n... và {len(errors) - 10} lỗi khác" if len(errors) > 10 else ""
        super().__init__(f"{len(errors)} lỗi trong cơ sở tri thức:\n{shown}{more}")


class Reader:
    """Reads files one by one, noting problems against `file:line`."""

    def __init__(self, root: Path) -> None:
        """Start with no problems under `root`."""
        self.root = root
        self.problems: list[Problem] = []
        self.digest = hashlib.sha1()

    def name(self, file: Path) -> str:
        """How a file is named in messages: the KB folder as given, then the relative path."""
        return str(self.root / file.relative_to(self.root))

    def add(self, file: Path, line: int, message: str, severity: str = "error") -> None:
        """Record one problem."""
        self.problems.append(Problem(self.name(file), line, severity, message))

    def parse(self, file: Path) -> tuple[dict | None, SourceLines]:
        """The TOML table of `file`, or None after recording why it cannot be read."""
        try:
            raw = file.read_bytes()
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            self.unreadable(file, 1, "tệp không phải văn bản UTF-8; hãy lưu lại với mã hóa UTF-8")
            return None, SourceLines("")
        except OSError as exc:
            self.unreadable(file, 1, f"không đọc được tệp: {exc.strerror}")
            return None, SourceLines("")
        self.digest.update(str(file.relative_to(self.root)).encode() + b"\0" + raw + b"\0")
        source = SourceLines(text)
        try:
            return tomllib.loads(text), source
        except tomllib.TOMLDecodeError as exc:
            self.unreadable(file, *explain(str(exc), text))
            return None, source

    def unreadable(self, file: Path, line: int, message: str) -> None:
        """Record that `file` cannot be read at all (the root cause of what follows from it)."""
        self.problems.append(Problem(self.name(file), line, "error", message, unreadable=True))

    def fields(
        self,
        file: Path,
        source: SourceLines,
        data: dict,
        spec: dict,
        table: str | None = None,
        index: int | None = None,
        optional: frozenset[str] = frozenset(),
    ) -> dict | None:
        """Check `data` against `spec`; the cleaned values, or None if a required one is bad."""
        ok = True
        values: dict = {}
        for key in data:
            if key not in spec:
                close = difflib.get_close_matches(key, list(spec), n=1)
                hint = f" (có phải '{close[0]}'?)" if close else ""
                self.add(file, source.line(key, table, index), f"khóa lạ '{key}'{hint}")
        for key, (kind, required) in spec.items():
            line = source.line(key, table, index)
            if key not in data:
                if required and key not in optional:
                    self.add(file, source.line(None, table, index), f"thiếu '{key}'")
                    ok = False
                values[key] = _EMPTY[kind]
                continue
            value = self.value(file, source, key, data[key], kind, line, table, index)
            if value is None:
                ok = False
                continue
            if required and key not in optional and not value:
                self.add(file, line, f"'{key}' đang để trống")
                ok = False
            values[key] = value
        return values if ok else None

    def value(
        self,
        file: Path,
        source: SourceLines,
        key: str,
        raw: object,
        kind: str,
        line: int,
        table: str | None,
        index: int | None,
    ) -> object:
        """`raw` converted to the kind's Python value, or None after recording a type problem."""
        wrong = f"'{key}' phải là {_KIND_NAMES[kind]}"
        if kind == TEXT:
            if isinstance(raw, str):
                return raw.strip()
        elif kind == FLAG:
            if isinstance(raw, bool):
                return raw
        elif kind == DATE:
            if isinstance(raw, dt.datetime):
                return raw.date()
            if isinstance(raw, dt.date):
                return raw
            if isinstance(raw, str):
                try:
                    return dt.date.fromisoformat(raw.strip())
                except ValueError:
                    pass
        elif kind in (TEXTS, SECTIONS):
            if isinstance(raw, list):
                items = []
                for number, item in enumerate(raw, start=1):
                    if not isinstance(item, str) or not item.strip():
                        at = source.line(key, table, index, item if isinstance(item, str) else None)
                        self.add(file, at, f"'{key}': mục thứ {number} phải là văn bản không trống")
                        return None
                    items.append(item.strip())
                if kind == SECTIONS:
                    for item in items:
                        if item not in ANSWER_SECTIONS:
                            self.add(
                                file,
                                source.line(key, table, index, item),
                                f"'{key}': '{item}' không phải tên mục trả lời "
                                f"({', '.join(ANSWER_SECTIONS)})",
                            )
                            return None
                    return frozenset(items)
                return tuple(items)
        elif kind == TABLE:
            if isinstance(raw, dict):
                bad = [k for k, v in raw.items() if not isinstance(v, str) or not v.strip()]
                for k in bad:
                    self.add(
                        file, source.subkey(key, k), f"'{key}.{k}' phải là văn bản không trống"
                    )
                if bad:
                    return None
                return MappingProxyType({k: v.strip() for k, v in raw.items()})
        self.add(file, line, wrong)
        return None
