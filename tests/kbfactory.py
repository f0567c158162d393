"""A small knowledge base built directly from the dataclasses, for matcher and dialogue tests."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from types import MappingProxyType

from bot.kb.model import KnowledgeBase, MenuItem, OldWard, Topic, Ward


def topic(tid: str, title: str, questions: list[str], **extra: object) -> Topic:
    """A topic with every answer section filled in."""
    fields = dict(
        id=tid,
        title=title,
        category="Hộ tịch",
        authority="UBND phường",
        summary=f"Tóm tắt {title.lower()}.",
        documents=(f"Tờ khai {title.lower()}.",),
        duration=f"Thời hạn {title.lower()}: 3 ngày làm việc.",
        fee=f"Lệ phí {title.lower()}: miễn phí.",
        where=f"Nộp {title.lower()} tại UBND phường.",
        online=f"Có thể nộp {title.lower()} trên Cổng DVC quốc gia.",
        online_link="https://dichvucong.gov.vn",
        reviewed=dt.date(2026, 11, 20),
        questions=tuple(questions),
    )
    fields.update(extra)
    return Topic(**fields)


TOPICS = [
    topic(
        "khai-sinh",
        "Đăng ký khai sinh",
        [
            "thủ tục đăng ký khai sinh cho con",
            "làm giấy khai sinh cho bé",
            "khai sinh cho trẻ mới sinh",
            "đăng ký khai sinh cần giấy tờ gì",
            "làm khai sinh ở đâu",
            "khai sinh mất bao lâu",
            "lệ phí khai sinh",
        ],
        where_by_ward=MappingProxyType({"tay-ho": "Phường Tây Hồ: 657 Lạc Long Quân."}),
    ),
    topic(
        "ket-hon",
        "Đăng ký kết hôn",
        [
            "thủ tục đăng ký kết hôn",
            "làm giấy đăng ký kết hôn",
            "kết hôn cần giấy tờ gì",
            "đăng ký kết hôn ở phường nào",
            "hai vợ chồng đi đăng ký kết hôn",
        ],
    ),
    topic(
        "khai-tu",
        "Đăng ký khai tử",
        [
            "thủ tục khai tử",
            "làm giấy chứng tử cho người mất",
            "khai tử cho bố mẹ",
            "người nhà mất làm khai tử ở đâu",
        ],
    ),
    topic(
        "tam-tru",
        "Đăng ký tạm trú",
        [
            "đăng ký tạm trú cho người thuê nhà",
            "khai báo tạm trú",
            "làm tạm trú ở đâu",
            "sinh viên thuê trọ đăng ký tạm trú",
        ],
        authority="Công an phường nơi có chỗ ở tạm trú",
    ),
    topic(
        "thuong-tru",
        "Đăng ký thường trú",
        [
            "đăng ký thường trú",
            "nhập hộ khẩu cho con",
            "chuyển hộ khẩu về nhà mới",
            "thủ tục nhập khẩu thường trú",
        ],
    ),
    topic(
        "can-cuoc",
        "Cấp thẻ căn cước",
        [
            "làm thẻ căn cước",
            "cấp đổi căn cước công dân",
            "làm căn cước cho con",
            "mất thẻ căn cước làm lại",
        ],
    ),
    topic(
        "nop-truc-tuyen",
        "Nộp hồ sơ trực tuyến",
        [
            "nộp hồ sơ trực tuyến thế nào",
            "hướng dẫn nộp hồ sơ trên cổng dịch vụ công",
            "tạo tài khoản dịch vụ công để nộp hồ sơ",
        ],
    ),
]

WARDS = {
    "tay-ho": Ward(
        "tay-ho",
        "Phường Tây Hồ",
        "Điểm phục vụ hành chính công Tây Hồ",
        "657 Lạc Long Quân",
        aliases=("tay ho",),
    ),
    "hong-ha": Ward(
        "hong-ha", "Phường Hồng Hà", "UBND phường Hồng Hà", "30 phố Tứ Liên", aliases=("hong ha",)
    ),
}
OLD_WARDS = {
    "buoi": OldWard(
        "buoi", "Bưởi", ("tay-ho",), note="Toàn bộ phường Bưởi cũ nay thuộc phường Tây Hồ."
    ),
    "nhat-tan": OldWard(
        "nhat-tan",
        "Nhật Tân",
        ("hong-ha", "tay-ho"),
        note="Phần lớn phường Nhật Tân cũ nay thuộc phường Hồng Hà.",
    ),
}

TEXTS = {
    "welcome": "Xin chào!",
    "menu_intro": "Quý công dân cần hỗ trợ thủ tục nào?",
    "fallback": ("Xin lỗi, trợ lý chưa hiểu rõ câu hỏi.", "Trợ lý vẫn chưa tìm được thủ tục."),
    "handover": "Trợ lý đã chuyển câu hỏi tới cán bộ. Cán bộ sẽ trả lời.",
    "smalltalk_greeting": "Xin chào Quý công dân!",
    "smalltalk_thanks": "Cảm ơn Quý công dân.",
    "smalltalk_who": "Đây là trợ lý tự động.",
    "smalltalk_bye": "Hẹn gặp lại!",
    "smalltalk_emoji": "Trợ lý đã nhận được tin nhắn.",
    "smalltalk_gibberish": "Trợ lý chưa đọc được nội dung này.",
}


def shipped_dialogue_texts() -> dict[str, str]:
    """The dialogue's own texts, read from the shipped texts/dialogue.toml."""
    import tomllib

    path = Path(__file__).resolve().parent.parent / "knowledge_base" / "texts" / "dialogue.toml"
    return tomllib.loads(path.read_text(encoding="utf-8"))


def make_kb(topics: list[Topic] | None = None) -> KnowledgeBase:
    """The small test knowledge base."""
    items = topics if topics is not None else TOPICS
    texts = {**TEXTS, **shipped_dialogue_texts()}
    return KnowledgeBase(
        topics=MappingProxyType({t.id: t for t in items}),
        wards=MappingProxyType(WARDS),
        old_wards=MappingProxyType(OLD_WARDS),
        offices=(),
        contact=MappingProxyType({"hotline": "024.1022", "ai_hotline": "19001009"}),
        abbreviations=MappingProxyType(
            {
                "dk": "đăng ký",
                "ko": "không",
                "hk": "hộ khẩu",
                "cccd": "căn cước công dân",
                "bn": "bao nhiêu",
            }
        ),
        phrases=MappingProxyType({"chứng tử": "khai tử", "nhập hộ khẩu": "đăng ký thường trú"}),
        texts=MappingProxyType(texts),
        menu=(
            MenuItem("Đăng ký khai sinh", "đăng ký khai sinh"),
            MenuItem("Tạm trú", "đăng ký tạm trú"),
        ),
    )


GOOD_KB = Path(__file__).parent / "fixtures" / "kb" / "good"
SHIPPED_TEXTS = Path(__file__).resolve().parent.parent / "knowledge_base" / "texts"


def kb_dir(tmp_path: Path) -> Path:
    """A writable copy of the small good fixture knowledge base, as temp files.

    The other owners' texts (dialogue, outreach) are the shipped files, since their modules'
    REQUIRED_TEXTS are checked; general.toml stays the fixture's.
    """
    root = Path(shutil.copytree(GOOD_KB, tmp_path / "kb"))
    for file in SHIPPED_TEXTS.glob("*.toml"):
        if file.name != "general.toml":
            shutil.copy(file, root / "texts" / file.name)
    return root


def rewrite(path: Path, old: str = "", new: str = "", append: str = "") -> Path:
    """Replace `old` (which must be there) by `new` in a file, then add `append` at its end."""
    text = path.read_text(encoding="utf-8")
    if old:
        assert old in text, old
        text = text.replace(old, new)
    path.write_text(text + append, encoding="utf-8")
    return path


def line_no(path: Path, needle: str) -> int:
    """The 1-based line of the first occurrence of `needle` in a file."""
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")
