"""What the bot says about wards: the new wards (since 1/7/2025) and the old wards of quận Tây
Hồ, which `bot.understanding.wardnames` finds in a message. The ward a citizen names is
remembered in the dialogue state (`ward`, `old_ward`, `explained`), and a message that only
names a ward gets one short reply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.dialogue.messages import Reply, Turn
from bot.dialogue.replies import MAX_BUTTONS, finish, menu_buttons, rating_buttons, section_buttons
from bot.kb.model import KnowledgeBase, Topic
from bot.kb.render import render_section
from bot.understanding.normalize import clean, fold


def in_sentence(name: str) -> str:
    """A ward name as written inside a sentence: "Phường Tây Hồ" -> "phường Tây Hồ"."""
    return name[:1].lower() + name[1:] if name.lower().startswith("phường ") else name


def new_ward_names(kb: KnowledgeBase, old_id: str) -> str:
    """The new wards an old ward went to, as a list inside a sentence."""
    old = kb.old_wards[old_id]
    return ", ".join(in_sentence(kb.wards[w].name) for w in old.new_wards if w in kb.wards)


def explain_old_ward(kb: KnowledgeBase, old_id: str) -> str:
    """Where an old ward went in the 2025 reorganisation, for the citizen."""
    old = kb.old_wards[old_id]
    return kb.text(
        "ward_old_explained",
        old=old.name,
        new=new_ward_names(kb, old_id) or "các phường mới",
        note=old.note or "",
    ).strip()


def decided_by_ward(topic: Topic) -> bool:
    """True when the ward's People's Committee decides the procedure (its office is the place).

    Procedures of the ward police, the city or other bodies are filed elsewhere, so the ward's
    service point is not suggested for them.
    """
    return "ubnd phuong" in " ".join(fold(w) for w in clean(topic.authority).split())


def filed_by_ward(topic: Topic) -> bool:
    """True when where to file `topic` depends on the citizen's new ward."""
    return bool(topic.where_by_ward) or decided_by_ward(topic)


def ward_office(kb: KnowledgeBase, ward_id: str) -> str:
    """The service point of a new ward, one line."""
    ward = kb.wards[ward_id]
    address = f", {ward.address}" if ward.address else ""
    return kb.text("ward_office", ward=in_sentence(ward.name), office=ward.office, address=address)


def remember_wards(
    kb: KnowledgeBase, named: Sequence[tuple[str, str]], state: dict[str, Any]
) -> tuple[Reply, ...]:
    """Remember the wards named (kind, id) in `state`; explain the 2025 change for an old ward
    the first time it is named."""
    replies = []
    for kind, ward_id in named:
        if kind == "ward" and ward_id in kb.wards:
            state["ward"] = ward_id
            state.pop("old_ward", None)
        elif kind == "old_ward" and ward_id in kb.old_wards:
            old = kb.old_wards[ward_id]
            state["old_ward"] = ward_id
            if state.get("explained") != ward_id:
                state["explained"] = ward_id
                replies.append(Reply(explain_old_ward(kb, ward_id)))
            if len(old.new_wards) == 1 and old.new_wards[0] in kb.wards:
                state["ward"] = old.new_wards[0]
            else:
                state.pop("ward", None)
    return tuple(replies)


def ward_where(kb: KnowledgeBase, topic: Topic, ward_id: str | None) -> str:
    """Where `topic` is filed by citizens of a new ward, when that depends on the ward ("")."""
    if ward_id not in kb.wards:
        return ""
    if ward_id in topic.where_by_ward:
        return render_section(topic, "where", ward_id)
    if decided_by_ward(topic):
        return ward_office(kb, ward_id)
    return ""


def ward_only(
    kb: KnowledgeBase, state: Mapping[str, Any], lead: Sequence[Reply], buttons: bool
) -> Turn:
    """The reply to a message that only names a ward, as one short message.

    It holds the 2025 change when an old ward is named (`lead`, first time only), what the bot
    now remembers, and, in a conversation about a procedure, where to file it: in that ward
    for a procedure filed by ward, else where the procedure is filed whatever the ward (not
    when that was the last answer: never the last answer again); without a conversation, the
    ward's service point and the menu.
    """
    state = dict(state)
    parts = [r.text for r in lead]
    ward_id = state.get("ward") if state.get("ward") in kb.wards else None
    topic = kb.topics.get(state.get("topic") or "")
    if ward_id:
        parts.append(kb.text("ward_noted", ward=in_sentence(kb.wards[ward_id].name)))
    elif state.get("old_ward") in kb.old_wards and (topic is None or filed_by_ward(topic)):
        old = kb.old_wards[state["old_ward"]]
        parts.append(kb.text("ward_old_unsure", old=old.name, new=new_ward_names(kb, old.id)))
    if topic is None:
        if ward_id:
            parts.append(ward_office(kb, ward_id))
        parts.append(kb.text("choices_prompt"))
        return finish(kb, [Reply("\n".join(parts), menu_buttons(kb))], state, buttons, kind="ward")
    where = ward_where(kb, topic, ward_id)
    if not where and state.get("section") != "where" and topic.has_section("where"):
        where = render_section(topic, "where")
    if not where:
        shown = section_buttons(kb, topic, None, MAX_BUTTONS)
        return finish(kb, [Reply("\n".join(parts), tuple(shown))], state, buttons, kind="ward")
    shown = rating_buttons(kb, topic.id) if buttons else []
    shown += section_buttons(kb, topic, "where", MAX_BUTTONS - len(shown))
    state.update(section="where", fallbacks=0)
    return finish(
        kb,
        [Reply("\n".join([*parts, where]), tuple(shown))],
        state,
        buttons,
        kind="answer",
        topic=topic.id,
        section="where",
        candidates=(topic.id,),
        score=1.0,
    )
