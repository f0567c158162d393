"""Building the bot's replies: buttons cut to Zalo's limits, the menu, numbered choices."""

from __future__ import annotations

from typing import Any

from bot.kb.model import ANSWER_SECTIONS, KnowledgeBase, Topic
from bot.messages import Button, Reply, Turn

BUTTON_TITLE_MAX = 35
MAX_BUTTONS = 5


def button(title: str, payload: str) -> Button:
    """A button with its title cut to what Zalo shows."""
    if len(title) > BUTTON_TITLE_MAX:
        title = title[: BUTTON_TITLE_MAX - 1].rstrip() + "…"
    return Button(title, payload)


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
    replies = list(replies)
    if not buttons and replies and replies[-1].buttons:
        last = replies[-1]
        lines = [f"{n}. {b.title}" for n, b in enumerate(last.buttons, start=1)]
        replies[-1] = Reply("\n".join([last.text, "", *lines, kb.text("numbered_hint")]))
        state["pending"] = [b.payload for b in last.buttons]
    return Turn(replies=tuple(replies), state=state, **fields)


def section_buttons(kb: KnowledgeBase, topic: Topic, skip: str | None, limit: int) -> list[Button]:
    """Buttons for the other sections of `topic`."""
    found = []
    for section in ANSWER_SECTIONS:
        if section != skip and topic.has_section(section):
            found.append(button(kb.text(f"button_{section}"), f"#section:{topic.id}:{section}"))
    return found[:limit]
