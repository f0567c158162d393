"""Reading the dated versions of topic sections and the `[[faq]]` entries of a topic file.

A section written as `[[fee]]` tables (or `fee = [{...}, ...]`) becomes a tuple of `Version`s;
its plain value is replaced by the undated view so the rest of the loader sees the usual types.
Problems that do not depend on today's date (types, order of dates, overlaps, FAQ ids) are
noted here; those that do (expired, expiring soon) are `kb check` rules in `bot.kb.rules`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

from bot.kb.model import DATED_SECTIONS, Faq, Version, pick_version
from bot.kb.reader import DATE, TEXT, TEXTS, TOPIC_FIELDS, Reader
from bot.kb.source import SourceLines

VERSION_KEYS = ("text", "valid_from", "valid_until")
FAQ_FIELDS = {
    "id": (TEXT, True),
    "question": (TEXT, True),
    "phrasings": (TEXTS, True),
    "answer": (TEXT, True),
    "sources": (TEXTS, False),
    "valid_from": (DATE, False),
    "valid_until": (DATE, False),
}
"""Every key of a `[[faq]]` entry: kind and whether it must be filled in."""

FAQ_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")

LineOf = Callable[[str | None, int], int]
"""Where key (None: the table itself) of the version at an index is written."""
LineOf1 = Callable[[str], int]
"""Where a key of one table is written."""


def is_dated(raw: object) -> bool:
    """True when a section is written as versions: a non-empty list of tables."""
    return isinstance(raw, list) and bool(raw) and all(isinstance(i, dict) for i in raw)


def _misplaced(reader: Reader, file: Path, line: int, key: str, table: str) -> None:
    """A topic key written after `[[table]]`, which TOML makes part of that table."""
    reader.add(
        file,
        line,
        f"'{key}' nằm sau [[{table}]] nên bị coi là một phần của bảng đó; hãy chuyển dòng "
        f"{key} = ... lên trên, trước mọi bảng [[...]] (các bảng [[...]] phải ở cuối tệp)",
    )


def _dates(
    reader: Reader, file: Path, source: SourceLines, item: dict, label: str, line_of: LineOf1
) -> tuple[dt.date | None, dt.date | None] | None:
    """`valid_from` / `valid_until` of one table, or None after noting a problem."""
    found: list[dt.date | None] = []
    for key in ("valid_from", "valid_until"):
        raw = item.get(key)
        value = (
            None
            if raw is None
            else reader.value(file, source, key, raw, DATE, line_of(key), None, None)
        )
        if raw is not None and value is None:
            return None
        found.append(value)
    start, end = found
    if start and end and start > end:
        reader.add(
            file,
            line_of("valid_from"),
            f"{label}: valid_from ({start:%d/%m/%Y}) đứng sau valid_until ({end:%d/%m/%Y})",
        )
        return None
    return start, end


def read_versions(
    reader: Reader,
    file: Path,
    source: SourceLines,
    label: str,
    items: list[dict],
    kind: str,
    line_of: LineOf,
    table: str,
) -> tuple[Version, ...] | None:
    """The versions written in `items` (the `[[table]]`s), or None after noting every problem."""
    versions: list[Version] = []
    lines: list[int] = []
    ok = True
    for index, item in enumerate(items):
        number = f"{label}, phiên bản thứ {index + 1}"
        for key in item:
            if key in VERSION_KEYS:
                continue
            ok = False
            if key in TOPIC_FIELDS or key == "faq":
                _misplaced(reader, file, line_of(key, index), key, table)
            else:
                hint = "chỉ dùng text, valid_from, valid_until"
                reader.add(file, line_of(key, index), f"{number}: khóa lạ '{key}' ({hint})")
        text = None
        if "text" not in item:
            reader.add(file, line_of(None, index), f"{number}: thiếu 'text'")
        else:
            text = reader.value(
                file, source, "text", item["text"], kind, line_of("text", index), None, None
            )
            if text is not None and not text:
                reader.add(file, line_of("text", index), f"{number}: 'text' đang để trống")
                text = None
        dates = _dates(
            reader, file, source, item, number, lambda key, index=index: line_of(key, index)
        )
        if text is None or dates is None:
            ok = False
            continue
        versions.append(Version(text, *dates))
        lines.append(line_of(None, index))
    if not ok:
        return None
    return tuple(versions) if _no_overlap(reader, file, label, versions, lines) else None


def _no_overlap(
    reader: Reader, file: Path, label: str, versions: list[Version], lines: list[int]
) -> bool:
    """True when no two versions are in force on the same day; each overlap noted otherwise."""
    ok = True
    order = sorted(range(len(versions)), key=lambda n: versions[n].valid_from or dt.date.min)
    for before, after in zip(order, order[1:], strict=False):
        first, second = versions[before], versions[after]
        if (first.valid_until or dt.date.max) >= (second.valid_from or dt.date.min):
            ok = False
            reader.add(
                file,
                lines[after],
                f"{label}: phiên bản thứ {after + 1} ({_span(second)}) trùng thời gian với "
                f"phiên bản thứ {before + 1} ở dòng {lines[before]} ({_span(first)}); mỗi ngày "
                "chỉ được có một phiên bản: sửa valid_from / valid_until cho nối tiếp nhau",
            )
    return ok


def _span(version: Version) -> str:
    """`từ dd/mm/yyyy đến hết dd/mm/yyyy` for a message."""
    start, end = version.valid_from, version.valid_until
    since = f"từ {start:%d/%m/%Y}" if start else "không ngày bắt đầu"
    until = f"đến hết {end:%d/%m/%Y}" if end else "không ngày kết thúc"
    return f"{since}, {until}"


def read_dated_sections(
    reader: Reader, file: Path, source: SourceLines, data: dict
) -> tuple[dict[str, tuple[Version, ...]], bool]:
    """The dated sections of a topic; `data` gets their undated views as plain values."""
    found: dict[str, tuple[Version, ...]] = {}
    ok = True
    for key in DATED_SECTIONS:
        if not is_dated(data.get(key)):
            continue

        def line_of(sub: str | None, index: int, key: str = key) -> int:
            return source.line(sub, key, index)

        versions = read_versions(
            reader, file, source, f"'{key}'", data[key], TOPIC_FIELDS[key][0], line_of, key
        )
        if versions is None:  # the topic is refused; a stand-in spares a knock-on "thiếu"
            ok = False
            data[key] = ["?"] if TOPIC_FIELDS[key][0] == TEXTS else "?"
            continue
        found[key] = versions
        text = pick_version(versions, None).text
        data[key] = list(text) if isinstance(text, tuple) else text
    return found, ok


def read_faqs(
    reader: Reader, file: Path, source: SourceLines, raw: object
) -> tuple[tuple[Faq, ...], bool]:
    """The `[[faq]]` entries of a topic, and False when any of them has an error."""
    if not isinstance(raw, list) or not all(isinstance(i, dict) for i in raw):
        reader.add(file, source.line(None, "faq"), "'faq' phải được viết là các bảng [[faq]]")
        return (), False
    faqs: list[Faq] = []
    ok = True
    seen: dict[str, int] = {}
    for index, item in enumerate(raw):
        faq = _read_faq(reader, file, source, dict(item), index)
        if faq is None:
            ok = False
            continue
        line = source.line("id", "faq", index)
        if faq.id in seen:
            reader.add(file, line, f"[[faq]]: trùng id '{faq.id}' (đã có ở dòng {seen[faq.id]})")
            ok = False
            continue
        seen[faq.id] = line
        faqs.append(faq)
    return tuple(faqs), ok


def _read_faq(
    reader: Reader, file: Path, source: SourceLines, item: dict, index: int
) -> Faq | None:
    """One `[[faq]]` entry, or None after noting its problems."""
    ok = True
    for key in [k for k in item if k not in FAQ_FIELDS and (k in TOPIC_FIELDS or k == "faq")]:
        _misplaced(reader, file, source.line(key, "faq", index), key, "faq")
        item.pop(key)
        ok = False
    answers: tuple[Version, ...] = ()
    if is_dated(item.get("answer")):

        def line_of(sub: str | None, number: int) -> int:
            nested = source.nested("faq", index, "answer", number)
            if nested is None:
                return source.line("answer", "faq", index)
            return source.line(sub, "faq.answer", nested)

        label = f"'answer' của [[faq]] thứ {index + 1}"
        versions = read_versions(
            reader, file, source, label, item["answer"], TEXT, line_of, "faq.answer"
        )
        if versions is None:
            return None
        answers = versions
        item["answer"] = pick_version(versions, None).text
    values = reader.fields(file, source, item, FAQ_FIELDS, "faq", index)
    if values is None:
        return None
    where = source.line("id", "faq", index)
    if not FAQ_ID.match(values["id"]):
        reader.add(
            file,
            where,
            f"[[faq]]: id '{values['id']}' chỉ được gồm chữ thường không dấu, số và dấu "
            'gạch ngang, ví dụ id = "a1-co-thoi-han"',
        )
        ok = False
    dates = _dates(
        reader,
        file,
        source,
        item,
        f"[[faq]] '{values['id']}'",
        lambda key: source.line(key, "faq", index),
    )
    if dates is None or not ok:
        return None
    return Faq(**values, answers=answers)
