"""Read `knowledge_base/` into the typed `KnowledgeBase`, collecting every problem with its line.

`read_kb` returns what could be built plus the problems (the check uses it); `load_kb` raises
`KBError` when any problem is an error (the bot uses it). Messages are in Vietnamese because the
staff who edit the files read them.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from bot.kb.model import (
    ANSWER_SECTIONS,
    KnowledgeBase,
    MenuItem,
    Office,
    OldWard,
    Topic,
    Ward,
)
from bot.kb.source import SourceLines

TEXT, TEXTS, DATE, TABLE, SECTIONS = "text", "texts", "date", "table", "sections"

TOPIC_FIELDS = {
    "id": (TEXT, True),
    "title": (TEXT, True),
    "category": (TEXT, True),
    "authority": (TEXT, True),
    "reviewed": (DATE, True),
    "legal_basis": (TEXTS, False),
    "sources": (TEXTS, True),
    "not_applicable": (SECTIONS, False),
    "questions": (TEXTS, True),
    "summary": (TEXT, True),
    "documents": (TEXTS, True),
    "duration": (TEXT, True),
    "fee": (TEXT, True),
    "where": (TEXT, True),
    "online": (TEXT, True),
    "online_link": (TEXT, False),
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

_EMPTY = {TEXT: "", TEXTS: (), DATE: None, TABLE: MappingProxyType({}), SECTIONS: frozenset()}
_SYNTAX_LINE = re.compile(r"at line (\d+)")
_KIND_NAMES = {
    TEXT: 'một đoạn văn bản trong ngoặc kép, ví dụ "..."',
    TEXTS: 'một danh sách văn bản, ví dụ ["...", "..."]',
    DATE: "một ngày dạng 2026-11-20",
    TABLE: 'một bảng các dòng khóa = "văn bản"',
    SECTIONS: 'một danh sách tên mục, ví dụ ["fee"]',
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong (or worth a look) in a knowledge-base file."""

    file: str
    line: int
    severity: str  # 'error' | 'warning'
    message: str

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


def kb_files(path: str | Path) -> list[Path]:
    """Every file the loader reads, sorted (editor backups and hidden files excluded)."""
    root = Path(path)
    files = [root / "wards.toml", root / "vocabulary.toml"]
    for folder in ("topics", "texts"):
        if (root / folder).is_dir():
            files += sorted(p for p in (root / folder).glob("*.toml") if not p.name.startswith("."))
    return [f for f in files if f.is_file()]


class _Reader:
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
            self.add(file, 1, "tệp không phải văn bản UTF-8; hãy lưu lại với mã hóa UTF-8")
            return None, SourceLines("")
        except OSError as exc:
            self.add(file, 1, f"không đọc được tệp: {exc.strerror}")
            return None, SourceLines("")
        self.digest.update(str(file.relative_to(self.root)).encode() + b"\0" + raw + b"\0")
        source = SourceLines(text)
        try:
            return tomllib.loads(text), source
        except tomllib.TOMLDecodeError as exc:
            found = _SYNTAX_LINE.search(str(exc))
            line = int(found.group(1)) if found else max(len(source.lines), 1)
            self.add(file, line, f"lỗi cú pháp TOML: {exc}")
            return None, source

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


def _read_topic(reader: _Reader, file: Path, wards: set[str] | None) -> Topic | None:
    """One topic file as a Topic, or None when it has an error."""
    data, source = reader.parse(file)
    if data is None:
        return None
    skipped = data.get("not_applicable")
    skipped = (
        frozenset(s for s in skipped if isinstance(s, str)) if isinstance(skipped, list) else ()
    )
    values = reader.fields(file, source, data, TOPIC_FIELDS, optional=frozenset(skipped))
    if values is None:
        return None
    if values["id"] != file.stem:
        reader.add(
            file,
            source.line("id"),
            f"id '{values['id']}' phải trùng tên tệp (đổi thành id = \"{file.stem}\")",
        )
        return None
    ok = True
    for ward in values.get("where_by_ward", {}):
        if wards is not None and ward not in wards:
            known = ", ".join(sorted(wards))
            reader.add(
                file,
                source.subkey("where_by_ward", ward),
                f"'where_by_ward': '{ward}' không phải mã phường trong wards.toml ({known})",
            )
            ok = False
    if not ok:
        return None
    return Topic(**values, path=reader.name(file))


def _read_wards(reader: _Reader, file: Path) -> tuple[dict, dict, tuple, dict]:
    """wards.toml as (wards, old wards, offices, contact)."""
    wards: dict[str, Ward] = {}
    old: dict[str, OldWard] = {}
    contact: dict[str, str] = {}
    if not file.is_file():
        reader.add(file, 1, "thiếu tệp wards.toml (danh sách phường, phường cũ và nơi tiếp nhận)")
        return wards, old, (), contact
    data, source = reader.parse(file)
    if data is None:
        return wards, old, (), contact
    specs = {
        "ward": (WARD_FIELDS, Ward),
        "old_ward": (OLD_WARD_FIELDS, OldWard),
        "office": (OFFICE_FIELDS, Office),
    }
    for key in data:
        if key not in (*specs, "contact"):
            reader.add(
                file,
                source.line(key, key),
                f"khóa lạ '{key}' (dùng [[ward]], [[old_ward]], [[office]] hoặc [contact])",
            )
    built: dict[str, list] = {}
    for table, (spec, cls) in specs.items():
        items = data.get(table, [])
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            reader.add(file, source.line(None, table), f"'{table}' phải được viết là [[{table}]]")
            continue
        seen: set[str] = set()
        for index, item in enumerate(items):
            values = reader.fields(file, source, item, spec, table, index)
            if values is None:
                continue
            if values["id"] in seen:
                reader.add(file, source.line("id", table, index), f"trùng id '{values['id']}'")
                continue
            seen.add(values["id"])
            built.setdefault(table, []).append(cls(**values))
    wards = {w.id: w for w in built.get("ward", [])}
    for index, item in enumerate(built.get("old_ward", [])):
        unknown = [w for w in item.new_wards if w not in wards]
        for ward in unknown:
            reader.add(
                file,
                source.line("new_wards", "old_ward", index, ward),
                f"'new_wards': '{ward}' không phải id của một [[ward]]",
            )
        if not unknown:
            old[item.id] = item
    raw_contact = data.get("contact", {})
    values = reader.value(
        file, source, "contact", raw_contact, TABLE, source.line("contact"), None, None
    )
    if values is not None:
        contact = dict(values)
    return wards, old, tuple(built.get("office", [])), contact


def _read_vocabulary(reader: _Reader, file: Path) -> tuple[dict, dict]:
    """vocabulary.toml as (abbreviations, phrases); both empty when the file is absent."""
    if not file.is_file():
        return {}, {}
    data, source = reader.parse(file)
    if data is None:
        return {}, {}
    spec = {"abbreviations": (TABLE, False), "phrases": (TABLE, False)}
    values = reader.fields(file, source, data, spec) or {}
    return dict(values.get("abbreviations", {})), dict(values.get("phrases", {}))


def _read_texts(reader: _Reader, folder: Path) -> tuple[dict, tuple[MenuItem, ...]]:
    """texts/*.toml merged into one mapping (keys unique across files) and the menu."""
    texts: dict[str, str | tuple[str, ...]] = {}
    where: dict[str, str] = {}
    menu: list[MenuItem] = []
    files = (
        sorted(p for p in folder.glob("*.toml") if not p.name.startswith("."))
        if folder.is_dir()
        else []
    )
    for file in files:
        data, source = reader.parse(file)
        if data is None:
            continue
        for key, raw in data.items():
            line = source.line(key)
            if key in where:
                reader.add(
                    file,
                    line,
                    f"khóa '{key}' đã có trong {where[key]}; mỗi khóa chỉ được khai báo ở một tệp",
                )
                continue
            where[key] = reader.name(file)
            if key == "menu":
                if not isinstance(raw, list) or not all(isinstance(i, dict) for i in raw):
                    reader.add(
                        file,
                        source.line(None, "menu"),
                        "'menu' phải được viết là các bảng [[menu]] có title và payload",
                    )
                    continue
                for index, item in enumerate(raw):
                    values = reader.fields(file, source, item, MENU_FIELDS, "menu", index)
                    if values is not None:
                        menu.append(MenuItem(**values))
                continue
            kind = TEXTS if isinstance(raw, list) else TEXT
            value = reader.value(file, source, key, raw, kind, line, None, None)
            if value is not None and not value:
                reader.add(file, line, f"'{key}' đang để trống")
            elif value is not None:
                texts[key] = value
    return texts, tuple(menu)


def read_kb(
    path: str | Path, now: dt.datetime | None = None
) -> tuple[KnowledgeBase, list[Problem]]:
    """Everything that could be read from `path`, and every problem found on the way."""
    root = Path(path)
    reader = _Reader(root)
    if not root.is_dir():
        reader.problems.append(
            Problem(str(root), 1, "error", "không tìm thấy thư mục cơ sở tri thức")
        )
        return _empty(now), reader.problems
    wards, old_wards, offices, contact = _read_wards(reader, root / "wards.toml")
    ward_ids = set(wards) if (root / "wards.toml").is_file() and wards else None
    topics: dict[str, Topic] = {}
    topic_files = (
        sorted(p for p in (root / "topics").glob("*.toml") if not p.name.startswith("."))
        if (root / "topics").is_dir()
        else []
    )
    if not topic_files:
        reader.add(root / "topics", 1, "chưa có tệp chủ đề nào trong thư mục topics/")
    for file in topic_files:
        topic = _read_topic(reader, file, ward_ids)
        if topic is not None:
            topics[topic.id] = topic
    abbreviations, phrases = _read_vocabulary(reader, root / "vocabulary.toml")
    texts, menu = _read_texts(reader, root / "texts")
    kb = KnowledgeBase(
        topics=MappingProxyType(topics),
        wards=MappingProxyType(wards),
        old_wards=MappingProxyType(old_wards),
        offices=offices,
        contact=MappingProxyType(contact),
        abbreviations=MappingProxyType(abbreviations),
        phrases=MappingProxyType(phrases),
        texts=MappingProxyType(texts),
        menu=menu,
        version=reader.digest.hexdigest()[:12],
        loaded_at=now,
    )
    return kb, reader.problems


def _empty(now: dt.datetime | None) -> KnowledgeBase:
    """A knowledge base with nothing in it."""
    empty = MappingProxyType({})
    return KnowledgeBase(empty, empty, empty, (), empty, empty, empty, empty, (), "", now)


def load_kb(path: str | Path, now: dt.datetime | None = None) -> KnowledgeBase:
    """The knowledge base at `path`; raises KBError listing every problem if any is an error."""
    kb, problems = read_kb(path, now)
    if any(p.severity == "error" for p in problems):
        raise KBError(problems)
    return kb
