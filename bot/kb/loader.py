"""Read `knowledge_base/` into the typed `KnowledgeBase`, collecting every problem with its line.

`read_kb` returns what could be built plus the problems (the check uses it); `load_kb` raises
`KBError` when any problem is an error (the bot uses it).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import MappingProxyType

from bot.kb.dated import read_dated_sections, read_faqs
from bot.kb.lexicon import lexicon_files, read_lexicon
from bot.kb.model import KnowledgeBase, MenuItem, Office, OldWard, Topic, Ward
from bot.kb.reader import (
    MENU_FIELDS,
    OFFICE_FIELDS,
    OLD_WARD_FIELDS,
    TABLE,
    TEXT,
    TEXTS,
    TOPIC_FIELDS,
    WARD_FIELDS,
    KBError,
    Problem,
    Reader,
)

__all__ = ["KBError", "Problem", "kb_files", "load_kb", "read_kb"]


def kb_files(path: str | Path) -> list[Path]:
    """Every file the loader reads, sorted (editor backups and hidden files excluded)."""
    root = Path(path)
    files = [root / "wards.toml", root / "vocabulary.toml"]
    for folder in ("topics", "texts"):
        if (root / folder).is_dir():
            files += sorted(p for p in (root / folder).glob("*.toml") if not p.name.startswith("."))
    files += lexicon_files(root)
    return [f for f in files if f.is_file()]


def _read_topic(reader: Reader, file: Path, wards: set[str] | None) -> Topic | None:
    """One topic file as a Topic, or None when it has an error."""
    data, source = reader.parse(file)
    if data is None:
        return None
    raw_faqs = data.pop("faq", [])
    versions, dated_ok = read_dated_sections(reader, file, source, data)
    skipped = data.get("not_applicable")
    skipped = (
        frozenset(s for s in skipped if isinstance(s, str)) if isinstance(skipped, list) else ()
    )
    values = reader.fields(file, source, data, TOPIC_FIELDS, optional=frozenset(skipped))
    faqs, faqs_ok = read_faqs(reader, file, source, raw_faqs)
    if values is None or not dated_ok or not faqs_ok:
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
    return Topic(**values, faqs=faqs, versions=MappingProxyType(versions), path=reader.name(file))


def _read_wards(reader: Reader, file: Path) -> tuple[dict, dict, tuple, dict]:
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


def _read_vocabulary(reader: Reader, file: Path) -> tuple[dict, dict]:
    """vocabulary.toml as (abbreviations, phrases); both empty when the file is absent."""
    if not file.is_file():
        return {}, {}
    data, source = reader.parse(file)
    if data is None:
        return {}, {}
    spec = {"abbreviations": (TABLE, False), "phrases": (TABLE, False)}
    values = reader.fields(file, source, data, spec) or {}
    return dict(values.get("abbreviations", {})), dict(values.get("phrases", {}))


def _read_texts(reader: Reader, folder: Path) -> tuple[dict, tuple[MenuItem, ...]]:
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
    reader = Reader(root)
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
        lexicon=read_lexicon(reader, root),
        version=reader.digest.hexdigest()[:12],
        loaded_at=now,
    )
    return kb, reader.problems


def _empty(now: dt.datetime | None) -> KnowledgeBase:
    """A knowledge base with nothing in it."""
    empty = MappingProxyType({})
    return KnowledgeBase(*(empty, empty, empty, (), empty, empty, empty, empty, ()), loaded_at=now)


def load_kb(path: str | Path, now: dt.datetime | None = None) -> KnowledgeBase:
    """The knowledge base at `path`; raises KBError listing every problem if any is an error."""
    kb, problems = read_kb(path, now)
    if any(p.severity == "error" for p in problems):
        raise KBError(problems)
    return kb
