"""Small talk and requests for a person: recognised before any procedure is matched."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from bot.understanding.normalize import Lexicon

SMALLTALK: dict[str, tuple[str, ...]] = {
    "greeting": (
        "xin chào",
        "chào",
        "hello",
        "helo",
        "hi",
        "hii",
        "hí",
        "alo",
        "a lô",
        "alô",
        "chào bạn",
        "chào ad",
        "chào admin",
        "good morning",
        "chào buổi sáng",
        "chào buổi chiều",
        "hey",
        "có ai không",
        "có ai ko",
        "có ai trực không",
        "ai trực",
        "ơi",
        "ad ơi",
        "admin ơi",
    ),
    "thanks": (
        "cảm ơn",
        "cám ơn",
        "cảm ơn nhiều",
        "thanks",
        "thank",
        "thank you",
        "thank u",
        "tks",
        "thks",
        "thanks you",
        "ok cảm ơn",
        "được rồi cảm ơn",
        "cảm ơn ạ",
        "cám ơn ạ",
        "camon",
        "cmon",
        "đa tạ",
        "hay quá",
        "tốt quá",
        "tuyệt vời",
    ),
    "who": (
        "bạn là ai",
        "ai đấy",
        "ai đó",
        "ai vậy",
        "bạn là người hay máy",
        "người hay máy",
        "người thật hay máy",
        "người thật không",
        "máy hay người",
        "là người thật",
        "có phải người thật",
        "có phải máy",
        "có phải bot",
        "trợ lý ảo",
        "bot à",
        "là bot",
        "robot",
        "chatbot",
        "máy trả lời",
        "trả lời tự động",
        "bạn tên gì",
        "bạn là gì",
        "bạn làm được gì",
        "bạn biết gì",
        "em là ai",
        "đây là ai",
    ),
    "bye": ("tạm biệt", "bye", "bai", "bye bye", "chào tạm biệt", "hẹn gặp lại", "pp"),
    "ok": (
        "ok",
        "oke",
        "okie",
        "okay",
        "ừ",
        "ừm",
        "uh",
        "uhm",
        "vâng",
        "dạ",
        "dạ vâng",
        "được",
        "được rồi",
        "rồi",
        "đã rõ",
        "rõ rồi",
        "hiểu rồi",
        "em hiểu rồi",
        "ok ạ",
        "vâng ạ",
        "dạ ạ",
    ),
}
"""Phrases that make up a small-talk message on their own, by kind."""

HANDOVER = (
    "gặp cán bộ",
    "gặp nhân viên",
    "gặp người",
    "nói chuyện với người",
    "người thật",
    "nhân viên thật",
    "cán bộ trực",
    "tổng đài viên",
    "tư vấn viên",
    "chuyển cán bộ",
    "chuyển nhân viên",
    "chuyển người",
    "cần người hỗ trợ",
    "nhờ cán bộ",
    "gặp trực tiếp",
    "nói chuyện trực tiếp",
    "muốn gặp người",
    "cho gặp",
    "gặp admin",
    "người trả lời",
    "hỗ trợ trực tiếp",
    "cán bộ hỗ trợ",
    "cán bộ trả lời",
    "người hỗ trợ",
    "liên hệ cán bộ",
    "nhân viên hỗ trợ",
    "gặp chuyên viên",
)
"""Phrases by which a citizen asks for a person instead of the bot."""

SMALLTALK_LEXICON = Lexicon.build(
    (phrase, kind) for kind, phrases in SMALLTALK.items() for phrase in phrases
)
HANDOVER_LEXICON = Lexicon.build((phrase, "handover") for phrase in HANDOVER)

_VOWELS = "aeiouy"
_SYLLABLE = re.compile(
    r"^(?:ngh|ng|gh|gi|kh|nh|ph|th|tr|ch|qu|[bcdghklmnpqrstvx])?"
    r"[aeiouy]{1,3}(?:ng|nh|ch|[cmnpt])?$"
)
"""A Vietnamese syllable shape on folded text (onset, one to three vowels, coda)."""


def smalltalk_kinds(words: Sequence[str], folded: Sequence[str]) -> list[tuple[int, int, str]]:
    """Every small-talk phrase in the message as (start, end, kind)."""
    return [(a, b, str(k)) for a, b, k in SMALLTALK_LEXICON.scan(words, folded)]


def asks_for_person(words: Sequence[str], folded: Sequence[str]) -> bool:
    """True when the citizen asks to talk to a member of staff."""
    return bool(HANDOVER_LEXICON.scan(words, folded))


def is_emoji_only(text: str) -> bool:
    """True when the message holds symbols (emoji, stickers as text) but no letter or digit."""
    stripped = text.strip()
    return bool(stripped) and not any(unicodedata.category(c)[0] in "LN" for c in stripped)


def looks_like_words(folded: Sequence[str], known: set[str] | frozenset[str]) -> bool:
    """True when at least one token is a known word or has the shape of a Vietnamese syllable."""
    plain = [t.rstrip("'") for t in folded]  # the matcher marks words spelled unlike the KB
    return any(t in known or t.isdigit() or _SYLLABLE.match(t) for t in plain)
