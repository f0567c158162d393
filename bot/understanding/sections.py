"""What part of a procedure a message asks about, and which of its words carry no topic.

The phrases come from `knowledge_base/lexicon/` (`bot.understanding.phrases.Phrasebook`).
Phrases are written with accents and follow `normalize.Lexicon`: phrases of several words
also match when typed without accents; a one-word phrase does so only with a leading `~`, for
words whose plain spelling is not another common word (`còn` must not catch `con`).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.understanding.phrases import Phrasebook

PRIORITY = (
    "sources",
    "online",
    "fee",
    "duration",
    "where",
    "documents",
    "eligibility",
    "steps",
)
"""When a message carries cues of several sections, the most specific one is meant ("thủ tục
thế nào, cần giấy tờ gì" asks for the documents)."""


def section_spans(
    book: Phrasebook, words: Sequence[str], folded: Sequence[str]
) -> list[tuple[int, int, str]]:
    """Every section cue in the message as (start, end, section or ""); spans may overlap.

    The longest cue is looked up at every word, not only after the previous cue, so that
    "nộp ở đâu" keeps "ở đâu" although "nộp ở" took its "ở". A cue overlapping a `NOT_SECTION`
    phrase is dropped; of two overlapping cues of different sections, the one that reaches
    further right wins ("mất bao nhiêu ngày" asks for days, "có mất bao lâu" for time) and the
    other keeps its words with the section "".
    """
    found = []
    for i in range(len(words)):
        hit = book.sections.at(words, folded, i)
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


def stopword_spans(
    book: Phrasebook, words: Sequence[str], folded: Sequence[str]
) -> list[tuple[int, int]]:
    """Filler words in the message as (start, end)."""
    return [(a, b) for a, b, _ in book.fillers.scan(words, folded)]


def generic_spans(
    book: Phrasebook, words: Sequence[str], folded: Sequence[str]
) -> list[tuple[int, int]]:
    """Procedure-neutral words in the message as (start, end)."""
    return [(a, b) for a, b, _ in book.generic.scan(words, folded)]


def only_generic(book: Phrasebook, words: Sequence[str], folded: Sequence[str]) -> bool:
    """True when every word is procedure-neutral (the message names no procedure)."""
    covered = sum(b - a for a, b in generic_spans(book, words, folded))
    return covered == len(words)


def weak_section(
    book: Phrasebook, words: Sequence[str], folded: Sequence[str], taken: Sequence[bool] = ()
) -> str | None:
    """The section of a weak cue ("hồ sơ khai sinh" asks for the documents), if any.

    `taken` marks the words already read as fillers, small talk or wards: an "hồ sơ" preceded
    only by such words (or by "làm") opens the question. A message about progress ("hồ sơ kết
    hôn đến đâu rồi") asks for no section.
    """
    if book.progress.scan(words, folded):
        return None
    verb = None
    for a, _, label in book.weak.scan(words, folded):
        if label == "documents":
            return "documents"
        if label == "heads":
            if all((i < len(taken) and taken[i]) or folded[i] in book.head_verbs for i in range(a)):
                return "documents"
            if verb is None:
                verb = bool(book.document_verbs.scan(words, folded))
            if verb:
                return "documents"
    return None


_NEGATIONS = frozenset({"chua", "khong", "da", "chang", "tung", "dung"})


def procedure_heads(
    book: Phrasebook, words: Sequence[str], folded: Sequence[str], taken: Sequence[bool]
) -> tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]:
    """Each procedure verb with the run of content words that follows it: (verb, run).

    The run stops at the first word already read as a filler, cue, ward or small talk, or at a
    word that ends it (`run_ends`: "khai sinh lại theo chứng minh nhân dân"), so in
    "làm khai sinh cần mang căn cước không" the run of "làm" is "khai sinh" (after the
    vocabulary, "đăng ký khai sinh": the verb is "đăng ký"). The verb's own words are content
    too ("chứng thực bản sao").
    """
    heads = []
    for a, b, _ in book.procedure_verbs.scan(words, folded):
        if any(taken[a:b]) or (a and folded[a - 1] in _NEGATIONS):
            continue  # "bố mẹ chưa đăng ký kết hôn" tells a story, it asks for no procedure
        end = b
        while end < len(words) and not taken[end] and not book.run_ends.at(words, folded, end):
            end += 1
        if end > b:
            heads.append((tuple(folded[a:b]), tuple(folded[b:end])))
    return tuple(heads)


_ASK_ENDS = frozenset({"nua", "khong", "chua", "a", "ha", "hay", "nhi", "ah", "ak"})


def document_object(
    book: Phrasebook, words: Sequence[str], folded: Sequence[str]
) -> tuple[int, int] | None:
    """Where the document Y of "có cần Y không" / "có phải mang Y không" stands, or None.

    The last asking verb whose following words (up to "nữa", "không"...) hold a document noun
    wins, so "làm căn cước cần mang sổ hộ khẩu không" asks about "sổ hộ khẩu".
    """
    for _, b, _ in reversed(book.document_asks.scan(words, folded)):
        end = b
        while end < len(words) and folded[end] not in _ASK_ENDS:
            end += 1
        if end > b and book.document_nouns.scan(words[b:end], folded[b:end]):
            return b, end
    return None


def section_of(
    book: Phrasebook,
    words: Sequence[str],
    folded: Sequence[str],
    cues: Sequence[tuple[int, int, str]],
    taken: Sequence[bool],
) -> str | None:
    """The section a message asks about: by its cues (`pick_section`), else by a weak cue
    (`weak_section`), else as a yes-or-no question on whether one may (`yes_no_section`)."""
    return (
        pick_section(cues)
        or weak_section(book, words, folded, taken)
        or yes_no_section(book, words, folded)
    )


def yes_no_section(book: Phrasebook, words: Sequence[str], folded: Sequence[str]) -> str | None:
    """ "eligibility" for a yes-or-no question on whether one may or must do something ("xây
    thêm tầng có cần xin giấy phép không", "có được tạm hoãn nghĩa vụ không"), else None: an
    opener of `may_openers`, or of `must_openers` with a procedure verb right after it, and a
    word of `yes_no_ends` ("không", "chưa") after it. "có cần đặt lịch trước không" asks no
    section here, nor "có cần giấy khai sinh không" (a document follows, not a procedure)."""
    for _, end, kind in book.yes_no_openers.scan(words, folded):
        if kind == "must" and not book.procedure_verbs.at(words, folded, end):
            continue
        if any(f in book.yes_no_ends for f in folded[end:]):
            return "eligibility"
    return None
