"""What became of every turn: a pure classification of one citizen's turns, in time order.

A turn's recorded `kind` says what the bot did; its outcome says how it went, judged from what
the citizen did next:

- an answer (`answered`, or `faq` when an FAQ entry answered) is `rephrased` when the citizen
  asks a similar question again within `REPHRASE_SECONDS`, `rated_down` / `rated_up` when they
  tapped 👎 / 👍 for it; it is good only if not rephrased, not rated 👎 and not followed by a
  hand-over;
- choices are `choices_taken` when the next message picks one (a button payload or a number),
  `choices_ignored` when the citizen typed something else, `abandoned` when they left;
- a fallback is `fallback`, or `abandoned` when nothing followed;
- a hand-over is `handover`, with the reason `after_fallbacks` or `asked_person`.

Other kinds (small talk, welcome, feedback, dossier...) keep their kind as outcome and are not
questions. A choices turn whose pick led to an answer is judged by that answer; the pick itself
is not a second question. Outcomes of turns younger than `FINAL_SECONDS` may still change.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.understanding.similarity import similarity

REPHRASE_SECONDS = 300
"""A similar question within five minutes of an answer means the answer did not help."""
REPHRASE_SIMILARITY = 60
"""token_set_ratio (0-100) of two folded questions above which the second repeats the first."""
ABANDON_SECONDS = 1800
"""Choices or a fallback with no message in the next half hour: the citizen gave up."""
RATING_SECONDS = 86400
"""A 👍/👎 counts for the latest answer of its topic given in the day before it."""
FINAL_SECONDS = RATING_SECONDS
"""After this, nothing the citizen does can change a turn's outcome."""

QUESTION_KINDS = frozenset({"answer", "choices", "fallback", "handover"})
CLASSES = (
    "answered",
    "faq",
    "rated_up",
    "rated_down",
    "rephrased",
    "choices_taken",
    "choices_ignored",
    "fallback",
    "handover",
    "abandoned",
)
"""Outcome classes of questions, in the order the dashboard shows them."""
LABELS = {
    "answered": "Trả lời",
    "faq": "Trả lời bằng câu hỏi thường gặp",
    "rated_up": "Trả lời, được đánh giá 👍",
    "rated_down": "Trả lời, bị đánh giá 👎",
    "rephrased": "Trả lời, người dân phải hỏi lại",
    "choices_taken": "Đưa lựa chọn, người dân đã chọn",
    "choices_ignored": "Đưa lựa chọn, người dân bỏ qua",
    "fallback": "Chưa hiểu câu hỏi",
    "handover": "Chuyển cán bộ",
    "abandoned": "Người dân bỏ đi",
}
REASON_LABELS = {
    "after_fallbacks": "Bot không hiểu nhiều lần liên tiếp",
    "asked_person": "Người dân yêu cầu gặp cán bộ",
}
FLAG_REASONS = {"wrong": "Sai", "outdated": "Đã cũ, hết hiệu lực", "incomplete": "Thiếu thông tin"}
"""Why staff flag an answer of the bot."""
PICK = re.compile(r"^#(topic|section|faq):|^\d{1,2}$")
"""A message that picks an offered button (its payload) or numbered choice (a typed number)."""


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """One recorded turn as the classifier needs it (text None when unknown or purged)."""

    id: int
    at: float
    kind: str
    topic: str | None = None
    faq: str | None = None
    text: str | None = None


@dataclass(frozen=True, slots=True)
class Rating:
    """A citizen's 👍 (helpful) or 👎 for a topic's answer."""

    at: float
    topic: str
    helpful: bool


@dataclass(frozen=True, slots=True)
class Classified:
    """The outcome of one turn; `good` is None for kinds that are never questions."""

    turn_id: int
    outcome: str
    question: bool
    good: bool | None
    rating: int | None = None
    reason: str | None = None
    final: bool = True


def is_pick(text: str | None) -> bool:
    """True when the message picks an offered choice rather than asking anew."""
    return bool(text) and PICK.match(text.strip()) is not None


def _ratings_by_turn(turns: Sequence[TurnRecord], ratings: Sequence[Rating]) -> dict[int, int]:
    """Each rating given to the latest answer of its topic before it (the last rating wins)."""
    found: dict[int, int] = {}
    for rating in sorted(ratings, key=lambda r: r.at):
        target = None
        for turn in turns:
            if turn.at > rating.at:
                break
            if turn.kind == "answer" and turn.topic == rating.topic:
                target = turn
        if target is not None and rating.at - target.at <= RATING_SECONDS:
            found[target.id] = 1 if rating.helpful else -1
    return found


def _next_question(turns: Sequence[TurnRecord], i: int) -> TurnRecord | None:
    """The next turn after `i` that is a question kind."""
    for turn in turns[i + 1 :]:
        if turn.kind in QUESTION_KINDS:
            return turn
    return None


def _answer(
    turns: Sequence[TurnRecord],
    i: int,
    rating: int | None,
    similar: Callable[[str, str], float],
) -> tuple[str, bool]:
    """Outcome and verdict of answer turn `i`."""
    turn = turns[i]
    nxt = _next_question(turns, i)
    soon = nxt is not None and nxt.at - turn.at <= REPHRASE_SECONDS
    rephrased = (
        soon
        and nxt.kind != "handover"
        and not is_pick(nxt.text)
        and bool(turn.text and nxt.text)
        and not is_pick(turn.text)
        and similar(turn.text, nxt.text) >= REPHRASE_SIMILARITY
    )
    handed = nxt is not None and nxt.kind == "handover" and nxt.at - turn.at <= ABANDON_SECONDS
    if rating == -1:
        outcome = "rated_down"
    elif rephrased:
        outcome = "rephrased"
    elif rating == 1:
        outcome = "rated_up"
    else:
        outcome = "faq" if turn.faq else "answered"
    return outcome, not rephrased and rating != -1 and not handed


def _following(turns: Sequence[TurnRecord], i: int) -> TurnRecord | None:
    """The citizen's next message if it came within `ABANDON_SECONDS`, else None (they left)."""
    if i + 1 < len(turns) and turns[i + 1].at - turns[i].at <= ABANDON_SECONDS:
        return turns[i + 1]
    return None


def _handover_reason(turns: Sequence[TurnRecord], i: int) -> str:
    """Why the conversation went to staff: fallbacks just before it, or the citizen asked."""
    for turn in reversed(turns[:i]):
        if turn.at < turns[i].at - ABANDON_SECONDS:
            break
        if turn.kind in QUESTION_KINDS:
            return "after_fallbacks" if turn.kind == "fallback" else "asked_person"
    return "asked_person"


def classify(
    turns: Sequence[TurnRecord],
    ratings: Sequence[Rating],
    now: float,
    similar: Callable[[str, str], float] = similarity,
) -> list[Classified]:
    """The outcome of every turn of one citizen (`turns` in time order), as of `now`."""
    rated = _ratings_by_turn(turns, ratings)
    verdicts: dict[int, bool] = {}
    out: list[Classified] = []
    picks: dict[int, int] = {}  # choices turn id -> the turn that picked from it
    for i, turn in enumerate(turns):
        final = now - turn.at > FINAL_SECONDS
        rating = rated.get(turn.id)
        previous = turns[i - 1] if i else None
        picked = (
            previous is not None
            and previous.kind == "choices"
            and is_pick(turn.text)
            and turn.at - previous.at <= ABANDON_SECONDS
        )
        if picked:
            picks[previous.id] = turn.id
        question = turn.kind in QUESTION_KINDS and not picked
        reason = None
        if turn.kind == "answer":
            outcome, good = _answer(turns, i, rating, similar)
            verdicts[turn.id] = good
        elif turn.kind in ("choices", "fallback"):
            nxt = _following(turns, i)
            if nxt is None:
                outcome = "abandoned"
            elif turn.kind == "fallback":
                outcome = "fallback"
            else:
                outcome = "choices_taken" if is_pick(nxt.text) else "choices_ignored"
            good = False
        elif turn.kind == "handover":
            outcome, good, reason = "handover", False, _handover_reason(turns, i)
        else:
            outcome, good = turn.kind, None
        out.append(Classified(turn.id, outcome, question, good, rating, reason, final))
    return [_judge_pick(c, picks, verdicts) for c in out]


def _judge_pick(item: Classified, picks: dict[int, int], verdicts: dict[int, bool]) -> Classified:
    """A taken choice is as good as the answer the citizen picked."""
    if item.outcome != "choices_taken" or item.turn_id not in picks:
        return item
    good = verdicts.get(picks[item.turn_id], False)
    return Classified(
        item.turn_id, item.outcome, item.question, good, item.rating, item.reason, item.final
    )
