"""Outreach wording: the texts it needs, and recognising citizen requests."""

from __future__ import annotations

import re
import threading
import tomllib
import unicodedata
from pathlib import Path
from typing import Protocol

from bot.kb.needs import OUTREACH_TEXTS

REQUIRED_TEXTS = OUTREACH_TEXTS
"""Every text key outreach code uses (kb's check verifies they exist)."""

TEXTS_FILE = Path("texts") / "outreach.toml"


class Texts(Protocol):
    """Anything with `text(key, **values)`: the KnowledgeBase, or `FileTexts`."""

    def text(self, key: str, **values: object) -> str:
        """The text `key`, formatted with `values`."""


class FileTexts:
    """The outreach texts read straight from `<knowledge_base>/texts/outreach.toml`.

    The scheduler uses this for reminders, so it need not load the whole knowledge base; the file
    is re-read when its modification time changes.
    """

    def __init__(self, knowledge_base: str | Path) -> None:
        """Read texts from `<knowledge_base>/texts/outreach.toml` on first use."""
        self.path = Path(knowledge_base) / TEXTS_FILE
        self._mtime: float | None = None
        self._texts: dict[str, object] = {}
        self._lock = threading.Lock()

    def text(self, key: str, **values: object) -> str:
        """The text `key` (first variant of a list), formatted with `values`."""
        with self._lock:
            mtime = self.path.stat().st_mtime
            if mtime != self._mtime:
                self._texts = tomllib.loads(self.path.read_text(encoding="utf-8"))
                self._mtime = mtime
            raw = self._texts[key]
        template = raw[0] if isinstance(raw, list) else raw
        return str(template).format(**values) if values else str(template)


def fold(text: str) -> str:
    """Lower-case, strip diacritics (đ -> d) and punctuation, collapse spaces."""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^0-9a-z]+", " ", bare).split())


_STOP = re.compile(r"^(?:(?:toi )?(?:xin |muon )?)(?:dung|ngung|huy|tat|thoi) (?:nhan )?nhac")
_DELETE = re.compile(
    r"\bxoa (?:het |toan bo |tat ca )?(?:du lieu|thong tin ca nhan|thong tin cua (?:toi|minh))"
)
_LOOKUP = re.compile(r"\b(?:tra cuu|kiem tra|tra|xem) (?:tinh trang |trang thai )?ho so\b")


def is_stop_request(text: str) -> bool:
    """The citizen asks to stop dossier reminders ("dừng nhắc", "hủy nhắc lịch"...)."""
    return bool(_STOP.search(fold(text)))


def is_deletion_request(text: str) -> bool:
    """The citizen asks us to delete their data ("xóa dữ liệu của tôi"...)."""
    return bool(_DELETE.search(fold(text)))


def is_lookup_request(text: str) -> bool:
    """The citizen asks how to look a dossier up ("tra cứu hồ sơ"...)."""
    return bool(_LOOKUP.search(fold(text)))
