"""What the bot says: replies with optional buttons, and the result of one dialogue turn."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Button:
    """A choice under a reply; tapping it sends `payload` back as the citizen's text."""

    title: str
    payload: str


@dataclass(frozen=True, slots=True)
class Reply:
    """One message to a citizen: text (any length; the outbox splits it) and buttons."""

    text: str
    buttons: tuple[Button, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The outbox payload form of this reply."""
        data: dict[str, Any] = {"text": self.text}
        if self.buttons:
            data["buttons"] = [{"title": b.title, "payload": b.payload} for b in self.buttons]
        return data


@dataclass(frozen=True, slots=True)
class Turn:
    """The outcome of one citizen message: what to send and what to remember.

    `kind` is one of answer, choices, fallback, smalltalk, handover, feedback, dossier, privacy,
    welcome, unsupported, silent. `topic` is set only when the bot commits to an answer; `faq`
    is the id of the topic's FAQ entry that answered, if one did.
    `state` is the new JSON-serialisable conversation state (None: unchanged). `unanswered`
    asks the pipeline to store the question for staff; `rating` is (topic, helpful);
    `handover` flags the conversation.
    """

    replies: tuple[Reply, ...]
    state: Mapping[str, Any] | None = None
    kind: str = "answer"
    topic: str | None = None
    section: str | None = None
    candidates: tuple[str, ...] = ()
    score: float = 0.0
    faq: str | None = None
    unanswered: bool = False
    rating: tuple[str, bool] | None = None
    handover: bool = False
