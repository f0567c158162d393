"""Plain-text answers built from a topic, short enough for a phone screen and Zalo's limit."""

from __future__ import annotations

from bot.kb.model import ANSWER_SECTIONS, SECTION_LABELS, Topic, Ward

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

RENDERABLE = (*ANSWER_SECTIONS, "steps", "notes", "legal_basis")
"""Every section `render_section` accepts."""


def label(section: str) -> str:
    """The Vietnamese heading of a section."""
    return SECTION_LABELS.get(section) or EXTRA_LABELS[section]


def _ward_id(ward: str | Ward | None) -> str | None:
    """A ward id from an id or a Ward."""
    return ward.id if isinstance(ward, Ward) else ward


def _body(topic: Topic, section: str, ward: str | Ward | None = None) -> str:
    """The content of one section without its heading ("" when empty)."""
    if section == "where":
        ward_id = _ward_id(ward)
        if ward_id and ward_id in topic.where_by_ward:
            return topic.where_by_ward[ward_id]
        return topic.where
    if section == "online":
        lines = [topic.online] if topic.online else []
        if topic.online_link:
            lines.append(topic.online_link)
        return "\n".join(lines)
    if section == "steps":
        return "\n".join(f"{n}. {step}" for n, step in enumerate(topic.steps, start=1))
    value = getattr(topic, section)
    if isinstance(value, tuple):
        return "\n".join(BULLET + item for item in value)
    return value


def render_section(topic: Topic, section: str, ward: str | Ward | None = None) -> str:
    """One section of `topic` as a short message headed by the topic and section names.

    `ward` (a new-ward id or Ward) picks the ward-specific `where` text when there is one. A
    section marked not applicable, or left empty, says so in one sentence.
    """
    if section not in RENDERABLE:
        raise ValueError(f"unknown section {section!r}")
    heading = f"{topic.title} – {label(section)}"
    if section in topic.not_applicable:
        return f"{heading}: không áp dụng cho thủ tục này."
    body = _body(topic, section, ward)
    if not body:
        return f"{heading}: chưa có thông tin."
    if section in ("documents", "steps", "legal_basis") or "\n" in body:
        return f"{heading}:\n{body}"
    return f"{heading}: {body}"


def render_overview(topic: Topic, ward: str | Ward | None = None) -> str:
    """The whole answer for `topic` in one message: summary, then each applicable section."""
    parts = [topic.title.upper()]
    if topic.summary:
        parts.append(topic.summary)
    if topic.authority:
        parts.append(f"{label('authority')}: {topic.authority}")
    for section in ANSWER_SECTIONS:
        if not topic.has_section(section) and not (section == "online" and topic.online_link):
            continue
        if section in topic.not_applicable:
            continue
        body = _body(topic, section, ward)
        joiner = "\n" if section == "documents" or "\n" in body else " "
        parts.append(f"{label(section)}:{joiner}{body}")
    parts.append(f"Thông tin cập nhật ngày {topic.reviewed:%d/%m/%Y}.")
    return "\n\n".join(parts)


def render_summary(topic: Topic) -> str:
    """The title line and summary, for the overview that then offers one button per section."""
    if not topic.summary:
        return topic.title.upper()
    return f"{topic.title.upper()}\n{topic.summary}"


def rendered_answers(topic: Topic) -> dict[str, str]:
    """Every message the bot can send for `topic` (overview, each section, each ward's where)."""
    answers = {"overview": render_overview(topic), "summary": render_summary(topic)}
    for section in RENDERABLE:
        answers[section] = render_section(topic, section)
    for ward in topic.where_by_ward:
        answers[f"where_by_ward.{ward}"] = render_section(topic, "where", ward)
        answers[f"overview ({ward})"] = render_overview(topic, ward)
    return answers
