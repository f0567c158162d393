"""What the bot says: replies with optional buttons, and the result of one dialogue turn."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
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
class Conversation:
    """A citizen's conversation as a turn reads it, before deciding: the dialogue state (a
    read-only copy; the dialogue returns the new one in its Turn) and whether staff hold it."""

    user_id: str
    state: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    staff_active_until: float | None = None
    handover: bool = False

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Conversation:
        """From `storage.core.load_conversation`'s row."""
        return cls(
            user_id=str(row["user_id"]),
            state=MappingProxyType(copy.deepcopy(dict(row.get("state") or {}))),
            staff_active_until=row.get("staff_active_until"),
            handover=bool(row.get("handover")),
        )

    def silenced(self, now: float) -> bool:
        """Whether staff are talking with the citizen at `now` (the bot keeps quiet)."""
        return self.staff_active_until is not None and self.staff_active_until > now


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
