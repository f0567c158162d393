"""What the bot says: replies with optional buttons, and the result of one dialogue turn."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
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


class TurnKind(StrEnum):
    """What kind of turn the bot took (stored in `turns.kind`, counted by the console)."""

    ANSWER = "answer"
    CHOICES = "choices"
    MENU = "menu"
    FALLBACK = "fallback"
    SMALLTALK = "smalltalk"
    HANDOVER = "handover"
    FEEDBACK = "feedback"
    WARD = "ward"
    WELCOME = "welcome"
    UNSUPPORTED = "unsupported"
    DOSSIER = "dossier"
    PRIVACY = "privacy"


@dataclass(frozen=True, slots=True)
class Turn:
    """The outcome of one citizen message: what to send and what to remember.

    `kind` is a `TurnKind` (a plain string is checked against it). `topic` is set only when the
    bot commits to an answer; `faq` is the id of the topic's FAQ entry that answered, if one did.
    `state` is the new JSON-serialisable conversation state (None: unchanged). `unanswered`
    asks the pipeline to store the question for staff; `rating` is (topic, helpful);
    `handover` flags the conversation.
    """

    replies: tuple[Reply, ...]
    state: Mapping[str, Any] | None = None
    kind: TurnKind = TurnKind.ANSWER
    topic: str | None = None
    section: str | None = None
    candidates: tuple[str, ...] = ()
    score: float = 0.0
    faq: str | None = None
    unanswered: bool = False
    rating: tuple[str, bool] | None = None
    handover: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", TurnKind(self.kind))  # an unknown kind is a bug
