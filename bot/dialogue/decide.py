"""What the bot says to one citizen message: a pure function of the message, state and index.

Order of decisions for a text message:

1. a typed number picks one of the numbered choices of the previous turn (buttons off);
2. a button payload (`#topic:<id>`, `#section:<id>:<section>`, `#rate:<id>:1|0`, `#menu`,
   `#staff`: hand over to staff);
3. emoji only, a request for a person, small talk, unreadable text;
4. the matcher: an answer (a section, or the short overview with section buttons), a follow-up
   that names no procedure (answered for the last topic), choices, or a fallback; after
   `settings.fallbacks_before_handover` fallbacks in a row the conversation is handed over.

State keys: `topic` and `section` (last answer), `ward` / `old_ward` (named by the citizen),
`fallbacks` (in a row), `pending` (payloads of numbered choices when buttons are off),
`overview` (the topic whose overview was the last reply: not sent twice in a row), `others`
(the other topics close to the last answered question: offered if it was not helpful).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from bot.config import BotConfig
from bot.dialogue import answers
from bot.dialogue.messages import Reply, Turn
from bot.dialogue.replies import finish, menu_buttons
from bot.dialogue.wards import remember_wards, ward_only
from bot.kb.model import ANSWER_SECTIONS, SECTION_LABELS
from bot.understanding import Index, Match, Query
from bot.understanding.lexical import BACK_MIN, MAX_CHOICES
from bot.understanding.ranking import NEAR_DOMAIN_MARGIN, SWITCH_AT
from bot.understanding.reading import Reading
from bot.understanding.smalltalk import asks_for_person, is_emoji_only, looks_like_words

logger = logging.getLogger(__name__)


PAYLOAD = re.compile(r"^#(topic|section|rate|menu|staff)(?::([a-z0-9-]+))?(?::([a-z0-9]+))?$")
"""Button payloads. They start with '#' and hold only ids, so typed sentences never match."""

SMALLTALK_ORDER = ("who", "thanks", "bye", "greeting", "ok")


def _payload(
    index: Index, text: str, state: dict[str, Any], buttons: bool, now: datetime
) -> Turn | None:
    """Handle a tapped button; None when `text` is not a valid payload for this KB."""
    found = PAYLOAD.match(text)
    if not found:
        return None
    kind, topic_id, extra = found.groups()
    kb = index.kb
    if kind == "menu" and topic_id is None:
        return finish(
            kb, [Reply(kb.text("menu_intro"), menu_buttons(kb))], state, buttons, kind="menu"
        )
    if kind == "staff" and topic_id is None:
        return answers.handover(index, state, buttons)
    if topic_id not in kb.topics:
        return None
    if kind == "topic" and extra is None:
        return answers.answer(index, topic_id, None, state, buttons, today=now.date())
    if kind == "section" and extra in (*ANSWER_SECTIONS, "sources"):
        return answers.answer(index, topic_id, extra, state, buttons, today=now.date())
    if kind == "rate" and extra == "0":
        return answers.not_helpful(index, topic_id, state, buttons)
    if kind == "rate" and extra == "1":
        text = kb.text("rating_thanks_helpful")
        return finish(kb, [Reply(text)], state, buttons, kind="feedback", rating=(topic_id, True))
    return None


def respond(
    text: str,
    state: Mapping[str, Any],
    index: Index,
    now: datetime,
    settings: BotConfig,
    buttons: bool = True,
) -> Turn:
    """The bot's turn for one citizen text message (pure: no I/O, no clock)."""
    state = dict(state)
    raw = _picked(text.strip(), state)
    handled = _payload(index, raw, state, buttons, now)
    if handled is not None:
        return handled
    if not raw or is_emoji_only(raw):
        return answers.smalltalk(index, "smalltalk_emoji", state, buttons, now)
    reading = index.read(raw)
    return _read(index, reading, index.analyze_reading(reading), state, settings, buttons, now)


def _picked(raw: str, state: dict[str, Any]) -> str:
    """A typed number picks one of the numbered choices of the previous turn (buttons off)."""
    pending = state.get("pending") or []
    if raw.isdigit() and pending and 1 <= int(raw) <= len(pending):
        return str(pending[int(raw) - 1])
    return raw


def _read(
    index: Index,
    reading: Reading,
    query: Query,
    state: dict[str, Any],
    settings: BotConfig,
    buttons: bool,
    now: datetime,
) -> Turn:
    """A typed message: a request for a person, a ward alone, small talk, or a question."""
    kb = index.kb
    words, folded = query.normalized.text.split(), query.normalized.tokens
    if asks_for_person(index.book, words, folded):
        return answers.handover(index, state, buttons)
    lead = remember_wards(kb, query.wards, state)
    last = state.get("topic") if state.get("topic") in kb.topics else None
    if query.wards and not query.names_topic and not query.section:
        return ward_only(kb, state, lead, buttons)  # "nhà mình ở Bưởi": where, for that ward
    key = _smalltalk_key(index, query)
    if key is not None:
        return answers.smalltalk(index, key, state, buttons, now)
    return _understood(index, reading, query, state, settings, buttons, now, last, lead)


def _smalltalk_key(index: Index, query: Query) -> str | None:
    """The small-talk text for a message that asks nothing (or is not words at all)."""
    if not query.content and not query.section and query.smalltalk:
        kind = next(k for k in SMALLTALK_ORDER if k in query.smalltalk)
        return "smalltalk_thanks" if kind == "ok" else f"smalltalk_{kind}"
    if query.content and not looks_like_words(query.content, index.known):
        return "smalltalk_gibberish"
    return None


def _answerer(
    index: Index, state: dict[str, Any], buttons: bool, lead: tuple[Reply, ...], today: date
) -> Callable[..., Turn]:
    """`answer(topic_id, section, match=None, **kw)` for this turn."""

    def answer(topic_id: str, section: str | None, match: Match | None = None, **kw: Any) -> Turn:
        return answers.answer(index, topic_id, section, state, buttons, match, lead, today, **kw)

    return answer


def _understood(
    index: Index,
    reading: Reading,
    query: Query,
    state: dict[str, Any],
    settings: BotConfig,
    buttons: bool,
    now: datetime,
    last: str | None,
    lead: tuple[Reply, ...],
) -> Turn:
    """The turn for a message that asks something: matched, in the conversation's context."""
    today = now.date()
    early = _before_matching(index, reading, query, state, buttons, today, last, lead)
    if early is not None:
        return early
    match = _in_conversation(index, query, index.match_query(query, reading, today), last)
    several = _several_asks(index, reading, match)
    if several is not None:
        return answers.choices(index, several, state, buttons, lead)
    return _matched(index, reading, query, match, state, settings, buttons, today, last, lead)


def _in_conversation(index: Index, query: Query, match: Match, last: str | None) -> Match:
    """In a conversation, an answer for another topic is offered with the current topic
    rather than answered when it is a guess by meaning below `SWITCH_AT` ("vợ em quê ở Nam
    Định" after thường trú), or the naming rules' choice of a topic the message does not name
    while they found the current topic too ("phòng trọ không có hợp đồng" after tạm trú: a
    word of chứng thực hợp đồng's phrasings, not a new procedure)."""
    if not last or match.outcome != "answer" or match.topic == last:
        return match
    guess = match.via == "fused" and match.confidence < SWITCH_AT
    unnamed = (
        match.via == "lexical"
        and last in dict(match.candidates)
        and not index.is_named(match.topic, query.said)
    )
    if guess or unnamed:
        return dataclasses.replace(match, outcome="choices", topic=None, via="lexical")
    return match


def _before_matching(
    index: Index,
    reading: Reading,
    query: Query,
    state: dict[str, Any],
    buttons: bool,
    today: date,
    last: str | None,
    lead: tuple[Reply, ...],
) -> Turn | None:
    """The turns decided without matching: neutral words, a document of the current topic."""
    kb, answer = index.kb, _answerer(index, state, buttons, lead, today)
    if not query.names_topic and not query.section and not query.cues:
        # Only procedure-neutral words ("thủ tục thế nào", "cần hỗ trợ"): the last topic's
        # FAQ entry or overview in a conversation, else the menu; never a guess.
        if last:
            return answer(last, None, faq_id=index.faq_in_context(last, reading.text, today))
        reply = Reply(kb.text("menu_intro"), menu_buttons(kb))
        return finish(kb, [*lead, reply], state, buttons, kind="choices")
    if last and query.document and not query.without_document:
        # "có cần giấy khai sinh không" after an answer: a document of that topic, not a topic.
        return answer(last, None if index.is_named(last, query.document) else "documents")
    return None


def _matched(
    index: Index,
    reading: Reading,
    query: Query,
    match: Match,
    state: dict[str, Any],
    settings: BotConfig,
    buttons: bool,
    today: date,
    last: str | None,
    lead: tuple[Reply, ...],
) -> Turn:
    """The turn once matched: the answer, the current topic's follow-up, choices or fallback."""
    kb, answer = index.kb, _answerer(index, state, buttons, lead, today)
    if match.outcome == "answer" and match.topic == last and match.faq is None:
        # The current topic named again ("bằng giấy cũ có bắt buộc đổi không" after đổi bằng
        # lái): a follow-up all the same, so its FAQ entries are looked up as for one.
        faq = index.faq_in_context(last, reading.text, today)
        return answer(last, None if faq else query.section, match, faq_id=faq)
    if _stands(index, query, match, last):
        entry = _entry_on_it(index, reading, query, match, last, today)
        if entry is not None:
            return answer(last, None, match, faq_id=entry)
        return answer(match.topic, query.section, match)
    if last and match.topic != last:
        follow = _follow_up(index, reading, query, match, last, today)
        if follow is not None:
            return answer(last, follow[0], match, faq_id=follow[1])
    if not query.names_topic and query.section:
        label = SECTION_LABELS.get(query.section, query.section).lower()
        reply = Reply(kb.text("ask_topic", section=label), menu_buttons(kb))
        return finish(kb, [*lead, reply], state, buttons, kind="choices", score=match.score)
    if match.outcome == "choices":
        return answers.choices(index, _with_current(match, last), state, buttons, lead)
    if match.outcome == "answer":
        return answer(match.topic, query.section, match)
    if match.domain is not None:
        return answers.out_of_scope(index, match, state, settings, buttons, lead)
    return answers.fallback(index, match, state, settings, buttons, lead)


def _stands(index: Index, query: Query, match: Match, last: str | None) -> bool:
    """True when an answer stands as matched: outside a conversation, on the current topic,
    or for a topic the naming rules chose and the message names ("còn tạm trú thì sao").
    Other words ("nếu không đăng ký thì có bị phạt không" after tạm trú, where only military
    service has a phrasing on fines) leave it to the current topic's FAQ entries
    (`_follow_up`)."""
    if match.outcome != "answer":
        return False
    if not last or match.topic == last:
        return True
    named = query.names_topic and match.via == "lexical"
    return named and index.is_named(match.topic, query.said)


def _entry_on_it(
    index: Index, reading: Reading, query: Query, match: Match, last: str | None, today: date
) -> str | None:
    """The current topic's FAQ entry a message naming another topic asks, when that entry
    itself names the other topic ("em đang tạm trú ở đây thì làm được không" after căn cước:
    the entry on making the card where one is temporarily registered, not tạm trú), unless
    a procedure verb asks for that topic ("còn đăng ký tạm trú thì làm ở đâu")."""
    if not last or match.topic in (None, last) or _asked_as_procedure(index, query, match.topic):
        return None
    entry_id = index.faq_in_context(last, reading.text, today)
    entry = index.kb.topics[last].faq(entry_id) if entry_id else None
    if entry is None:
        return None
    said = index.analyze(entry.question).said
    return entry_id if index.is_named(match.topic, said) else None


def _asked_as_procedure(index: Index, query: Query, topic_id: str) -> bool:
    """True when a procedure verb and the words after it name `topic_id` ("đăng ký tạm trú")."""
    return any(index.is_named(topic_id, frozenset((*verb, *run))) for verb, run in query.heads)


def _follow_up(
    index: Index, reading: Reading, query: Query, match: Match, last: str, today: date
) -> tuple[str | None, str | None] | None:
    """(section, FAQ id) of the current topic when a message names no procedure of its own.

    A message stays on the current topic unless the naming rules commit to another one, or the
    fused ranking is confident about another one and no FAQ entry of the current topic is
    close: its FAQ entry if one is close, the section asked, or the overview. None: the message
    is about something else.
    """
    faq = index.faq_in_context(last, reading.text, today)
    if match.domain is not None:
        # About a field no topic deals with ("thời tiết ngày mai thế nào"), unless the current
        # topic is as close by meaning (`_about_the_domain`).
        away = _about_the_domain(index, reading, query, match, last)
        return None if away else (query.section, faq)
    if _asks_a_section_of_the_current_topic(query, match):
        return query.section, faq
    if faq is None and _about_the_domain(index, reading, query, match, last):
        return None  # "con tôi bị ốm" after tạm trú: nearer a field no topic deals with
    elsewhere = match.outcome == "answer" and not index.is_named(match.topic, query.said)
    if elsewhere and faq is not None:
        # "chu nha co phai di cung khong" after tạm trú: the current topic's own entry, not a
        # guess at another procedure the message does not name (by meaning, weak without
        # diacritics, or by a word only that procedure's phrasings use).
        return query.section, faq
    if match.outcome == "answer" and (query.names_topic or match.via == "fused"):
        return None
    if faq is not None or query.section:
        return query.section, faq
    return (None, None) if _still_on_topic(query, match, last) else None


def _about_the_domain(
    index: Index, reading: Reading, query: Query, match: Match, last: str
) -> bool:
    """True when a follow-up is about an out-of-scope domain rather than the current topic:
    the domain is closer to it by meaning than that topic, by more than `NEAR_DOMAIN_MARGIN`
    unless the matcher found it about the domain (`Match.domain`) and it asks a question; a
    message that names nothing ("thế nộp ở đâu") never leaves the topic for one. A message
    that asks nothing tells the citizen's situation, often in words of another field ("em
    đang học đại học năm hai" after nghĩa vụ quân sự, "tôi ở nội thành" after hộ nghèo), and a
    short question the matcher left in scope is often as near a domain as the topic ("mất
    mấy ngày"): both stay unless the domain is clearly closer ("nhà tôi bị mất điện")."""
    flagged = match.domain is not None
    if not flagged and not query.names_topic:
        return False
    margin = 0.0 if flagged and reading.asking else NEAR_DOMAIN_MARGIN
    return index.domain_lead(last, reading.text) > margin


def _still_on_topic(query: Query, match: Match, last: str) -> bool:
    """True when a follow-up neither answered elsewhere nor asking a section still belongs to
    the current topic: it names nothing, the menu would hold the current topic anyway (or did
    before the discriminant reordered it, `Match.plausible`), or its words only brush other
    topics' phrasings ("bé có cần đi cùng không" after hộ chiếu, "tôi ở nội thành" after hộ
    nghèo: less than `BACK_MIN` of any phrasing)."""
    if not query.names_topic or last in (*(c for c, _ in match.candidates), *match.plausible):
        return True
    return match.outcome != "answer" and match.back < BACK_MIN


def _asks_a_section_of_the_current_topic(query: Query, match: Match) -> bool:
    """A section asked in a conversation stays on its topic unless other words commit."""
    if not query.section:
        return False
    if not query.names_topic or match.via == "fused":
        # "thế nếu đi công tác thì nộp ở đâu": a section of the current topic, unless the
        # naming rules commit to another procedure.
        return True
    # "thế nếu ở xa thì nộp ở đâu": its other words only share a common word with a few
    # phrasings, so it is still about the current topic.
    return match.outcome == "choices" and match.back < BACK_MIN


def _with_current(match: Match, last: str | None) -> Match:
    """The match with the current topic first among the choices (a menu in a conversation)."""
    if last is None:
        return match
    others = tuple(c for c in match.candidates if c[0] != last)
    return dataclasses.replace(match, candidates=((last, match.score), *others)[:MAX_CHOICES])


def _several_asks(index: Index, reading: Reading, match: Match) -> Match | None:
    """Choices when the asking sentences of one message commit to different topics."""
    if len(reading.asks) < 2:
        return None
    topics: list[str] = []
    for sentence in reading.asks[:MAX_CHOICES]:
        found = index.named(sentence)
        if found.outcome == "answer" and found.topic not in topics:
            topics.append(found.topic)
    if len(topics) < 2:
        return None
    return dataclasses.replace(
        match, outcome="choices", topic=None, candidates=tuple((t, 1.0) for t in topics)
    )
