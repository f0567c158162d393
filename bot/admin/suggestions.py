"""Suggested phrasings for a topic, kept in `suggestions/<topic>.toml` for editors to review.

The knowledge base files stay the source of truth: the console only appends citizens' questions
to a per-topic suggestions file; an editor moves good ones into the topic's `questions` list.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
import tomllib
from pathlib import Path

from bot.config import Config

TOPIC_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,80}$")
NUMBER = re.compile(r"\+?\d(?:[\s.-]?\d){6,}")
"""A run of 7+ digits (phone, ID-card or dossier number): never written to the suggestions."""
HEADER = (
    "# Câu hỏi người dân đã hỏi mà bot chưa trả lời được; cán bộ đã gán vào chủ đề này.\n"
    "# Biên tập viên xem lại, chuyển câu phù hợp vào `questions` của topics/{topic}.toml\n"
    "# rồi xóa khỏi tệp này. Tệp do trang quản trị ghi, không được bot đọc.\n"
)
_lock = threading.Lock()


def directory(config: Config) -> Path:
    """Where suggestion files go: `admin.suggestions_dir`, else `<knowledge_base>/suggestions`."""
    configured = getattr(config.admin, "suggestions_dir", "")
    return Path(configured) if configured else Path(config.bot.knowledge_base) / "suggestions"


def _toml_string(text: str) -> str:
    """A TOML basic string: JSON escapes are valid TOML, and TOML also forbids a raw DEL."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def read(folder: Path, topic: str) -> list[str]:
    """The questions already suggested for `topic`."""
    path = folder / f"{topic}.toml"
    if not path.exists():
        return []
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return [q for q in data.get("questions", []) if isinstance(q, str)]


def append(folder: Path, topic: str, questions: list[str]) -> int:
    """Add new `questions` to the topic's file (atomically); return how many were new."""
    if not TOPIC_ID.match(topic):
        raise ValueError(f"not a topic id: {topic!r}")
    with _lock:
        folder.mkdir(parents=True, exist_ok=True)
        existing = read(folder, topic)
        seen = {q.casefold() for q in existing}
        added = []
        for question in questions:
            clean = NUMBER.sub("[số]", " ".join(question.split()))
            if clean and clean.casefold() not in seen:
                seen.add(clean.casefold())
                added.append(clean)
        if not added:
            return 0
        lines = [HEADER.format(topic=topic), f"topic = {_toml_string(topic)}", "questions = ["]
        lines += [f"  {_toml_string(q)}," for q in existing + added]
        lines.append("]\n")
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{topic}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("\n".join(lines))
        os.replace(tmp, folder / f"{topic}.toml")
        return len(added)
