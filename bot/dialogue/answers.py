"""The turns the dialogue builds: an answer (a section, an FAQ entry or the overview), choices,
a fallback, a hand-over, small talk, the welcome and the reply to what the bot cannot read."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from bot.config import BotConfig
from bot.dialogue.messages import Button, Reply, Turn
from bot.dialogue.replies import (
    MAX_BUTTONS,
    button,
    finish,
    menu_buttons,
    pick,
    rating_buttons,
    section_buttons,
    topic_button,
)
from bot.dialogue.wards import decided_by_ward, ward_office
from bot.kb.model import Faq, KnowledgeBase, Topic
from bot.kb.render import heading, render_faq, render_section, render_summary, section_body
from bot.understanding import Index, Match

logger = logging.getLogger(__name__)


def answer(
    index: Index,
    topic_id: str,
    section: str | None,
    state: dict[str, Any],
    buttons: bool,
    match: Match | None = None,
    lead: tuple[Reply, ...] = (),
    today: date | None = None,
    faq_id: str | None = None,
) -> Turn:
    """Answer one section of a topic, one of its FAQ entries, or its short overview."""
    kb = index.kb
    topic = kb.topics[topic_id]
    if faq_id is None and match is not None and match.topic == topic_id:
        faq_id = match.faq
    faq = next((f for f in topic.faqs if f.id == faq_id), None)
    if faq is not None:
        return faq_answer(index, topic, faq, state, buttons, match, lead, today)
    section = _section_shown(index, topic, section, match, today)
    text, shown = _section_reply(index, topic, section, state.get("ward"), buttons, today)
    if section is None and state.get("overview") == topic.id:
        # The overview was the last reply: a follow-up that leads back to it ("cháu đang học
        # lớp 8" after căn cước) gets the sections to pick from, not the same text again.
        text = kb.text("overview_again", title=topic.title)
    state["overview"] = topic.id if section is None else None
    also, more = _also_asked(index, topic, section, match, state.get("ward"), today, len(text))
    if more:
        text += more
        shown = [b for b in shown if b.payload != f"#section:{topic.id}:{also}"]
    state.update(topic=topic.id, section=section, fallbacks=0)
    candidates = _answered_candidates(state, topic.id, match)
    return finish(
        kb,
        [*lead, Reply(text, tuple(shown))],
        state,
        buttons,
        kind="answer",
        topic=topic.id,
        section=section,
        candidates=candidates,
        score=match.score if match else 1.0,
    )


def _section_shown(
    index: Index, topic: Topic, section: str | None, match: Match | None, today: date | None
) -> str | None:
    """The section to answer: the one the message asked (as the matcher refines it), or None
    (the overview) when the topic has nothing for it on `today`."""
    if match is not None and match.query is not None and section == match.query.section:
        section = index.section_for(topic.id, match.query)
    if section is None or section == "sources" or section in topic.not_applicable:
        return section
    if section == "steps" and not topic.steps:
        return section if topic.has_section("where", today) else None
    return section if topic.has_section(section, today) else None


MAX_TWO_SECTIONS = 1200
"""Longest reply that answers two sections asked in one message (about one phone screen);
beyond it only the first is answered and the second stays a button."""


def _also_asked(
    index: Index,
    topic: Topic,
    section: str | None,
    match: Match | None,
    ward: str | None,
    today: date | None,
    length: int,
) -> tuple[str | None, str]:
    """(section, its text to follow the first) for the second section a message asks, or
    (None, "") when there is none or it does not fit."""
    if section is None or match is None or match.query is None:
        return None, ""
    also = index.second_section(topic.id, match.query, section)
    if also is None or also in topic.not_applicable or not topic.has_section(also, today):
        return None, ""
    text = "\n\n" + render_section(topic, also, ward, today)
    return (also, text) if length + len(text) <= MAX_TWO_SECTIONS else (None, "")


def _section_reply(
    index: Index,
    topic: Topic,
    section: str | None,
    ward: str | None,
    buttons: bool,
    today: date | None,
) -> tuple[str, list[Button]]:
    """The text and buttons of a section (with the citizen's ward office), or of the overview."""
    kb = index.kb
    if section is None:
        text = render_summary(topic, today) + "\n\n" + kb.text("overview_more")
        return text, section_buttons(kb, topic, None, MAX_BUTTONS, today)
    if section == "steps" and not topic.steps:
        text = composed_steps(kb, topic, ward, today)
    else:
        text = render_section(topic, section, ward, today)
    if section == "where" and ward in kb.wards and ward not in topic.where_by_ward:
        if decided_by_ward(topic):
            text += "\n" + ward_office(kb, ward)
    shown = rating_buttons(kb, topic.id) if buttons else []
    return text, shown + section_buttons(kb, topic, section, MAX_BUTTONS - len(shown), today)


def composed_steps(kb: KnowledgeBase, topic: Topic, ward: str | None, today: date | None) -> str:
    """The steps of a topic that lists none: prepare the documents, file them where (and online
    when the topic can be filed online), get the result (when the time is known)."""
    submit = kb.text("steps_submit", where=section_body(topic, "where", ward, today))
    if topic.has_section("online", today):
        submit += " " + kb.text("steps_online")
    lines = [kb.text("steps_prepare"), submit]
    if topic.has_section("duration", today):
        duration = section_body(topic, "duration", None, today)
        lines.append(kb.text("steps_result", duration=duration))
    body = "\n".join(f"{n}. {line}" for n, line in enumerate(lines, start=1))
    return f"{heading(topic, 'steps')}:\n{body}"


def faq_answer(
    index: Index,
    topic: Topic,
    faq: Faq,
    state: dict[str, Any],
    buttons: bool,
    match: Match | None,
    lead: tuple[Reply, ...],
    today: date | None,
) -> Turn:
    """Answer one FAQ entry of a topic, with the rating and the topic's section buttons."""
    kb = index.kb
    shown = rating_buttons(kb, topic.id) if buttons else []
    shown += section_buttons(kb, topic, None, MAX_BUTTONS - len(shown), today)
    state.update(topic=topic.id, section=None, fallbacks=0, overview=None)
    candidates = _answered_candidates(state, topic.id, match)
    return finish(
        kb,
        [*lead, Reply(render_faq(topic, faq, today), tuple(shown))],
        state,
        buttons,
        kind="answer",
        topic=topic.id,
        faq=faq.id,
        candidates=candidates,
        score=match.score if match else 1.0,
    )


MAX_OTHERS = 2
"""Other topics offered after an unhelpful answer (with the button to reach staff)."""


def _answered_candidates(
    state: dict[str, Any], topic_id: str, match: Match | None
) -> tuple[str, ...]:
    """The candidates of an answer: the matcher's when it chose this topic, else the topic
    alone. The other topics among them are kept (`state["others"]`, at most two): if the
    citizen finds the answer unhelpful, they are offered (`not_helpful`)."""
    committed = match is not None and match.topic == topic_id
    candidates = tuple(c for c, _ in match.candidates) if committed else (topic_id,)
    others = [c for c in candidates if c != topic_id][:MAX_OTHERS]
    if others:
        state["others"] = others
    else:
        state.pop("others", None)
    return candidates


def not_helpful(index: Index, topic_id: str, state: dict[str, Any], buttons: bool) -> Turn:
    """The reply to "👎 Chưa hữu ích" under an answer: thanks, and when the matcher had found
    other topics close to the question, those as buttons (for the section asked, if any) with
    one to reach staff; otherwise how to ask again. The rating is recorded either way."""
    kb = index.kb
    rating = (topic_id, False)
    others = [t for t in state.get("others") or () if t in kb.topics]  # after a reload
    if state.get("topic") != topic_id or not others:
        text = kb.text("rating_thanks_not_helpful")
        return finish(kb, [Reply(text)], state, buttons, kind="feedback", rating=rating)
    section = state.get("section")
    shown = [topic_button(kb.topics[t], _pick(t, section)) for t in others]
    shown.append(button(kb.text("button_staff"), "#staff"))
    state.pop("others", None)
    reply = Reply(kb.text("rating_not_helpful_choices"), tuple(shown))
    return finish(kb, [reply], state, buttons, kind="feedback", rating=rating)


def _pick(topic_id: str, section: str | None) -> str:
    """The payload of a button that picks a topic: its section when one was asked."""
    return f"#section:{topic_id}:{section}" if section else f"#topic:{topic_id}"


def choices(
    index: Index, match: Match, state: dict[str, Any], buttons: bool, lead: tuple[Reply, ...] = ()
) -> Turn:
    """Offer the closest topics as buttons (with the section asked, if any). When an
    out-of-scope domain is nearly as close (`Match.near_domain`), the prompt first names the
    office that handles it: the question may not be about a procedure of the ward at all."""
    kb = index.kb
    section = match.section
    shown = []
    for topic_id, _ in match.candidates:
        shown.append(topic_button(kb.topics[topic_id], _pick(topic_id, section)))
    prompt = domain_text(kb, "choices_near_domain", match.near_domain) or kb.text("choices_prompt")
    return finish(
        kb,
        [*lead, Reply(prompt, tuple(shown))],
        state,
        buttons,
        kind="choices",
        candidates=tuple(c for c, _ in match.candidates),
        score=match.score,
    )


def fallback(
    index: Index,
    match: Match | None,
    state: dict[str, Any],
    settings: BotConfig,
    buttons: bool,
    lead: tuple[Reply, ...] = (),
    said: str = "",
) -> Turn:
    """Apologise, suggest how to ask, show the menu and hotline; hand over after repeats."""
    kb = index.kb
    count = int(state.get("fallbacks", 0)) + 1
    candidates = tuple(c for c, _ in match.candidates) if match else ()
    score = match.score if match else 0.0
    if count >= max(1, settings.fallbacks_before_handover):
        return handover(
            index, state, buttons, candidates=candidates, score=score, after_fallbacks=True
        )
    state["fallbacks"] = count
    text = said or pick(kb, "fallback", count - 1)
    contact = dict(kb.contact)
    if contact.get("hotline"):
        text += "\n" + kb.text(
            "fallback_hotline", hotline=contact["hotline"], ai_hotline=contact.get("ai_hotline", "")
        )
    return finish(
        kb,
        [*lead, Reply(text, menu_buttons(kb))],
        state,
        buttons,
        kind="fallback",
        candidates=candidates,
        score=score,
        unanswered=True,
    )


def handover(
    index: Index,
    state: dict[str, Any],
    buttons: bool,
    *,
    candidates: tuple[str, ...] = (),
    score: float = 0.0,
    after_fallbacks: bool = False,
) -> Turn:
    """Flag the conversation for staff and tell the citizen a person will reply."""
    kb = index.kb
    text = kb.text("handover")
    if after_fallbacks:
        text = kb.text("handover_after_fallbacks") + "\n\n" + text
    state["fallbacks"] = 0
    return finish(
        kb,
        [Reply(text)],
        state,
        buttons,
        kind="handover",
        handover=True,
        unanswered=after_fallbacks,
        candidates=candidates,
        score=score,
    )


def smalltalk(index: Index, key: str, state: dict[str, Any], buttons: bool, now: datetime) -> Turn:
    """A short reply that fits, then the menu."""
    kb = index.kb
    text = pick(kb, key, now.second)
    return finish(kb, [Reply(text, menu_buttons(kb))], state, buttons, kind="smalltalk")


def out_of_scope(
    index: Index,
    match: Match,
    state: dict[str, Any],
    settings: BotConfig,
    buttons: bool,
    lead: tuple[Reply, ...],
) -> Turn:
    """A fallback that says which office handles what the message is about."""
    text = domain_text(index.kb, "out_of_scope", match.domain) or ""
    return fallback(index, match, state, settings, buttons, lead, text)


def domain_text(kb: KnowledgeBase, key: str, domain: str | None) -> str | None:
    """Text `key` filled with an out-of-scope domain's name and where to ask (None: no such
    domain in `lexicon/out_of_scope.toml`)."""
    entry = kb.lexicon.get("out_of_scope", {}).get(domain or "")
    if not entry:
        return None
    return kb.text(key, name=entry.get("name", ""), where=entry.get("where", ""))


def welcome(
    index: Index, settings: BotConfig, buttons: bool = True, state: Mapping[str, Any] | None = None
) -> Turn:
    """The greeting sent when a citizen follows the OA (`state`: what to keep, if anything)."""
    kb = index.kb
    return finish(
        kb,
        [Reply(kb.text("welcome"), menu_buttons(kb))],
        dict(state or {}),
        buttons,
        kind="welcome",
    )


def unsupported(
    kind: str,
    index: Index,
    settings: BotConfig,
    buttons: bool = True,
    state: Mapping[str, Any] | None = None,
) -> Turn:
    """The reply to an image, sticker, file or other message the bot cannot read.

    Pass the conversation `state` to keep it in the returned Turn; without it the Turn's state
    holds only what this reply needs (numbered choices when buttons are off).
    """
    kb = index.kb
    logger.debug("unsupported message kind %s", kind)
    return finish(
        kb,
        [Reply(kb.text("unsupported"), menu_buttons(kb))],
        dict(state or {}),
        buttons,
        kind="unsupported",
    )
