"""Plain-text answers built from a topic, short enough for a phone screen and Zalo's limit."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

from bot.kb.model import ANSWER_SECTIONS, DATED_SECTIONS, SECTION_LABELS, Faq, Topic, Ward

ZALO_TEXT_LIMIT = 2000
"""Characters Zalo accepts in one text message."""

BULLET = "• "

EXTRA_LABELS = {
    "summary": "Tóm tắt",
    "steps": "Các bước thực hiện",
    "notes": "Lưu ý",
    "legal_basis": "Căn cứ pháp lý",
    "authority": "Cơ quan giải quyết",
}
"""Headings of the sections that are not in the answer menu but can still be shown."""

RENDERABLE = (*ANSWER_SECTIONS, "steps", "notes", "legal_basis", "sources")
"""Every section `render_section` accepts."""

UNTIL_NOTICE_DAYS = 60
"""A version in force that ends within this many days says until when (a fee reduction ending
on 31/12 is worth knowing in November); further ahead the date is noise on a phone screen."""

_URL = re.compile(r"^https?://", re.IGNORECASE)

OFFICIAL_DOMAINS = ("gov.vn", "chinhphu.vn", "vbpl.vn", "quochoi.vn")
"""Websites of the State: links there are given as the official source of an answer."""
SOURCE_LINKS_SHOWN = 3
"""Links in the "căn cứ pháp lý" answer: enough to check, short enough for a phone."""


def label(section: str) -> str:
    """The Vietnamese heading of a section."""
    return SECTION_LABELS.get(section) or EXTRA_LABELS[section]


def _ward_id(ward: str | Ward | None) -> str | None:
    """A ward id from an id or a Ward."""
    return ward.id if isinstance(ward, Ward) else ward


def until_note(end: dt.date | None, today: dt.date | None, text: str = "") -> str:
    """ "(áp dụng đến hết dd/mm/yyyy)" when a text in force on `today` ends soon, else ""."""
    if end is None or today is None or not 0 <= (end - today).days <= UNTIL_NOTICE_DAYS:
        return ""
    if f"{end:%d/%m/%Y}" in text or f"{end.day}/{end.month}/{end.year}" in text:
        return ""  # the text already says it
    return f"(áp dụng đến hết {end:%d/%m/%Y})"


def _with_note(body: str, note: str) -> str:
    """`body` followed by `note`: on the same line for one line, on its own line otherwise."""
    if not note or not body:
        return body
    return f"{body}\n{note}" if "\n" in body else f"{body} {note}"


def heading(topic: Topic, section: str) -> str:
    """ "<topic title> – <section label>", the first line of a section's message."""
    return f"{topic.title} – {label(section)}"


def section_body(
    topic: Topic, section: str, ward: str | Ward | None = None, today: dt.date | None = None
) -> str:
    """The content of one section on `today`, without its heading ("" when empty)."""
    ward_id = _ward_id(ward)
    if section == "where" and ward_id and ward_id in topic.where_by_ward:
        return topic.where_by_ward[ward_id]
    if section == "sources":
        return sources_body(topic)
    value = topic.section(section, today) if section in DATED_SECTIONS else getattr(topic, section)
    if section == "online":
        lines = [value] if value else []
        if topic.online_link:
            lines.append(topic.online_link)
        body = "\n".join(lines)
    elif section == "steps":
        body = "\n".join(f"{n}. {step}" for n, step in enumerate(value, start=1))
    elif isinstance(value, tuple):
        body = "\n".join(BULLET + item for item in value)
    else:
        body = value
    version = topic.version(section, today) if section in DATED_SECTIONS else None
    end = version.valid_until if version else None
    return _with_note(body, until_note(end, today, body))


def _official(link: str) -> bool:
    """True for a link on a State website (the portal, the Government, the legal databases)."""
    host = urlsplit(link).hostname or ""
    return any(host == d or host.endswith("." + d) for d in OFFICIAL_DOMAINS)


def sources_body(topic: Topic, sources: tuple[str, ...] = ()) -> str:
    """Legal basis, official links and review date of `topic` (`sources` overrides its own).

    Links on State websites come first as "Nguồn chính thức"; only when there are none are the
    other links given, as "Nguồn tham khảo". At most `SOURCE_LINKS_SHOWN` links are shown.
    """
    sources = sources or topic.sources
    named = [s for s in sources if not _URL.match(s) and s not in topic.legal_basis]
    lines = [BULLET + item for item in (*topic.legal_basis, *named)]
    links = [s for s in sources if _URL.match(s)]
    official = [s for s in links if _official(s)]
    if official:
        lines += ["Nguồn chính thức:", *official[:SOURCE_LINKS_SHOWN]]
    elif links:
        lines += ["Nguồn tham khảo:", *links[:SOURCE_LINKS_SHOWN]]
    lines.append(f"Thông tin cập nhật ngày {topic.reviewed:%d/%m/%Y}.")
    return "\n".join(lines)


def render_section(
    topic: Topic, section: str, ward: str | Ward | None = None, today: dt.date | None = None
) -> str:
    """One section of `topic` as a short message headed by the topic and section names.

    `ward` (a new-ward id or Ward) picks the ward-specific `where` text when there is one.
    `today` picks the dated version in force (None: the newest open-ended one); with none in
    force, or a section left empty, the message says there is no information; a section marked
    not applicable says so. `sources` gives the legal basis, official links and review date.
    """
    if section not in RENDERABLE:
        raise ValueError(f"unknown section {section!r}")
    title = heading(topic, section)
    if section in topic.not_applicable:
        return f"{title}: không áp dụng cho thủ tục này."
    body = section_body(topic, section, ward, today)
    if not body:
        return f"{title}: chưa có thông tin."
    if section in ("documents", "steps", "legal_basis", "sources") or "\n" in body:
        return f"{title}:\n{body}"
    return f"{title}: {body}"


def render_sources(topic: Topic, faq: Faq | None = None) -> str:
    """The answer to "căn cứ pháp lý" / "nguồn": legal basis, official links, review date.

    After an FAQ answer, pass `faq`: its own `sources` replace the topic's when it has some.
    """
    body = sources_body(topic, faq.sources if faq else ())
    return f"{heading(topic, 'sources')}:\n{body}"


def render_faq(topic: Topic, faq: Faq, today: dt.date | None = None) -> str:
    """An FAQ entry's answer in force on `today`, under its question.

    With no answer in force on `today` the message says so (callers check `faq.in_force`).
    """
    answer = faq.answer_on(today)
    if not answer:
        return f"{faq.question}\nHiện chưa có thông tin áp dụng cho câu hỏi này ({topic.title})."
    return f"{faq.question}\n{_with_note(answer, until_note(faq.ends_on(today), today, answer))}"


def render_overview(
    topic: Topic, ward: str | Ward | None = None, today: dt.date | None = None
) -> str:
    """The whole answer for `topic` in one message: summary, then each applicable section."""
    parts = [topic.title.upper()]
    summary = section_body(topic, "summary", None, today)
    if summary:
        parts.append(summary)
    if topic.authority:
        parts.append(f"{label('authority')}: {topic.authority}")
    for section in ANSWER_SECTIONS:
        if section in topic.not_applicable:
            continue
        if not topic.has_section(section, today) and not (
            section == "online" and topic.online_link
        ):
            continue
        body = section_body(topic, section, ward, today)
        joiner = "\n" if section == "documents" or "\n" in body else " "
        parts.append(f"{label(section)}:{joiner}{body}")
    parts.append(f"Thông tin cập nhật ngày {topic.reviewed:%d/%m/%Y}.")
    return "\n\n".join(parts)


def render_summary(topic: Topic, today: dt.date | None = None) -> str:
    """The title line and summary, for the overview that then offers one button per section."""
    summary = section_body(topic, "summary", None, today)
    if not summary:
        return topic.title.upper()
    return f"{topic.title.upper()}\n{summary}"


def rendered_answers(topic: Topic, today: dt.date | None = None) -> dict[str, str]:
    """Every message the bot sends for `topic` on `today`: summary, sections, each ward's where.

    The whole-topic `render_overview` is not among them: the bot answers a topic with its
    summary and one button per section, so only those must fit Zalo's limit.
    """
    answers = {"summary": render_summary(topic, today)}
    for section in RENDERABLE:
        answers[section] = render_section(topic, section, today=today)
    for ward in topic.where_by_ward:
        answers[f"where_by_ward.{ward}"] = render_section(topic, "where", ward, today)
    return answers
