"""The loader turns the knowledge-base files into typed values or lists every problem."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from bot.kb.loader import KBError, kb_files, load_kb, read_kb

GOOD = Path(__file__).parent / "fixtures" / "kb" / "good"


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    """A writable copy of the small good fixture knowledge base."""
    return Path(shutil.copytree(GOOD, tmp_path / "kb"))


def test_good_fixture_loads_into_typed_topics() -> None:
    now = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
    kb = load_kb(GOOD, now=now)
    assert set(kb.topics) == {"ket-hon", "tam-tru"}
    topic = kb.topics["ket-hon"]
    assert topic.reviewed == dt.date(2026, 11, 20)
    assert len(topic.questions) == 10
    assert topic.where_by_ward["tay-ho"].startswith("Điểm phục vụ")
    assert topic.path.endswith("topics/ket-hon.toml")
    assert kb.topics["tam-tru"].online_link == ""
    assert kb.loaded_at == now


def test_short_title_is_read_and_defaults_to_the_title_for_buttons() -> None:
    kb = load_kb(GOOD)
    assert kb.topics["ket-hon"].short_title == "Kết hôn"
    assert kb.topics["ket-hon"].button_title == "Kết hôn"
    assert kb.topics["tam-tru"].short_title == ""
    assert kb.topics["tam-tru"].button_title == "Đăng ký tạm trú"


def test_wards_old_wards_offices_and_contact_are_read() -> None:
    kb = load_kb(GOOD)
    assert kb.wards["hong-ha"].address == "30 phố Tứ Liên"
    assert kb.old_wards["yen-phu"].new_wards == ("hong-ha", "tay-ho")
    assert [o.id for o in kb.offices] == ["diem-tay-ho"]
    assert kb.contact["hotline"] == "024.1022"


def test_texts_menu_and_vocabulary_are_read() -> None:
    kb = load_kb(GOOD)
    assert kb.text("welcome") == "Xin chào Quý công dân!"
    assert kb.variants("fallback")[1].startswith("Quý công dân")
    assert [m.title for m in kb.menu] == ["Đăng ký kết hôn", "Tạm trú"]
    assert kb.abbreviations["dk"] == "đăng ký"
    assert kb.phrases["giấy hôn thú"] == "giấy đăng ký kết hôn"


def test_missing_vocabulary_and_texts_give_empty_mappings(kb_copy: Path) -> None:
    (kb_copy / "vocabulary.toml").unlink()
    shutil.rmtree(kb_copy / "texts")
    kb = load_kb(kb_copy)
    assert dict(kb.abbreviations) == {} and dict(kb.texts) == {} and kb.menu == ()


def test_version_changes_when_a_file_changes(kb_copy: Path) -> None:
    before = load_kb(kb_copy).version
    path = kb_copy / "topics" / "tam-tru.toml"
    path.write_text(path.read_text(encoding="utf-8").replace("30 ngày", "31 ngày"), "utf-8")
    assert load_kb(kb_copy).version != before


def test_an_error_raises_kberror_with_file_and_line(kb_copy: Path) -> None:
    path = kb_copy / "topics" / "tam-tru.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('fee = "', 'fee = 5\nx = "'), "utf-8")
    with pytest.raises(KBError) as caught:
        load_kb(kb_copy)
    lines = [str(p) for p in caught.value.problems]
    assert any(
        line.endswith(
            "tam-tru.toml:22: 'fee' phải là " + 'một đoạn văn bản trong ngoặc kép, ví dụ "..."'
        )
        for line in lines
    ), lines
    assert any(line.endswith("tam-tru.toml:23: khóa lạ 'x'") for line in lines), lines


def test_read_kb_keeps_the_good_topics_when_one_is_broken(kb_copy: Path) -> None:
    (kb_copy / "topics" / "tam-tru.toml").write_text("id = \n", encoding="utf-8")
    kb, problems = read_kb(kb_copy)
    assert set(kb.topics) == {"ket-hon"}
    assert [p.line for p in problems] == [1]


def test_editor_backups_are_not_read(kb_copy: Path) -> None:
    (kb_copy / "topics" / ".tam-tru.toml.swp").write_text("garbage = [", encoding="utf-8")
    assert set(load_kb(kb_copy).topics) == {"ket-hon", "tam-tru"}
    assert all(not p.name.startswith(".") for p in kb_files(kb_copy))


def test_a_general_help_topic_is_flagged_and_a_wrong_flag_is_explained(kb_copy: Path) -> None:
    path = kb_copy / "topics" / "tam-tru.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('fee = "', 'general = true\nfee = "', 1), "utf-8")
    kb = load_kb(kb_copy)
    assert kb.topics["tam-tru"].general and not kb.topics["ket-hon"].general
    path.write_text(text.replace('fee = "', 'general = "có"\nfee = "', 1), "utf-8")
    with pytest.raises(KBError) as caught:
        load_kb(kb_copy)
    assert any(
        str(p).endswith("tam-tru.toml:22: 'general' phải là true hoặc false")
        for p in caught.value.problems
    ), [str(p) for p in caught.value.problems]
