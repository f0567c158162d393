"""Building the bot's replies: buttons cut to Zalo's limits, the menu, numbered choices."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.dialogue.messages import Button, Reply, Turn
from bot.kb.model import ANSWER_SECTIONS, KnowledgeBase, Topic

BUTTON_TITLE_MAX = 35
"""Characters of a button title (the default of `zalo.button_title_max`)."""
MAX_BUTTONS = 5


def shorten(title: str, limit: int = BUTTON_TITLE_MAX) -> str:
    """`title` cut to `limit` characters at a word boundary, with "…" when cut.

    A word is never cut in half ("Cấp Giấy xác nhận tình trạng hôn…", not "…hôn n…"), unless
    the words before it fill less than half the limit, and a bracketed aside is dropped whole.
    """
    if len(title) <= limit:
        return title
    cut = title[: limit - 1]
    if not title[limit - 1].isspace():
        space = cut.rfind(" ")
        if space > limit // 2:
            cut = cut[:space]
    if cut.count("(") > cut.count(")") and cut.rfind("(") > limit // 2:
        cut = cut[: cut.rfind("(")]  # no half of a bracketed aside
    return cut.rstrip(" ,;:–-(") + "…"


def button(title: str, payload: str, limit: int = BUTTON_TITLE_MAX) -> Button:
    """A button with its title shortened to what Zalo shows."""
    return Button(shorten(title, limit), payload)


def topic_button(topic: Topic, payload: str, limit: int = BUTTON_TITLE_MAX) -> Button:
    """A button naming a topic: its title, or its short title when the title is too long."""
    title = topic.title
    if len(title) > limit:
        title = getattr(topic, "short_title", "") or title
    return button(title, payload, limit)


def menu_buttons(kb: KnowledgeBase) -> tuple[Button, ...]:
    """The main menu as buttons."""
    return tuple(button(m.title, m.payload) for m in kb.menu[:MAX_BUTTONS])


def pick(kb: KnowledgeBase, key: str, n: int) -> str:
    """The `n`-th variant of a text, cycling."""
    variants = kb.variants(key)
    return variants[n % len(variants)]


def finish(
    kb: KnowledgeBase, replies: list[Reply], state: dict[str, Any], buttons: bool, **fields: Any
) -> Turn:
    """The Turn; when buttons are off, the last reply's buttons become a numbered list.

    The payloads of numbered choices are kept in `state["pending"]`, so that a typed "2" picks
    the second one in the next turn.
    """
    state.pop("pending", None)
    if fields.get("kind") != "answer":
        state.pop("overview", None)  # the overview is no longer the last reply
    replies = list(replies)
    if not buttons and replies and replies[-1].buttons:
        last = replies[-1]
        lines = [f"{n}. {b.title}" for n, b in enumerate(last.buttons, start=1)]
        replies[-1] = Reply("\n".join([last.text, "", *lines, kb.text("numbered_hint")]))
        state["pending"] = [b.payload for b in last.buttons]
    return Turn(replies=tuple(replies), state=state, **fields)


def section_buttons(
    kb: KnowledgeBase,
    topic: Topic,
    skip: str | None,
    limit: int,
    today: dt.date | None = None,
) -> list[Button]:
    """Buttons for the other sections of `topic` that have content on `today`."""
    found = []
    for section in ANSWER_SECTIONS:
        if section != skip and topic.has_section(section, today):
            found.append(button(kb.text(f"button_{section}"), f"#section:{topic.id}:{section}"))
    return found[:limit]


def rating_buttons(kb: KnowledgeBase, topic_id: str) -> list[Button]:
    """The helpful / not helpful buttons under an answer."""
    return [
        button(kb.text("button_helpful"), f"#rate:{topic_id}:1"),
        button(kb.text("button_not_helpful"), f"#rate:{topic_id}:0"),
    ]
