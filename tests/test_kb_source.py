"""Line numbers are found in the file text, wherever a key, table or list item is written."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from bot.kb.source import SourceLines

TEXT = """# comment
id = "ket-hon"
questions = [
  "đăng ký kết hôn",
  "dang ky ket hon",
]
'quoted key' = "x"

[where_by_ward]
tay-ho = "657 Lạc Long Quân"

[[ward]]
id = "tay-ho"
name = "Phường Tây Hồ"

[[ward]]
id = "hong-ha"
  name = "Phường Hồng Hà"
"""
SOURCE = SourceLines(TEXT)


def test_top_level_keys_and_quoted_keys() -> None:
    assert SOURCE.line("id") == 2
    assert SOURCE.line("quoted key") == 7


def test_list_items_are_found_by_value() -> None:
    assert SOURCE.line("questions", value="dang ky ket hon") == 5
    assert SOURCE.line("questions", value="not there") == 3


def test_keys_in_the_nth_array_table() -> None:
    assert SOURCE.line("id", "ward", 0) == 13
    assert SOURCE.line("name", "ward", 1) == 18
    assert SOURCE.line(None, "ward", 1) == 16


def test_subtable_keys_and_headers() -> None:
    assert SOURCE.subkey("where_by_ward", "tay-ho") == 10
    assert SOURCE.line("where_by_ward") == 9
    assert SOURCE.has_table("ward") and not SOURCE.has_table("office")
    assert SOURCE.has_key("id") and not SOURCE.has_key("name")


def test_missing_things_fall_back_to_a_line_that_exists() -> None:
    assert SOURCE.line("nothing") == 1
    assert SOURCE.line("id", "ward", 7) == 1


keys = st.lists(
    st.from_regex(r"[a-z][a-z_]{0,11}", fullmatch=True), min_size=1, max_size=12, unique=True
)


@given(keys, st.lists(st.integers(0, 3), min_size=12, max_size=12), st.data())
def test_every_key_is_found_on_the_line_it_was_written(
    names: list[str], gaps: list[int], data: st.DataObject
) -> None:
    lines: list[str] = []
    where = {}
    for name, gap in zip(names, gaps, strict=False):
        lines += ["# note"] * gap
        value = data.draw(st.text(max_size=20))
        where[name] = len(lines) + 1
        lines.append(f"{name} = {json.dumps(value, ensure_ascii=False)}")
    source = SourceLines("\n".join(lines))
    assert {name: source.line(name) for name in names} == where
