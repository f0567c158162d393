"""`kb check` rules for dated versions, FAQ entries, phone-sized answers and form of address.

Each rule returns `Problem`s against `file:line`, in Vietnamese like the loader's messages.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable
from pathlib import Path

from bot.kb.model import Faq, KnowledgeBase, Topic, Version
from bot.kb.reader import Problem
from bot.kb.render import RENDERABLE, ZALO_TEXT_LIMIT, render_section, render_summary
from bot.kb.source import SourceLines

EXPIRY_WARNING_DAYS = 30
"""Days before a version's `valid_until` when `kb check` starts warning (issue 10)."""
FAQ_MIN_PHRASINGS = 3
FAQ_ANSWER_MAX = 600
FAQ_QUESTION_MAX = 80
OVERVIEW_MAX = 600
"""Title and summary together: about one phone screen (issue 10 measured 950-1,650 before)."""
SECTION_MAX = 900
"""A section answer past this takes more than a screen and a half on a phone."""

ADDRESS_KEY = "address"
AVOID_KEY = "address_avoid"
"""Keys of texts/general.toml: the one form of address, and the forms the check warns about."""

_NOT_ADDRESS = ("bè", "đời", "trai", "gái", "học", "thân", "cùng")
"""Words after "bạn" that make a noun ("bạn đời"), not a way of addressing the citizen."""
_SKIPPED_KEYS = re.compile(r"^\s*(questions|phrasings|address|address_avoid|payload)\s*=")


def fold(text: str) -> str:
    """A phrasing compared loosely: lower case, no diacritics, `đ` as `d`, words only."""
    text = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    return " ".join(re.findall(r"[^\W_]+", text))


def _version_lines(
    lines: SourceLines, table: str, index: int | None = None
) -> list[tuple[str, int]]:
    """Where each version of `table` (of the `index`-th FAQ when given) starts: (table, index)."""
    if index is None:
        return [(table, n) for n in range(len([b for b in lines.blocks if b.header == table]))]
    found, number = [], 0
    while (nested := lines.nested("faq", index, "answer", number)) is not None:
        found.append(("faq.answer", nested))
        number += 1
    return found


def _expiry(
    version: Version, what: str, line: int, today: dt.date, strict: bool, path: str
) -> list[Problem]:
    """The expired error (a warning when not `strict`) or the 30-day warning for one version."""
    end = version.valid_until
    if end is None:
        return []
    if end < today:
        return [
            Problem(
                path,
                line,
                "error" if strict else "warning",
                f"{what} đã hết hiệu lực (valid_until = {end:%d/%m/%Y}) nhưng vẫn còn trong tệp; "
                "trợ lý không còn nói nội dung này: hãy xóa phiên bản đã hết hạn",
            )
        ]
    left = (end - today).days
    if left <= EXPIRY_WARNING_DAYS:
        after = end + dt.timedelta(days=1)
        return [
            Problem(
                path,
                line,
                "warning",
                f"{what} hết hiệu lực sau ngày {end:%d/%m/%Y} (còn {left} ngày): hãy kiểm tra "
                f"quy định áp dụng từ {after:%d/%m/%Y} và có phiên bản mới với "
                f"valid_from = {after.isoformat()}",
            )
        ]
    return []


def dated_rules(
    topic: Topic, lines: SourceLines, today: dt.date, strict: bool = True
) -> list[Problem]:
    """Expired versions (error), versions ending within 30 days and sections with no version
    in force today (warnings), for sections and FAQ entries."""
    found: list[Problem] = []
    for section, versions in topic.versions.items():
        where = _version_lines(lines, section)
        for number, version in enumerate(versions):
            table, index = where[number] if number < len(where) else (section, None)
            line = lines.line("valid_until", table, index)
            what = f"'{section}', phiên bản thứ {number + 1},"
            found += _expiry(version, what, line, today, strict, topic.path)
        if section not in topic.not_applicable and not topic.has_section(section, today):
            found.append(
                Problem(
                    topic.path,
                    lines.line(None, section, 0),
                    "warning",
                    f"'{section}' không có phiên bản nào áp dụng ngày {today:%d/%m/%Y}: trợ lý "
                    "sẽ trả lời chưa có thông tin",
                )
            )
    for index, faq in enumerate(topic.faqs):
        entry = Version(faq.answer, faq.valid_from, faq.valid_until)
        line = lines.line("valid_until", "faq", index)
        found += _expiry(entry, f"[[faq]] '{faq.id}'", line, today, strict, topic.path)
        where = _version_lines(lines, "faq", index)
        for number, version in enumerate(faq.answers):
            table, at = where[number] if number < len(where) else ("faq", index)
            line = lines.line("valid_until", table, at)
            what = f"[[faq]] '{faq.id}', câu trả lời thứ {number + 1},"
            found += _expiry(version, what, line, today, strict, topic.path)
    return found


def _answer_lines(faq: Faq, index: int, lines: SourceLines) -> list[tuple[str, int]]:
    """Every answer text of the `index`-th entry (each dated version) with its line."""
    if not faq.answers:
        return [(faq.answer, lines.line("answer", "faq", index))]
    where = _version_lines(lines, "faq", index)
    return [
        (str(v.text), lines.line("text", *where[n]) if n < len(where) else lines.line("answer"))
        for n, v in enumerate(faq.answers)
    ]


def faq_rules(topic: Topic, lines: SourceLines) -> list[Problem]:
    """Enough phrasings, short answers and questions, no phrasing twice inside the topic."""
    found: list[Problem] = []

    def add(line: int, message: str, severity: str = "error") -> None:
        found.append(Problem(topic.path, line, severity, message))

    owner = {fold(q): ("questions", lines.line("questions", value=q)) for q in topic.questions}
    for index, faq in enumerate(topic.faqs):
        name = f"[[faq]] '{faq.id}'"
        if len(faq.phrasings) < FAQ_MIN_PHRASINGS:
            add(
                lines.line("phrasings", "faq", index),
                f"{name}: 'phrasings' chỉ có {len(faq.phrasings)} cách hỏi; cần ít nhất "
                f"{FAQ_MIN_PHRASINGS} (có dấu và không dấu, như người dân gõ)",
            )
        for answer, line in _answer_lines(faq, index, lines):
            if len(answer) > FAQ_ANSWER_MAX:
                add(
                    line,
                    f"{name}: câu trả lời dài {len(answer)} ký tự; tối đa {FAQ_ANSWER_MAX} "
                    "(nên 1-3 câu: quy định và căn cứ)",
                )
        if len(faq.question) > FAQ_QUESTION_MAX:
            add(
                lines.line("question", "faq", index),
                f"{name}: 'question' dài {len(faq.question)} ký tự; nên tối đa {FAQ_QUESTION_MAX}",
                "warning",
            )
        asked = [(faq.question, lines.line("question", "faq", index))]
        asked += [(p, lines.line("phrasings", "faq", index, value=p)) for p in faq.phrasings]
        mine: set[str] = set()
        for text, line in asked:
            key = fold(text)
            if key in mine:
                if key != fold(faq.question):
                    add(line, f"{name}: cách hỏi '{text}' bị lặp lại", "warning")
                continue
            mine.add(key)
            if key in owner:
                other, at = owner[key]
                where = "'questions' của chủ đề" if other == "questions" else f"[[faq]] '{other}'"
                add(
                    line,
                    f"{name}: cách hỏi '{text}' trùng với {where} (dòng {at}); mỗi cách hỏi "
                    "chỉ dẫn tới một câu trả lời",
                )
            else:
                owner[key] = (faq.id, line)
    return found


def shared_faq_phrasings(
    kb: KnowledgeBase, lines_of: Callable[[str], SourceLines]
) -> list[Problem]:
    """An FAQ phrasing also written in another topic (a warning: the bot will ask which)."""
    owner: dict[str, Topic] = {}
    for topic in kb.topics.values():
        for text in topic.questions:
            owner.setdefault(fold(text), topic)
    found = []
    for topic in kb.topics.values():
        lines = lines_of(topic.path)
        for index, faq in enumerate(topic.faqs):
            for text in faq.phrasings:
                other = owner.setdefault(fold(text), topic)
                if other.id != topic.id:
                    found.append(
                        Problem(
                            topic.path,
                            lines.line("phrasings", "faq", index, value=text),
                            "warning",
                            f"[[faq]] '{faq.id}': cách hỏi '{text}' cũng có ở chủ đề "
                            f"'{other.id}'; trợ lý sẽ phải hỏi lại người dân muốn hỏi gì",
                        )
                    )
    return found


def _days_in(version: Version) -> dt.date | None:
    """A day on which `version` is in force (None for an undated one)."""
    return version.valid_from or version.valid_until


def size_rules(topic: Topic, lines: SourceLines) -> list[Problem]:
    """Overviews over one phone screen and long sections (warnings; each dated version too)."""
    found: list[Problem] = []

    def warn(line: int, message: str, severity: str = "warning") -> None:
        found.append(Problem(topic.path, line, severity, message))

    summaries = topic.versions.get("summary") or (Version(topic.summary),)
    for number, version in enumerate(summaries):
        size = len(render_summary(topic, _days_in(version)))
        if size > OVERVIEW_MAX:
            line = lines.line("text", "summary", number) if "summary" in topic.versions else 0
            warn(
                line or lines.line("summary"),
                f"phần tóm tắt (tên thủ tục và 'summary') dài {size} ký tự; nên tối đa "
                f"{OVERVIEW_MAX} để vừa một màn hình điện thoại: để chi tiết ở các mục",
            )
    for section in (s for s in RENDERABLE if s not in ("legal_basis", "sources")):
        versions = topic.versions.get(section)
        days = [_days_in(v) for v in versions] if versions else [None]
        for number, day in enumerate(days):
            size = len(render_section(topic, section, today=day))
            line = lines.line("text", section, number) if versions else lines.line(section)
            if versions and size > ZALO_TEXT_LIMIT:
                warn(line, f"mục '{section}' dài {size} ký tự, quá {ZALO_TEXT_LIMIT}", "error")
            elif size > SECTION_MAX:
                warn(
                    line,
                    f"mục '{section}' dài {size} ký tự; nên tối đa khoảng {SECTION_MAX} để "
                    "đọc được trên điện thoại: rút gọn hoặc chuyển bớt sang 'notes'",
                )
    return found


def _address_pattern(avoid: Iterable[str]) -> re.Pattern[str]:
    """One pattern for every form to avoid, as whole words, any case."""
    forms = []
    for form in avoid:
        word = re.escape(unicodedata.normalize("NFC", form))
        if form.casefold() == "bạn":
            word += r"(?!\s+(?:" + "|".join(_NOT_ADDRESS) + r")\b)"
        forms.append(word)
    return re.compile(r"(?<!\w)(?:" + "|".join(forms) + r")(?!\w)", re.IGNORECASE)


def address_rules(
    kb: KnowledgeBase, files: Iterable[str], lines_of: Callable[[str], SourceLines]
) -> list[Problem]:
    """A warning for each line of citizen-facing text that addresses the citizen otherwise than
    the `address` text says (topic phrasings, comments and the setting itself are skipped)."""
    address = kb.texts.get(ADDRESS_KEY)
    avoid = kb.variants(AVOID_KEY) if AVOID_KEY in kb.texts else ()
    if not isinstance(address, str) or not avoid:
        return []
    pattern = _address_pattern(avoid)
    found = []
    for file in files:
        skipping = False
        for number, text in enumerate(lines_of(file).lines, start=1):
            if _SKIPPED_KEYS.match(text):
                skipping = "[" in text and "]" not in text.split("#")[0]
                continue
            if skipping:
                skipping = not text.strip().startswith("]")
                continue
            if text.lstrip().startswith("#"):
                continue
            hit = pattern.search(unicodedata.normalize("NFC", text))
            if hit:
                found.append(
                    Problem(
                        file,
                        number,
                        "warning",
                        f"'{hit.group()}': với người dân chỉ xưng '{address}' "
                        f"('{address[:1].upper()}{address[1:]}' ở đầu câu), không dùng "
                        + ", ".join(f"“{a}”" for a in avoid)
                        + f" (khóa {ADDRESS_KEY} trong texts/general.toml)",
                    )
                )
    return found


def knock_on_free(failed: Iterable[str]) -> tuple[bool, set[str]]:
    """Whether every texts file loaded, and the topic ids whose file exists but did not load."""
    failed = set(failed)
    texts_ok = not any(Path(f).parent.name == "texts" for f in failed)
    topics = {Path(f).stem for f in failed if Path(f).parent.name == "topics"}
    return texts_ok, topics
