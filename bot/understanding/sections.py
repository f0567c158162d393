"""What part of a procedure a message asks about, and which of its words carry no topic.

Phrases are written with accents and follow `normalize.Lexicon`: phrases of several words
also match when typed without accents; a one-word phrase does so only with a leading `~`, for
words whose plain spelling is not another common word (`còn` must not catch `con`).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.understanding.normalize import Lexicon, unaccented

# fmt: off
SECTION_CUES: dict[str, tuple[str, ...]] = {
    "sources": (
        "căn cứ pháp lý", "căn cứ", "cơ sở pháp lý", "văn bản nào", "luật nào", "điều nào",
        "nghị định nào", "thông tư nào", "quy định ở đâu", "nguồn", "nguồn nào", "nguồn tin",
        "cập nhật khi nào", "cập nhật chưa", "thông tin mới nhất", "còn đúng không",
    ),
    "eligibility": (
        "điều kiện", "đủ điều kiện", "đối tượng", "ai được", "ai có thể", "ai được làm",
        "trường hợp nào", "ai được hưởng", "được hưởng", "có được hưởng", "được nhận",
        "người khác làm thay", "nộp thay", "làm thay", "đi thay", "ủy quyền",
    ),
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
        "phải trả", "có mất", "có tốn", "giảm phí", "giảm lệ phí", "miễn giảm", "phí bao nhiêu",
    ),
    "duration": (
        "bao lâu", "mất bao lâu", "bao lâu thì", "lâu không", "mấy ngày", "bao nhiêu ngày",
        "mấy hôm", "bao nhiêu hôm", "mấy tuần", "bao nhiêu lâu", "bao giờ", "khi nào", "thời gian",
        "thời hạn", "nhanh không", "trong ngày", "lấy ngay", "khi nào xong", "bao giờ xong",
        "hẹn trả", "ngày làm việc", "mấy tháng", "bao lâu có", "lâu", "hôm nay", "ngay hôm nay",
        "trong hôm nay", "ngày mai", "mai có", "mai lấy", "mai được", "mai xong", "lấy luôn",
        "có luôn", "xong luôn", "có ngay", "ngay được", "làm ngay", "nhanh", "gấp", "làm gấp",
        "lấy gấp", "có xong", "xong không", "bao giờ có", "bao giờ lấy", "khi nào có",
        "khi nào lấy", "mấy hôm", "sớm", "có sớm", "lấy được chưa", "~kịp",
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

# fmt: off
PROGRESS = (
    "đến đâu rồi", "tới đâu rồi", "đâu rồi", "giải quyết đến đâu", "giải quyết tới đâu",
    "xử lý đến đâu", "xử lý tới đâu", "làm đến đâu", "làm tới đâu", "được đến đâu",
    "được tới đâu", "đến bước nào", "tới bước nào",
)
"""Phrases asking how far a file has got: no section of a procedure, not even a weak cue's."""

NOT_SECTION = (
    *PROGRESS, "giá thú", "ngoài giá thú", "giá trị", "đánh giá", "mất giấy", "mất thẻ",
    "mất sổ", "mất bằng", "bị mất", "đánh mất", "mất năng lực", "tiền trợ cấp", "tiền hỗ trợ",
    "tiền lương", "tiền phạt", "tiền thuê", "lâu dài", "lâu năm", "từ lâu", "hết thời hạn",
    "quá thời hạn", "còn thời hạn", "chưa bao giờ", "đã bao giờ",
)
# fmt: on
"""Phrases that hold a cue's words without asking for that section ("con ngoài giá thú" is not
about a price, "tiền trợ cấp" is what is paid out, "hết thời hạn" is no processing time): a
cue overlapping one of them is ignored, and the words stay content."""

PRIORITY = ("sources", "online", "fee", "duration", "where", "documents", "eligibility")
"""When a message carries cues of several sections, the most specific one is meant."""

WEAK_CUES = {"hồ sơ": "heads", "giấy tờ": "documents"}
"""Cues that set the section only when no other cue does, and that stay part of the topic.

"giấy tờ" asks for the documents wherever it stands; "hồ sơ" ("heads") only when it opens the
question ("hồ sơ đăng ký khai sinh") or the message has a documents verb (`DOCUMENT_VERBS`):
as the object of another verb ("cán bộ làm chậm hồ sơ") it is just the file."""

DOCUMENT_VERBS = ("cần", "~gồm", "bao gồm", "chuẩn bị", "những gì", "mang", "phải có", "yêu cầu")
"""Words that make "hồ sơ" anywhere in a message ask for the documents."""

HEAD_VERBS = frozenset({"lam", "lap"})
"""Verbs that may stand before an opening "hồ sơ" ("làm hồ sơ khai sinh")."""

# fmt: off
NOT_CUES = (
    "nộp hồ sơ", "tra cứu hồ sơ", "hồ sơ của", "tình trạng hồ sơ", "tiến độ hồ sơ", "kết quả hồ sơ",
    "hồ sơ trực tuyến", "hồ sơ đã", "hồ sơ bị", "hồ sơ đến đâu", "làm lại giấy tờ", "mất giấy tờ",
    "giấy tờ tùy thân", "mã hồ sơ", "số hồ sơ",
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
_PROGRESS_LEXICON = Lexicon.build((p, "progress") for p in PROGRESS)
_VERB_LEXICON = Lexicon.build((w, "verb") for w in DOCUMENT_VERBS)
_STOP_LEXICON = Lexicon.build((w, "stop") for w in STOPWORDS)
_GENERIC_LEXICON = Lexicon.build((w, "generic") for w in GENERIC)

_SECTION_LEXICON = Lexicon.build(
    [
        *((phrase, "") for phrase in NOT_SECTION),
        *((cue, section) for section, cues in SECTION_CUES.items() for cue in cues),
    ]
)


def section_spans(words: Sequence[str], folded: Sequence[str]) -> list[tuple[int, int, str]]:
    """Every section cue in the message as (start, end, section or ""); spans may overlap.

    The longest cue is looked up at every word, not only after the previous cue, so that
    "nộp ở đâu" keeps "ở đâu" although "nộp ở" took its "ở". A cue overlapping a `NOT_SECTION`
    phrase is dropped; of two overlapping cues of different sections, the one that reaches
    further right wins ("mất bao nhiêu ngày" asks for days, "có mất bao lâu" for time) and the
    other keeps its words with the section "".
    """
    found = []
    for i in range(len(words)):
        hit = _SECTION_LEXICON.at(words, folded, i)
        if hit:
            found.append((i, i + hit[0], str(hit[1])))
    blocked = [(a, b) for a, b, s in found if not s]

    def overlaps(a: int, b: int, c: int, d: int) -> bool:
        return a < d and c < b

    kept = []
    for a, b, section in found:
        if not section or any(overlaps(a, b, c, d) for c, d in blocked):
            continue
        if any(
            s and s != section and overlaps(a, b, c, d) and (d, d - c) > (b, b - a)
            for c, d, s in found
        ):
            section = ""  # still cue words ("mất" in "mất bao nhiêu ngày"), but not the section
        kept.append((a, b, section))
    return kept


def pick_section(spans: Sequence[tuple[int, int, str]]) -> str | None:
    """The section a message asks about, from its cue spans (None: the whole overview)."""
    found = {section for _, _, section in spans if section}
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


def generic_spans(words: Sequence[str], folded: Sequence[str]) -> list[tuple[int, int]]:
    """Procedure-neutral words in the message as (start, end)."""
    return [(a, b) for a, b, _ in _GENERIC_LEXICON.scan(words, folded)]


def only_generic(words: Sequence[str], folded: Sequence[str]) -> bool:
    """True when every word is procedure-neutral (the message names no procedure)."""
    covered = sum(b - a for a, b in generic_spans(words, folded))
    return covered == len(words)


def weak_section(
    words: Sequence[str], folded: Sequence[str], taken: Sequence[bool] = ()
) -> str | None:
    """The section of a weak cue ("hồ sơ khai sinh" asks for the documents), if any.

    `taken` marks the words already read as fillers, small talk or wards: an "hồ sơ" preceded
    only by such words (or by "làm") opens the question. A message about progress ("hồ sơ kết
    hôn đến đâu rồi") asks for no section.
    """
    if _PROGRESS_LEXICON.scan(words, folded):
        return None
    verb = None
    for a, _, label in _WEAK_LEXICON.scan(words, folded):
        if label == "documents":
            return "documents"
        if label == "heads":
            if all((i < len(taken) and taken[i]) or folded[i] in HEAD_VERBS for i in range(a)):
                return "documents"
            if verb is None:
                verb = bool(_VERB_LEXICON.scan(words, folded))
            if verb:
                return "documents"
    return None


# fmt: off
PROCEDURE_VERBS = (
    "làm", "làm lại", "đi làm", "đăng ký", "xin", "xin cấp", "cấp", "cấp lại", "cấp đổi", "đổi",
    "gia hạn", "chứng thực", "cải chính", "tách", "nhập", "chuyển", "xóa", "cắt", "sang tên",
    "khai báo", "trích lục", "~làm", "~xin", "~cấp", "~đổi", "~tách", "~nhập", "~xóa", "~cắt",
)
# fmt: on
"""Verbs whose object is the procedure asked about ("làm khai sinh", "xin hộ chiếu")."""

_PROCEDURE_LEXICON = Lexicon.build((w, "verb") for w in PROCEDURE_VERBS)
_NEGATIONS = frozenset({"chua", "khong", "da", "chang", "tung", "dung"})


def procedure_heads(
    words: Sequence[str], folded: Sequence[str], taken: Sequence[bool]
) -> tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]:
    """Each procedure verb with the run of content words that follows it: (verb, run).

    The run stops at the first word already read as a filler, cue, ward or small talk, so in
    "làm khai sinh cần mang căn cước không" the run of "làm" is "khai sinh" (after the
    vocabulary, "đăng ký khai sinh": the verb is "đăng ký"). The verb's own words are content
    too ("chứng thực bản sao").
    """
    heads = []
    for a, b, _ in _PROCEDURE_LEXICON.scan(words, folded):
        if any(taken[a:b]) or (a and folded[a - 1] in _NEGATIONS):
            continue  # "bố mẹ chưa đăng ký kết hôn" tells a story, it asks for no procedure
        end = b
        while end < len(words) and not taken[end]:
            end += 1
        if end > b:
            heads.append((tuple(folded[a:b]), tuple(folded[b:end])))
    return tuple(heads)


# fmt: off
DOCUMENT_ASKS = (
    "~cần", "có cần", "phải", "có phải", "cần mang", "phải mang", "mang", "mang theo", "phải có",
    "cần có", "phải nộp", "cần nộp", "kèm", "kèm theo", "cần thêm", "phải thêm", "xuất trình",
    "phải xuất trình", "cần xuất trình", "yêu cầu", "đòi", "bắt",
)
DOCUMENT_NOUNS = (
    "giấy", "~giấy", "sổ", "thẻ", "căn cước", "bản sao", "bản chính", "hợp đồng", "ảnh", "hình",
    "tờ khai", "chứng nhận", "khai sinh", "hộ khẩu", "xác nhận", "trích lục", "đơn", "hộ chiếu",
    "chứng minh", "bằng", "quyết định", "biên bản", "photo", "chứng thực", "văn bản", "giấy tờ",
    "thị thực", "chứng từ", "hóa đơn", "bản gốc", "~gốc", "chữ ký", "con dấu", "dấu", "tờ",
    "phiếu", "cà vẹt", "lý lịch", "chứng chỉ", "giấy phép", "giấy chứng nhận", "biên lai",
    "ảnh thẻ", "~đơn", "~sổ", "~thẻ",
)
# fmt: on
"""A question "X có cần Y (nữa) không" asks for the documents of X when Y holds one of
`DOCUMENT_NOUNS` ("có cần sổ hộ khẩu không"), not when Y is a step ("có cần đến phường")."""

_ASK_LEXICON = Lexicon.build((w, "ask") for w in DOCUMENT_ASKS)
_NOUN_LEXICON = Lexicon.build((w, "noun") for w in DOCUMENT_NOUNS)
_ASK_ENDS = frozenset({"nua", "khong", "chua", "a", "ha", "hay", "nhi", "ah", "ak"})


def document_object(words: Sequence[str], folded: Sequence[str]) -> tuple[int, int] | None:
    """Where the document Y of "có cần Y không" / "có phải mang Y không" stands, or None.

    The last asking verb whose following words (up to "nữa", "không"...) hold a document noun
    wins, so "làm căn cước cần mang sổ hộ khẩu không" asks about "sổ hộ khẩu".
    """
    for _, b, _ in reversed(_ASK_LEXICON.scan(words, folded)):
        end = b
        while end < len(words) and folded[end] not in _ASK_ENDS:
            end += 1
        if end > b and _NOUN_LEXICON.scan(words[b:end], folded[b:end]):
            return b, end
    return None
