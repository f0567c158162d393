"""What part of a procedure a message asks about, and which of its words carry no topic.

Phrases are written with accents and follow `bot.normalize.Lexicon`: phrases of several words
also match when typed without accents; a one-word phrase does so only with a leading `~`, for
words whose plain spelling is not another common word (`còn` must not catch `con`).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.normalize import Lexicon, unaccented

# fmt: off
SECTION_CUES: dict[str, tuple[str, ...]] = {
    "online": (
        "trực tuyến", "online", "onl", "qua mạng", "trên mạng", "qua app", "qua ứng dụng",
        "trên ứng dụng", "trên app", "trên điện thoại", "qua điện thoại", "qua zalo", "ngồi nhà",
        "từ xa", "nộp mạng", "trên dịch vụ công", "qua dịch vụ công", "trên cổng dịch vụ công",
        "qua cổng dịch vụ công", "trên cổng", "qua cổng", "trên vneid", "qua vneid",
        "không cần đến", "không phải đến", "khỏi đến", "không phải lên", "không cần lên",
        "không cần đi", "không phải đi", "qua bưu điện", "không cần ra",
    ),
    "fee": (
        "lệ phí", "~phí", "chi phí", "mất phí", "tốn phí", "miễn phí", "bao nhiêu tiền", "mất tiền",
        "tốn tiền", "hết tiền", "nộp tiền", "~tiền", "mất bao nhiêu", "tốn bao nhiêu",
        "hết bao nhiêu", "giá", "mức thu", "thu bao nhiêu", "đóng bao nhiêu", "trả bao nhiêu",
        "bao nhiêu tiền", "phải trả", "có mất", "có tốn",
    ),
    "duration": (
        "bao lâu", "mất bao lâu", "bao lâu thì", "lâu không", "mấy ngày", "bao nhiêu ngày",
        "mấy hôm", "bao nhiêu hôm", "mấy tuần", "bao nhiêu lâu", "bao giờ", "khi nào", "thời gian",
        "thời hạn", "nhanh không", "trong ngày", "lấy ngay", "khi nào xong", "bao giờ xong",
        "hẹn trả", "ngày làm việc", "mấy tháng", "bao lâu có", "lâu",
    ),
    "where": (
        "ở đâu", "tại đâu", "đâu", "chỗ nào", "nơi nào", "địa chỉ", "phường nào", "cơ quan nào",
        "văn phòng nào", "bộ phận nào", "nơi nộp", "nộp ở", "làm ở", "nộp tại", "làm tại",
        "đến đâu", "đi đâu", "lên đâu", "ra đâu", "chỗ làm", "nơi làm", "ai giải quyết", "ai cấp",
        "trụ sở", "bộ phận một cửa", "ủy ban nào", "ở phường", "tại phường", "lên phường",
        "ra phường", "đến phường", "ở công an", "tại công an", "lên công an", "ra công an",
        "đến công an", "ở ủy ban", "tại ủy ban", "lên ủy ban", "ra ủy ban", "đến ủy ban",
        "đi đâu làm", "nộp chỗ nào",
    ),
    "documents": (
        "giấy tờ gì", "hồ sơ gồm", "hồ sơ cần", "cần những gì", "cần gì", "cần có gì", "mang theo",
        "mang gì", "mang những gì", "chuẩn bị", "gồm những gì", "gồm gì", "thành phần hồ sơ",
        "những gì", "cần mang", "phải mang", "cần nộp gì", "nộp gì", "cần giấy tờ", "giấy gì",
        "hồ sơ gì", "hồ sơ những gì", "giấy tờ cần", "cần những giấy", "những giấy tờ",
        "các giấy tờ", "giấy tờ nào", "cần chuẩn bị",
    ),
    # Office hours: no answer section holds them, so they ask for the overview of whatever
    # topic is named (or of the contacts topic); listed so that "thời gian làm việc" is not
    # taken for "thời gian" (duration).
    "hours": (
        "giờ làm việc", "thời gian làm việc", "giờ mở cửa", "mấy giờ", "giờ hành chính",
        "làm việc thứ bảy", "làm việc thứ 7", "làm việc chủ nhật", "làm việc cuối tuần",
        "có làm việc", "thứ 7", "thứ bảy", "chủ nhật", "cuối tuần", "ngày lễ", "nghỉ trưa",
    ),
}
# fmt: on
"""Cue phrases per section; the first section found in `PRIORITY` order wins."""

PRIORITY = ("online", "fee", "duration", "where", "documents")
"""When a message carries cues of several sections, the most specific one is meant."""

WEAK_CUES = {"hồ sơ": "documents", "giấy tờ": "documents"}
"""Cues that set the section only when no other cue does, and that stay part of the topic."""

# fmt: off
NOT_CUES = (
    "nộp hồ sơ", "tra cứu hồ sơ", "hồ sơ của", "tình trạng hồ sơ", "tiến độ hồ sơ", "kết quả hồ sơ",
    "hồ sơ trực tuyến", "hồ sơ đã", "hồ sơ bị", "hồ sơ đến đâu", "làm lại giấy tờ", "mất giấy tờ",
    "giấy tờ tùy thân",
)
# fmt: on
"""Phrases in which a weak cue does not ask for the documents."""

# fmt: off
STOPWORDS = (
    "~ạ", "~à", "a", "ah", "ak", "admin", "ad", "~ơi", "~nhé", "nha", "~nhá", "~vậy", "thế", "thì",
    "cho", "em", "mình", "tôi", "toi", "tớ", "tui", "hỏi", "xin hỏi", "cho hỏi", "~với", "~rồi",
    "~ừ", "dạ", "vâng", "bạn", "anh", "chị", "là", "có", "co", "~không", "~được", "~gì", "~nào",
    "thì sao", "sao ạ", "sao vậy", "làm sao", "thế nào", "như thế nào", "ra sao", "bao nhiêu", "và",
    "hoặc", "của", "này", "kia", "thôi", "ấy", "đấy", "nhỉ", "hả", "cần", "~phải", "muốn", "định",
    "sắp", "đang", "đã", "~sẽ", "vừa", "cũng", "còn", "nữa", "~thêm", "~ai", "cái", "~các", "những",
    "mấy", "lắm", "giúp", "~giúp", "hướng dẫn", "tư vấn", "cho biết", "biết", "~chút", "tí", "~xíu",
    "ở", "tại", "về", "nếu", "khi", "để", "thì sao", "mọi người", "người ta", "~luôn", "vui lòng",
    "làm ơn", "trong", "hay", "mà", "nhờ", "xem",
)
# fmt: on
"""Fillers that say nothing about what is asked; they are ignored when matching."""

# fmt: off
GENERIC = (
    "hỗ trợ", "dùng", "phường", "~phường", "thủ tục", "quy trình", "làm", "thực hiện", "đăng ký",
    "nộp", "đi làm", "xin", "cấp", "giấy", "hồ sơ", "việc", "mới", "lại", "cách", "hành chính",
    "người", "nhà", "con", "trường hợp", "~giấy", "~thủ", "~tục", "~làm", "~nộp", "~xin", "~cấp",
    "~việc", "~cách", "đi", "~đi",
)
# fmt: on
"""Procedure-neutral words: matched on, but a message made only of them names no procedure."""

_WEAK_LEXICON = Lexicon.build([*((p, None) for p in NOT_CUES), *WEAK_CUES.items()])
_STOP_LEXICON = Lexicon.build((w, "stop") for w in STOPWORDS)
_GENERIC_LEXICON = Lexicon.build((w, "generic") for w in GENERIC)

_SECTION_LEXICON = Lexicon.build(
    (cue, section) for section, cues in SECTION_CUES.items() for cue in cues
)


def section_spans(words: Sequence[str], folded: Sequence[str]) -> list[tuple[int, int, str]]:
    """Every section cue in the message as (start, end, section)."""
    return [(a, b, str(s)) for a, b, s in _SECTION_LEXICON.scan(words, folded)]


def pick_section(spans: Sequence[tuple[int, int, str]]) -> str | None:
    """The section a message asks about, from its cue spans (None: the whole overview)."""
    found = {section for _, _, section in spans}
    if "hours" in found:
        return None
    return next((s for s in PRIORITY if s in found), None)


AMBIGUOUS_PLAIN = frozenset(
    unaccented(w) for w in STOPWORDS if not w.startswith("~") and " " not in w and not w.isascii()
) | {"nha"}
"""Plain spellings of fillers ("can" for "cần", "con" for "còn", "nha"): typed without accents
they may be a filler or a content word ("căn", "con", "nhà"); the matcher tries both readings."""


def stopword_spans(words: Sequence[str], folded: Sequence[str]) -> list[tuple[int, int]]:
    """Filler words in the message as (start, end)."""
    return [(a, b) for a, b, _ in _STOP_LEXICON.scan(words, folded)]


def only_generic(words: Sequence[str], folded: Sequence[str]) -> bool:
    """True when every word is procedure-neutral (the message names no procedure)."""
    covered = sum(b - a for a, b, _ in _GENERIC_LEXICON.scan(words, folded))
    return covered == len(words)


def weak_section(words: Sequence[str], folded: Sequence[str]) -> str | None:
    """The section of a weak cue ("hồ sơ khai sinh" asks for the documents), if any."""
    return next((str(s) for _, _, s in _WEAK_LEXICON.scan(words, folded) if s), None)
