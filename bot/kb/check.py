"""`kb check`: everything the loader finds, plus the rules that need the whole knowledge base.

Errors stop an edit from going live; warnings (an old review date, a repeated phrasing inside one
topic, a missing standard topic) are printed but allowed.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import string
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bot.kb.loader import Problem, read_kb
from bot.kb.model import KnowledgeBase, Topic
from bot.kb.needs import REQUIRED_TEXTS
from bot.kb.render import ZALO_TEXT_LIMIT, rendered_answers
from bot.kb.rules import (
    address_rules,
    dated_rules,
    faq_rules,
    fold,
    knock_on_free,
    shared_faq_phrasings,
    size_rules,
)
from bot.kb.source import SourceLines

__all__ = ["audit", "check_kb", "fold", "sort_problems"]

logger = logging.getLogger(__name__)

MIN_QUESTIONS = 10
SHORT_TITLE_MAX = 30
BUTTON_TITLE_MAX = 35
MENU_MAX_BUTTONS = 5


STANDARD_TOPICS = (
    "khai-sinh", "khai-tu", "ket-hon", "xac-nhan-tinh-trang-hon-nhan", "nhan-cha-me-con",
    "trich-luc-ho-tich", "cai-chinh-ho-tich", "giam-ho", "chung-thuc-ban-sao", "chung-thuc-chu-ky",
    "chung-thuc-hop-dong", "thuong-tru", "tam-tru", "tam-vang", "xac-nhan-cu-tru", "can-cuoc",
    "vneid", "ho-kinh-doanh", "giay-phep-xay-dung", "so-do-lan-dau", "bien-dong-dat-dai",
    "bhyt-tre-em", "tro-cap-xa-hoi", "ho-ngheo", "nghia-vu-quan-su", "ly-lich-tu-phap", "ho-chieu",
    "giay-phep-lai-xe", "dang-ky-xe", "nop-truc-tuyen", "tra-cuu-ho-so", "lien-he",
    "phan-anh-kien-nghi",
)  # fmt: skip
"""The 33 topic ids the bot is expected to cover."""

_INSECURE = re.compile(r"\bhttp://[^\s\"']*", re.IGNORECASE)
_MENU_TOPIC = re.compile(r"^#(?:topic|section):([a-z0-9-]+)")
_URLISH = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|www\.)", re.IGNORECASE)


class _Sources:
    """Line lookups per file, read once."""

    def __init__(self) -> None:
        """Start with no file read."""
        self.cache: dict[str, SourceLines] = {}

    def __call__(self, file: str) -> SourceLines:
        """The lines of `file` (empty when it cannot be read)."""
        if file not in self.cache:
            try:
                self.cache[file] = SourceLines(Path(file).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                self.cache[file] = SourceLines("")
        return self.cache[file]


def _topic_rules(topic: Topic, lines: SourceLines, today: dt.date, max_age_days: int) -> list:
    """Problems inside one topic: question count, repeats, links, length, review date."""
    found = []

    def add(line: int, message: str, severity: str = "error") -> None:
        found.append(Problem(topic.path, line, severity, message))

    if len(topic.questions) < MIN_QUESTIONS:
        add(
            lines.line("questions"),
            f"'questions' chỉ có {len(topic.questions)} câu; cần ít "
            f"nhất {MIN_QUESTIONS} cách hỏi của người dân",
        )
    if len(topic.short_title) > SHORT_TITLE_MAX:
        add(
            lines.line("short_title"),
            f"'short_title' dài {len(topic.short_title)} ký tự; tối đa {SHORT_TITLE_MAX} "
            "(tên ngắn hiện trên nút chọn)",
        )
    seen: dict[str, str] = {}
    for question in topic.questions:
        key = " ".join(question.casefold().split())
        if key in seen:
            add(
                lines.line("questions", value=question),
                f"câu hỏi '{question}' bị lặp lại",
                "warning",
            )
        seen[key] = question
    if topic.online_link and not topic.online_link.lower().startswith("https://"):
        add(
            lines.line("online_link"),
            f"'online_link' phải bắt đầu bằng https:// (đang là '{topic.online_link}')",
        )
    for source in topic.sources:
        if _URLISH.match(source) and not source.lower().startswith(("https://", "http://")):
            add(lines.line("sources", value=source), f"nguồn '{source}' phải là liên kết https://")
    for name, text in rendered_answers(topic).items():
        if len(text) > ZALO_TEXT_LIMIT:
            key = name.split(" ")[0]
            line = (
                lines.subkey("where_by_ward", key.split(".")[1])
                if "." in key
                else lines.line("summary" if key == "overview" else key)
            )
            add(
                line,
                f"câu trả lời '{name}' dài {len(text)} ký tự, quá giới hạn "
                f"{ZALO_TEXT_LIMIT} ký tự của Zalo; hãy rút gọn",
            )
    age = (today - topic.reviewed).days
    if age > max_age_days:
        add(
            lines.line("reviewed"),
            f"'reviewed' là {topic.reviewed:%d/%m/%Y}, đã quá "
            f"{max_age_days} ngày: hãy rà soát lại nội dung và cập nhật ngày",
            "warning",
        )
    elif age < 0:
        add(
            lines.line("reviewed"), f"'reviewed' ({topic.reviewed:%d/%m/%Y}) ở tương lai", "warning"
        )
    return found


def _insecure_links(files: Iterable[str], lines_of: _Sources) -> list[Problem]:
    """Every `http://` link written anywhere in the files."""
    found = []
    for file in files:
        for number, line in enumerate(lines_of(file).lines, start=1):
            link = _INSECURE.search(line)
            if link and not line.lstrip().startswith("#"):
                message = f"liên kết '{link.group()}' phải dùng https:// (không dùng http://)"
                found.append(Problem(file, number, "error", message))
    return found


def _shared_phrasings(kb: KnowledgeBase, lines_of: _Sources) -> list[Problem]:
    """The same phrasing (ignoring case and diacritics) under two different topics."""
    owner: dict[str, tuple[Topic, str]] = {}
    found = []
    for topic in kb.topics.values():
        for question in topic.questions:
            key = fold(question)
            first = owner.setdefault(key, (topic, question))
            if first[0].id != topic.id:
                other, text = first
                line = lines_of(other.path).line("questions", value=text)
                found.append(
                    Problem(
                        topic.path,
                        lines_of(topic.path).line("questions", value=question),
                        "error",
                        f"câu hỏi '{question}' trùng với câu ở chủ đề '{other.id}' "
                        f"({other.path}:{line}); mỗi cách hỏi chỉ thuộc một chủ đề",
                    )
                )
    return found


def _text_rules(
    kb: KnowledgeBase,
    root: Path,
    lines_of: _Sources,
    texts_loaded: bool = True,
    unloaded_topics: frozenset[str] = frozenset(),
) -> list[Problem]:
    """Required texts present, menu buttons short enough, texts well-formed and not too long.

    A texts file that did not load explains its missing texts and menu, and a topic file that
    did not load explains the menu button leading to it: those knock-on errors are left out.
    """
    found = []
    folder = root / "texts"
    files = [str(f) for f in sorted(folder.glob("*.toml"))] if folder.is_dir() else []
    general = str(folder / "general.toml")

    def add(file: str, line: int, message: str, severity: str = "error") -> None:
        found.append(Problem(file, line, severity, message))

    for owner, keys in REQUIRED_TEXTS.items() if texts_loaded else ():
        for key in (k for k in keys if k != "menu" and k not in kb.texts):
            add(
                general,
                1,
                f"thiếu câu chữ '{key}' ({owner} cần); hãy thêm vào một tệp trong texts/",
            )
    if not kb.menu and texts_loaded:
        add(general, 1, "thiếu menu: thêm các bảng [[menu]] có title và payload")
    menu_file = next((f for f in files if lines_of(f).has_table("menu")), general)
    for index, item in enumerate(kb.menu):
        if len(item.title) > BUTTON_TITLE_MAX:
            add(
                menu_file,
                lines_of(menu_file).line("title", "menu", index),
                f"tiêu đề nút '{item.title}' dài {len(item.title)} ký tự; "
                f"tối đa {BUTTON_TITLE_MAX}",
            )
        payload = _MENU_TOPIC.match(item.payload)
        if payload and payload.group(1) not in kb.topics.keys() | unloaded_topics:
            add(
                menu_file,
                lines_of(menu_file).line("payload", "menu", index),
                f"nút '{item.title}' dẫn tới chủ đề '{payload.group(1)}' không có trong topics/",
            )
    if len(kb.menu) > MENU_MAX_BUTTONS:
        line = lines_of(menu_file).line(None, "menu", MENU_MAX_BUTTONS)
        message = f"menu có {len(kb.menu)} nút; Zalo chỉ hiện tối đa {MENU_MAX_BUTTONS}"
        add(menu_file, line, message, "warning")
    for key, value in kb.texts.items():
        file = next((f for f in files if lines_of(f).has_key(key)), general)
        line = lines_of(file).line(key)
        for text in value if isinstance(value, tuple) else (value,):
            try:
                list(string.Formatter().parse(text))
            except ValueError:
                add(
                    file,
                    line,
                    f"câu chữ '{key}' có dấu ngoặc nhọn {{ }} không khớp; chỉ dùng ngoặc nhọn "
                    "cho chỗ trợ lý điền vào, dạng {tên}",
                )
            if len(text) > ZALO_TEXT_LIMIT:
                add(
                    file,
                    line,
                    f"câu chữ '{key}' dài {len(text)} ký tự, quá giới hạn "
                    f"{ZALO_TEXT_LIMIT} của Zalo",
                )
    return found


_SELF_TESTED: dict[str, list[Problem]] = {}
"""Self-test results by knowledge-base version: the same files are not matched twice."""


def _self_test(kb: KnowledgeBase, index: Any, lines_of: _Sources) -> list[Problem]:
    """Every topic's own phrasings must find that topic (once per knowledge-base version)."""
    if kb.version and kb.version in _SELF_TESTED:
        return list(_SELF_TESTED[kb.version])
    found = _match_phrasings(kb, index, lines_of)
    if kb.version:
        _SELF_TESTED.clear()  # keep the latest only
        _SELF_TESTED[kb.version] = found
    return list(found)


def _match_phrasings(kb: KnowledgeBase, index: Any, lines_of: _Sources) -> list[Problem]:
    """Problems of the phrasings that do not find their own topic."""
    found = []
    for topic in kb.topics.values():
        for question in topic.questions:
            match = index.topic_match(question)
            line = lines_of(topic.path).line("questions", value=question)
            if match.outcome == "answer" and match.topic == topic.id:
                continue
            best = match.candidates[0][0] if match.candidates else None
            if match.outcome == "choices" and best == topic.id:
                found.append(
                    Problem(
                        topic.path,
                        line,
                        "warning",
                        f"câu hỏi '{question}' chỉ "
                        "làm trợ lý hỏi lại để chọn (chủ đề này đứng đầu); nên viết rõ hơn",
                    )
                )
                continue
            got = match.topic or best or "không chủ đề nào"
            found.append(
                Problem(
                    topic.path,
                    line,
                    "error",
                    f"tự kiểm tra: câu hỏi '{question}' "
                    f"lại dẫn tới '{got}' ({match.outcome}); hãy sửa câu hỏi hoặc thêm cách "
                    "hỏi rõ hơn cho chủ đề đó",
                )
            )
    return found


def audit(
    kb: KnowledgeBase,
    root: str | Path,
    today: dt.date,
    review_max_age_days: int = 365,
    index: Any = None,
    self_test: bool = True,
    *,
    failed: Iterable[str] = (),
    strict_dates: bool = True,
) -> list[Problem]:
    """The rules that need a loaded knowledge base; `index` (a built matcher) is reused if given.

    `failed` names the files the loader found errors in (their knock-on problems are left out).
    With `strict_dates` off (the running bot) an expired version still in a file is a warning,
    so that a knowledge base that loaded yesterday still loads after midnight.
    """
    root = Path(root)
    lines_of = _Sources()
    texts_loaded, unloaded = knock_on_free(failed)
    found: list[Problem] = []
    for topic in kb.topics.values():
        lines = lines_of(topic.path)
        found += _topic_rules(topic, lines, today, review_max_age_days)
        found += dated_rules(topic, lines, today, strict_dates)
        found += faq_rules(topic, lines)
        found += size_rules(topic, lines)
    found += _shared_phrasings(kb, lines_of)
    found += shared_faq_phrasings(kb, lines_of)
    files = [t.path for t in kb.topics.values()] + [str(root / "wards.toml")]
    texts = (
        [str(p) for p in sorted((root / "texts").glob("*.toml"))]
        if (root / "texts").is_dir()
        else []
    )
    found += _insecure_links(files + texts, lines_of)
    found += _text_rules(kb, root, lines_of, texts_loaded, frozenset(unloaded))
    found += address_rules(kb, [t.path for t in kb.topics.values()] + texts, lines_of)
    missing = [t for t in STANDARD_TOPICS if t not in kb.topics and t not in unloaded]
    if missing:
        message = f"chưa có {len(missing)} chủ đề chuẩn: {', '.join(missing)}"
        found.append(Problem(str(root / "topics"), 1, "warning", message))
    if self_test and kb.topics:
        from bot.understanding import build_index  # noqa: PLC0415 - the matcher reads bot.kb

        try:
            index = index if index is not None else build_index(kb)
        except Exception as exc:  # noqa: BLE001 - any failure of the matcher is reported
            logger.exception("building the matcher index failed")
            found.append(Problem(str(root), 1, "error", f"không dựng được bộ so khớp: {exc}"))
            index = None
        if index is not None:
            found += _self_test(kb, index, lines_of)
    return found


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Problems by file and line, errors first within a line, without repeats.

    Files that could not be read at all (TOML syntax, encoding) come first: they are the root
    cause of what follows.
    """
    rank = {"error": 0, "warning": 1}
    unique = dict.fromkeys(problems)
    return sorted(
        unique,
        key=lambda p: (not p.unreadable, p.file, p.line, rank.get(p.severity, 2), p.message),
    )


def check_kb(
    path: str | Path,
    review_max_age_days: int = 365,
    today: dt.date | None = None,
    self_test: bool = True,
) -> list[Problem]:
    """Every problem in the knowledge base at `path`, sorted by file and line."""
    today = today or dt.date.today()
    kb, problems = read_kb(path)
    if not Path(path).is_dir():
        return problems
    failed = {p.file for p in problems if p.severity == "error"}
    problems += audit(kb, path, today, review_max_age_days, self_test=self_test, failed=failed)
    return sort_problems(problems)
