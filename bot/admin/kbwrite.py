"""Writing an approved phrasing or FAQ entry into a topic file, only if `kb check` passes.

The edit is made on the file's text (comments and layout stay as staff wrote them), checked on a
copy of the whole knowledge base, and only then written in place atomically; the live knowledge
base picks it up on its next look at the files.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import tempfile
import threading
import tomllib
from collections.abc import Sequence
from pathlib import Path

from bot.kb.check import check_kb
from bot.kb.cli import EXPECTATIONS, expectation_failures, read_cases
from bot.kb.loader import load_kb
from bot.understanding.normalize import fold

FAQ_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,60}$")
QUESTIONS_START = re.compile(r"^questions\s*=\s*\[", re.MULTILINE)
_lock = threading.Lock()


class WriteRefused(Exception):
    """The edit cannot be written; `problems` are shown to staff (Vietnamese or from kb check)."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


def toml_string(text: str) -> str:
    """A TOML basic string: JSON escapes are valid TOML, and TOML also forbids a raw DEL."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def faq_id_for(question: str) -> str:
    """A readable id for an FAQ entry from its question (`[a-z0-9-]`, at most 40 characters)."""
    words = [re.sub(r"[^a-z0-9]", "", fold(w)) for w in question.lower().split()]
    slug = "-".join(w for w in words if w)[:40].strip("-")
    return slug or "cau-hoi"


def topic_file(kb_root: str | Path, topic: str) -> Path:
    """The file of `topic` (refused when there is none)."""
    path = Path(kb_root) / "topics" / f"{topic}.toml"
    if not path.is_file():
        raise WriteRefused([f"Không có tệp topics/{topic}.toml trong cơ sở tri thức."])
    return path


def add_phrasings(source: str, phrasings: Sequence[str]) -> tuple[str, int]:
    """The topic file's text with new phrasings appended to `questions`; and how many were new."""
    data = tomllib.loads(source)
    known = {fold_text(q) for q in data.get("questions", [])}
    new = []
    for text in phrasings:
        text = " ".join(text.split())
        if text and fold_text(text) not in known:
            known.add(fold_text(text))
            new.append(text)
    if not new:
        return source, 0
    start = QUESTIONS_START.search(source)
    if start is None:
        raise WriteRefused(["Tệp chủ đề không có danh sách `questions` để thêm cách hỏi."])
    end = _closing_bracket(source, start.end())
    before = source[:end].rstrip()
    comma = "" if before.endswith(("[", ",")) else ","
    lines = "".join(f"\n  {toml_string(text)}," for text in new)
    return before + comma + lines + "\n" + source[end:], len(new)


def _closing_bracket(source: str, at: int) -> int:
    """Index of the `]` closing the array that opens just before `at` (strings skipped)."""
    depth, i = 1, at
    while i < len(source):
        char = source[i]
        if char == '"':
            i += 1
            while i < len(source) and source[i] != '"':
                i += 2 if source[i] == "\\" else 1
        elif char == "#":
            while i < len(source) and source[i] != "\n":
                i += 1
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise WriteRefused(["Danh sách `questions` của tệp chủ đề không được đóng bằng `]`."])


def fold_text(text: str) -> str:
    """Lower case, words folded, for spotting a phrasing already there."""
    return " ".join(fold(w) for w in text.lower().split())


def add_faq(source: str, faq_id: str, question: str, phrasings: Sequence[str], answer: str) -> str:
    """The topic file's text with a new `[[faq]]` entry at the end."""
    problems = []
    if not FAQ_ID.match(faq_id):
        problems.append("Mã câu hỏi thường gặp chỉ gồm chữ thường không dấu, số và dấu gạch ngang.")
    if not question or len(question) > 80:
        problems.append("Câu hỏi chuẩn phải có từ 1 đến 80 ký tự.")
    if not answer or len(answer) > 600:
        problems.append("Câu trả lời phải có từ 1 đến 600 ký tự.")
    if len(phrasings) < 3:
        problems.append("Cần ít nhất 3 cách hỏi (có dấu và không dấu).")
    existing = tomllib.loads(source).get("faq", [])
    if any(isinstance(e, dict) and e.get("id") == faq_id for e in existing):
        problems.append(f"Chủ đề đã có câu hỏi thường gặp mã “{faq_id}”.")
    if problems:
        raise WriteRefused(problems)
    lines = ["", "[[faq]]", f"id = {toml_string(faq_id)}", f"question = {toml_string(question)}"]
    lines += ["phrasings = ["] + [f"  {toml_string(p)}," for p in phrasings] + ["]"]
    lines.append(f"answer = {toml_string(answer)}")
    return source.rstrip("\n") + "\n" + "\n".join(lines) + "\n"


def add_faq_phrasings(source: str, faq_id: str, phrasings: Sequence[str]) -> tuple[str, int]:
    """The topic file's text with new phrasings appended to the `[[faq]]` entry `faq_id`."""
    entries = [e for e in tomllib.loads(source).get("faq", []) if isinstance(e, dict)]
    entry = next((e for e in entries if e.get("id") == faq_id), None)
    if entry is None:
        raise WriteRefused([f"Chủ đề không có câu hỏi thường gặp mã “{faq_id}”."])
    known = {fold_text(q) for q in [entry.get("question", ""), *entry.get("phrasings", [])]}
    new = list(dict.fromkeys(" ".join(p.split()) for p in phrasings if p.strip()))
    new = [p for p in new if fold_text(p) not in known]
    if not new:
        return source, 0
    starts = [m.start() for m in re.finditer(r"^\[\[faq\]\]", source, re.MULTILINE)]
    index = next(i for i, e in enumerate(entries) if e is entry)
    block = re.compile(r"^phrasings\s*=\s*\[", re.MULTILINE).search(source, starts[index])
    if block is None or (index + 1 < len(starts) and block.start() > starts[index + 1]):
        raise WriteRefused([f"Câu hỏi thường gặp “{faq_id}” không có danh sách `phrasings`."])
    end = _closing_bracket(source, block.end())
    before = source[:end].rstrip()
    comma = "" if before.endswith(("[", ",")) else ","
    lines = "".join(f"\n  {toml_string(text)}," for text in new)
    return before + comma + lines + "\n" + source[end:], len(new)


def check_edit(
    kb_root: str | Path, path: Path, text: str, today: dt.date, max_age_days: int
) -> list[str]:
    """The errors `kb check` finds in the knowledge base with `path` replaced by `text`."""
    root = Path(kb_root)
    with tempfile.TemporaryDirectory(prefix="kb-check-") as folder:
        copy = Path(folder) / "kb"
        shutil.copytree(root, copy, ignore=shutil.ignore_patterns(".*", "suggestions"))
        target = copy / path.relative_to(root)
        target.write_text(text, encoding="utf-8")
        problems = check_kb(copy, max_age_days, today, self_test=True)
        prefix = str(copy) + os.sep  # paths shown relative to the knowledge-base folder
        errors = [str(p).replace(prefix, "") for p in problems if p.severity == "error"]
        if not errors and (copy / EXPECTATIONS).is_file():
            errors = _expectations(copy)
        return errors


def _expectations(root: Path) -> list[str]:
    """Staff's own questions (kiem-thu.toml) that no longer lead where they expect."""
    from bot.understanding import build_index  # noqa: PLC0415 - the matcher reads bot.kb

    try:
        cases = read_cases(root / EXPECTATIONS)
    except ValueError as exc:
        return [str(exc).replace(str(root) + os.sep, "")]
    failures = expectation_failures(build_index(load_kb(root)), cases)
    return [f"{EXPECTATIONS}: câu hỏi kiểm thử sai: {line}" for line in failures]


def write_checked(
    kb_root: str | Path, path: Path, text: str, today: dt.date, max_age_days: int
) -> None:
    """Write `text` to `path` atomically if the knowledge base still passes `kb check`."""
    with _lock:
        errors = check_edit(kb_root, path, text, today, max_age_days)
        if errors:
            raise WriteRefused(errors)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
