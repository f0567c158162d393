"""`kb check` keeps answers phone-sized and the form of address single, set in one place."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from kbfactory import kb_dir, line_no, rewrite

from bot.kb.check import check_kb
from bot.kb.rules import OVERVIEW_MAX, SECTION_MAX

TODAY = dt.date(2026, 11, 25)
SHIPPED = Path(__file__).parent.parent / "knowledge_base"
ADDRESS = 'address = "anh/chị"\naddress_avoid = ["bạn", "Quý công dân", "quý vị", "xin vui lòng"]\n'
WHERE = 'where = "Công an phường nơi tạm trú."'


def addressed(tmp_path: Path, where: str) -> tuple[Path, list[str]]:
    """The fixture with the address setting, tam-tru's `where` rewritten; the address warnings."""
    root = kb_dir(tmp_path)
    general = root / "texts" / "general.toml"
    general.write_text(ADDRESS + general.read_text(encoding="utf-8"), encoding="utf-8")
    rewrite(root / "topics" / "tam-tru.toml", WHERE, where)
    found = check_kb(root, today=TODAY, self_test=False)
    return root, [str(p) for p in found if "chỉ xưng" in p.message]


@pytest.mark.parametrize(
    ("where", "word"),
    [
        ('where = "Bạn nộp tại Công an phường."', "Bạn"),
        ('where = "Quý công dân nộp tại Công an phường."', "Quý công dân"),
        ('where = "Xin vui lòng nộp tại Công an phường."', "Xin vui lòng"),
        ('where = "Mời quý vị nộp tại Công an phường."', "quý vị"),
    ],
)
def test_another_form_of_address_is_a_warning_at_its_line(
    tmp_path: Path, where: str, word: str
) -> None:
    root, warnings = addressed(tmp_path, where)
    path = root / "topics" / "tam-tru.toml"
    assert [w for w in warnings if w.startswith(str(path))] == [
        f"{path}:{line_no(path, 'where = ')}: cảnh báo: '{word}': với người dân chỉ xưng 'anh/chị' "
        "('Anh/chị' ở đầu câu), không dùng “bạn”, “Quý công dân”, “quý vị”, “xin vui lòng” "
        "(khóa address trong texts/general.toml)"
    ]


def test_the_fixture_texts_saying_quy_cong_dan_are_warned_about(tmp_path: Path) -> None:
    root, warnings = addressed(tmp_path, WHERE)
    general = root / "texts" / "general.toml"
    assert f"{general}:{line_no(general, 'welcome = ')}: cảnh báo: 'Quý công dân'" in "\n".join(
        warnings
    )


@pytest.mark.parametrize(
    "where",
    [
        'where = "Anh/chị nộp tại Công an phường; vợ chồng, bạn đời cùng đến."',
        WHERE + '\n# Ghi chú cho cán bộ: không viết "bạn" hay "xin vui lòng".',
    ],
)
def test_the_allowed_form_nouns_and_comments_are_not_warned_about(
    tmp_path: Path, where: str
) -> None:
    root, warnings = addressed(tmp_path, where)
    assert [w for w in warnings if "tam-tru" in w] == []


def test_citizens_phrasings_may_say_ban(tmp_path: Path) -> None:
    root, _ = addressed(tmp_path, WHERE)
    path = rewrite(
        root / "topics" / "tam-tru.toml",
        '  "gia hạn tạm trú",',
        '  "bạn ơi gia hạn tạm trú thế nào",',
    )
    found = check_kb(root, today=TODAY, self_test=False)
    assert not any(p.file == str(path) and "chỉ xưng" in p.message for p in found)


def test_without_the_setting_there_is_no_address_rule(tmp_path: Path) -> None:
    root = kb_dir(tmp_path)
    rewrite(root / "topics" / "tam-tru.toml", WHERE, 'where = "Bạn nộp tại Công an phường."')
    assert not any("chỉ xưng" in p.message for p in check_kb(root, today=TODAY, self_test=False))


def test_the_shipped_texts_use_one_form_of_address() -> None:
    found = check_kb(SHIPPED, self_test=False)
    texts = [str(p) for p in found if "/texts/" in p.file and "chỉ xưng" in p.message]
    assert texts == []
    for file in (SHIPPED / "texts").glob("*.toml"):
        for line in file.read_text(encoding="utf-8").splitlines():
            if not line.startswith(("#", "address")):
                assert "Quý công dân" not in line and "vui lòng" not in line.lower(), line


def test_an_overview_over_one_phone_screen_is_a_warning(tmp_path: Path) -> None:
    root = kb_dir(tmp_path)
    summary = "Người đến ở từ 30 ngày trở lên phải đăng ký tạm trú. " * 12
    path = rewrite(
        root / "topics" / "tam-tru.toml",
        'summary = "Người đến ở từ 30 ngày trở lên tại nơi khác nơi thường trú phải đăng ký '
        'tạm trú."',
        f'summary = "{summary.strip()}"',
    )
    found = [p for p in check_kb(root, today=TODAY, self_test=False) if p.severity == "warning"]
    size = len("ĐĂNG KÝ TẠM TRÚ\n" + summary.strip())
    assert size > OVERVIEW_MAX
    assert f"{path}:{line_no(path, 'summary = ')}: cảnh báo: phần tóm tắt (tên thủ tục và " in (
        "\n".join(str(p) for p in found)
    )
    assert f"dài {size} ký tự; nên tối đa {OVERVIEW_MAX}" in "\n".join(p.message for p in found)


def test_a_long_section_is_a_warning_even_in_a_dated_version(tmp_path: Path) -> None:
    root = kb_dir(tmp_path)
    long = "Lệ phí theo Nghị quyết của HĐND thành phố; " * 25
    path = rewrite(
        root / "topics" / "tam-tru.toml",
        'fee = "Kiểm tra mức lệ phí trên Cổng Dịch vụ công quốc gia hoặc gọi 1022."\n',
        "",
        f'[[fee]]\ntext = "Miễn phí."\nvalid_until = 2027-06-30\n'
        f'[[fee]]\ntext = "{long.strip()}"\nvalid_from = 2027-07-01\n',
    )
    found = [str(p) for p in check_kb(root, today=TODAY, self_test=False)]
    line = line_no(path, 'text = "Lệ phí theo')
    assert any(f"{path}:{line}: cảnh báo: mục 'fee' dài" in s for s in found), found
    assert any(f"nên tối đa khoảng {SECTION_MAX}" in s for s in found)
    assert not any(f"{path}:{line - 3}: cảnh báo: mục 'fee'" in s for s in found)
