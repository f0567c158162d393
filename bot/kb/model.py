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
    general = true                 # optional: a help topic for all procedures (`Topic.general`)
    questions = ["dk khai sinh cho con", ...]
    summary = "One or two sentences for the overview answer."
    documents = ["Tờ khai ...", ...]
    duration = "..."
    fee = "..."
    where = "..."
    online = "..."
    online_link = "https://dichvucong.gov.vn"
    eligibility = "..."          # optional: who may use the procedure, who may file for another
    steps = ["...", ...]         # optional
    notes = "..."                # optional
    [where_by_ward]              # optional: new-ward id -> where text for citizens of that ward
    tay-ho = "..."
    [[fee]]                      # any text section (DATED_SECTIONS) may instead be dated versions
    text = "15.000 đồng ..."
    valid_until = 2026-12-31     # valid_from / valid_until: inclusive, both optional
    [[faq]]                      # question-and-answer entries (see `Faq`)
    id = "a1-co-thoi-han"
    question = "..."
    phrasings = ["...", "...", "..."]
    answer = "..."               # or dated versions: [[faq.answer]] text = "..." valid_until = ...

A dated section keeps its plain attribute (`Topic.fee`...) filled with the undated view (the
newest open-ended version, see `pick_version`); `Topic.section(name, today)` gives the version in
force on a day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

ANSWER_SECTIONS = ("documents", "duration", "fee", "where", "online", "eligibility")
"""The sections a citizen can ask about, in menu order."""

DATED_SECTIONS = (
    "summary", "documents", "duration", "fee", "where", "online", "eligibility", "steps", "notes"
)  # fmt: skip
"""The sections that may be written as dated versions instead of a plain value."""

SECTION_LABELS = MappingProxyType(
    {
        "documents": "Hồ sơ cần chuẩn bị",
        "duration": "Thời gian giải quyết",
        "fee": "Lệ phí",
        "where": "Nơi nộp hồ sơ",
        "online": "Nộp trực tuyến",
        "eligibility": "Điều kiện, đối tượng",
        "sources": "Căn cứ pháp lý",
    }
)

Text = str | tuple[str, ...]
"""A section's value: one text, or a list of texts (`documents`, `steps`)."""


@dataclass(frozen=True, slots=True)
class Version:
    """One dated version of a section or of an FAQ answer; both dates inclusive, both optional."""

    text: Text
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None

    def in_force(self, day: dt.date) -> bool:
        """True when `day` lies inside the version's dates."""
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_until is None or day <= self.valid_until
        )


def pick_version(versions: tuple[Version, ...], day: dt.date | None) -> Version | None:
    """The version in force on `day`; with no day, the newest open-ended version.

    With no open-ended version and no day, the one that ends last. None when nothing applies.
    """
    if day is not None:
        found = [v for v in versions if v.in_force(day)]
        return max(found, key=_start, default=None)
    open_ended = [v for v in versions if v.valid_until is None]
    if open_ended:
        return max(open_ended, key=_start)
    return max(versions, key=lambda v: v.valid_until or dt.date.max, default=None)


def _start(version: Version) -> dt.date:
    """When a version starts (the earliest date when it has no start)."""
    return version.valid_from or dt.date.min


@dataclass(frozen=True, slots=True)
class Faq:
    """One question-and-answer entry of a topic.

    `answer` is the undated view; `answers` holds the dated versions when the file gives them.
    `sources` is empty when the entry relies on its topic's sources.
    """

    id: str
    question: str
    phrasings: tuple[str, ...]
    answer: str
    sources: tuple[str, ...] = ()
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    answers: tuple[Version, ...] = ()

    def answer_on(self, day: dt.date | None = None) -> str:
        """The answer in force on `day` ("" when none is); with no day, the undated view."""
        if day is not None and not Version("", self.valid_from, self.valid_until).in_force(day):
            return ""
        if not self.answers:
            return self.answer
        version = pick_version(self.answers, day)
        return str(version.text) if version else ""

    def in_force(self, day: dt.date) -> bool:
        """True when the entry applies on `day` and has an answer for it."""
        return bool(self.answer_on(day))

    def ends_on(self, day: dt.date | None = None) -> dt.date | None:
        """The last day the answer given on `day` applies (None when open-ended)."""
        ends = [self.valid_until]
        if self.answers:
            version = pick_version(self.answers, day)
            ends.append(version.valid_until if version else None)
        return min((d for d in ends if d is not None), default=None)


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
    eligibility: str = ""
    steps: tuple[str, ...] = ()
    notes: str = ""
    short_title: str = ""
    not_applicable: frozenset[str] = frozenset()
    general: bool = False
    """A help topic that concerns every procedure (addresses, submitting online, following a
    dossier): a question about a procedure is close to it too, so it does not count against the
    procedure's confidence (`bot.understanding.ranking.confidence`)."""
    where_by_ward: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    faqs: tuple[Faq, ...] = ()
    versions: Mapping[str, tuple[Version, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    path: str = ""

    @property
    def button_title(self) -> str:
        """The name for a choice button: `short_title`, or `title` when none is set."""
        return self.short_title or self.title

    def version(self, name: str, today: dt.date | None = None) -> Version | None:
        """The dated version of section `name` for `today`; None for a plain or absent one."""
        versions = self.versions.get(name)
        return pick_version(versions, today) if versions else None

    def section(self, name: str, today: dt.date | None = None) -> Text:
        """The content of section `name` on `today` ("" or () when no version is in force)."""
        if name not in self.versions:
            return getattr(self, name)
        version = self.version(name, today)
        if version is not None:
            return version.text
        return () if isinstance(getattr(self, name), tuple) else ""

    def has_section(self, name: str, today: dt.date | None = None) -> bool:
        """True when the section has content on `today` and is not marked not applicable."""
        return name not in self.not_applicable and bool(self.section(name, today))

    def faq(self, faq_id: str) -> Faq | None:
        """The FAQ entry with id `faq_id`, if the topic has one."""
        return next((f for f in self.faqs if f.id == faq_id), None)


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
