"""Typed, immutable view of the knowledge base that staff edit under `knowledge_base/`.

File layout (all TOML, UTF-8):

- `knowledge_base/topics/<id>.toml`: one procedure each (see `Topic`).
- `knowledge_base/wards.toml`: `[[ward]]` (the new wards), `[[old_ward]]` (pre-2025 wards and where
  they went), `[[office]]` (service points), `[contact]` (hotlines and portals).
  `Ward.office` is the display name of the ward's service point; `OldWard.new_wards` lists new-ward
  ids, the one taking most of the old ward first. Old-ward ids are their own namespace (the old
  Phú Thượng is `old_wards["phu-thuong"]`, the new one `wards["phu-thuong"]`). `[contact]` keys:
  hotline, ai_hotline, zalo_viber, website, email, app, portal, feedback_zalo.
- `knowledge_base/vocabulary.toml`: `[abbreviations]` token -> expansion, `[phrases]` phrase ->
  canonical phrase; both used by the matcher's normaliser.
- `knowledge_base/lexicon/*.toml`: the word lists of the understanding stages (`bot.kb.lexicon`).
- `knowledge_base/texts/*.toml`: bot texts; every file is a flat table of key -> text (or list of
  texts, one picked per reply). Keys are unique across files. `menu` is an array of
  `{title, payload}` tables.

Topic file, with the section names the dialogue answers:

    id = "khai-sinh"
    title = "Đăng ký khai sinh"
    short_title = "Khai sinh"      # optional: <= 30 characters, whole words, for choice buttons
    category = "Hộ tịch"
    authority = "UBND phường nơi cư trú của cha hoặc mẹ"
    reviewed = 2026-11-20
    legal_basis = ["Luật Hộ tịch 2014", ...]
    sources = ["https://...", ...]
    not_applicable = []            # names of answer sections that do not apply to this topic
    questions = ["dk khai sinh cho con", ...]
    summary = "One or two sentences for the overview answer."
    documents = ["Tờ khai ...", ...]
    duration = "..."
    fee = "..."
    where = "..."
    online = "..."
    online_link = "https://dichvucong.gov.vn"
    steps = ["...", ...]         # optional
    notes = "..."                # optional
    [where_by_ward]              # optional: new-ward id -> where text for citizens of that ward
    tay-ho = "..."
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

ANSWER_SECTIONS = ("documents", "duration", "fee", "where", "online")
"""The sections a citizen can ask about, in menu order."""

SECTION_LABELS = MappingProxyType(
    {
        "documents": "Hồ sơ cần chuẩn bị",
        "duration": "Thời gian giải quyết",
        "fee": "Lệ phí",
        "where": "Nơi nộp hồ sơ",
        "online": "Nộp trực tuyến",
    }
)


@dataclass(frozen=True, slots=True)
class Topic:
    """One administrative procedure and everything the bot may say about it."""

    id: str
    title: str
    category: str
    authority: str
    summary: str
    documents: tuple[str, ...]
    duration: str
    fee: str
    where: str
    online: str
    online_link: str
    reviewed: dt.date
    questions: tuple[str, ...]
    legal_basis: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()
    notes: str = ""
    short_title: str = ""
    not_applicable: frozenset[str] = frozenset()
    where_by_ward: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    path: str = ""

    @property
    def button_title(self) -> str:
        """The name for a choice button: `short_title`, or `title` when none is set."""
        return self.short_title or self.title

    def has_section(self, name: str) -> bool:
        """True when the section has content and is not marked not applicable."""
        return name not in self.not_applicable and bool(getattr(self, name))


@dataclass(frozen=True, slots=True)
class Ward:
    """A ward (phường) as it exists since 1 July 2025."""

    id: str
    name: str
    office: str
    address: str
    aliases: tuple[str, ...] = ()
    phone: str = ""
    notes: str = ""


@dataclass(frozen=True, slots=True)
class OldWard:
    """A ward of the former quận Tây Hồ and the new wards its area went to."""

    id: str
    name: str
    new_wards: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True, slots=True)
class Office:
    """A one-stop service point citizens can go to."""

    id: str
    name: str
    address: str
    handles: str = ""
    phone: str = ""
    hours: str = ""


@dataclass(frozen=True, slots=True)
class MenuItem:
    """A main-menu button: the title shown and the text sent back when tapped."""

    title: str
    payload: str


@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    """Everything loaded from `knowledge_base/`, validated and ready to match against."""

    topics: Mapping[str, Topic]
    wards: Mapping[str, Ward]
    old_wards: Mapping[str, OldWard]
    offices: tuple[Office, ...]
    contact: Mapping[str, str]
    abbreviations: Mapping[str, str]
    phrases: Mapping[str, str]
    texts: Mapping[str, str | tuple[str, ...]]
    menu: tuple[MenuItem, ...]
    version: str = ""
    lexicon: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: MappingProxyType({}))
    """`lexicon/<group>.toml` as group -> name -> phrases (see `bot.kb.lexicon`)."""
    loaded_at: dt.datetime | None = None

    def text(self, key: str, **values: object) -> str:
        """The bot text `key` (the first variant of a list), formatted with `values`."""
        raw = self.texts[key]
        template = raw[0] if isinstance(raw, tuple) else raw
        return template.format(**values) if values else template

    def variants(self, key: str) -> tuple[str, ...]:
        """All variants of the bot text `key`."""
        raw = self.texts[key]
        return raw if isinstance(raw, tuple) else (raw,)
