"""LiveKB picks up good edits within seconds and keeps the last good knowledge base on bad ones."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from bot.kb.live import KBUnavailable, LiveKB
from bot.kb.model import KnowledgeBase

GOOD = Path(__file__).parent / "fixtures" / "kb" / "good"
T0 = 1_795_000_000.0


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A writable copy of the small good fixture, with the other owners' shipped texts."""
    copy = Path(shutil.copytree(GOOD, tmp_path / "kb"))
    for file in (GOOD.parent.parent.parent.parent / "knowledge_base" / "texts").glob("*.toml"):
        if file.name != "general.toml":
            shutil.copy(file, copy / "texts" / file.name)
    return copy


def edit(path: Path, old: str, new: str) -> None:
    """Replace text in a file and move its modification time forward."""
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))


def fee(live: LiveKB) -> str:
    """The fee text of tam-tru in the knowledge base currently served."""
    kb: KnowledgeBase = live.current
    return kb.topics["tam-tru"].fee


def test_good_edit_is_served_after_reload_seconds(root: Path) -> None:
    clock = Clock()
    live = LiveKB(root, lambda kb: kb, reload_seconds=2.0, clock=clock)
    before = live.status()["version"]
    edit(root / "topics" / "tam-tru.toml", 'fee = "Kiểm tra', 'fee = "Miễn phí. Kiểm tra')
    clock.now += 1.0
    assert fee(live).startswith("Kiểm tra")  # not looked at again yet
    clock.now += 1.0
    assert fee(live).startswith("Miễn phí")
    status = live.status()
    assert status["version"] != before and status["reloads"] == 2 and status["ok"]
    assert status["loaded_at"] == clock.now


def test_good_edit_is_picked_up_within_seconds_on_the_real_clock(root: Path) -> None:
    live = LiveKB(root, lambda kb: kb, reload_seconds=0.1)
    edit(root / "topics" / "tam-tru.toml", 'fee = "Kiểm tra', 'fee = "Miễn phí. Kiểm tra')
    deadline = time.monotonic() + 3.0
    while not fee(live).startswith("Miễn phí"):
        assert time.monotonic() < deadline, "edit not picked up within 3 seconds"
        time.sleep(0.05)


def test_broken_edit_is_refused_and_the_last_good_kb_keeps_answering(
    root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    live = LiveKB(root, lambda kb: kb, reload_seconds=1.0, clock=clock)
    good = live.current
    topic = root / "topics" / "tam-tru.toml"
    edit(topic, 'fee = "Kiểm tra', 'fee = 5\nfees = "Kiểm tra')
    clock.now += 1.0
    with caplog.at_level("ERROR", logger="bot.kb.live"):
        assert live.current is good
    assert "knowledge base edit refused" in caplog.text and f"{topic}:22:" in caplog.text
    status = live.status()
    assert status["ok"] is False and status["refused"] == 1
    assert status["version"] == good.version and status["last_error_at"] == clock.now
    assert any(e.startswith(f"{topic}:22: 'fee'") for e in status["last_errors"])
    assert any(e.startswith(f"{topic}:23: khóa lạ 'fees'") for e in status["last_errors"])
    # The refusal is not repeated while the broken files stay as they are.
    clock.now += 5.0
    assert live.current is good and live.status()["refused"] == 1
    # Fixing the file brings the edit in.
    edit(topic, 'fee = 5\nfees = "Kiểm tra', 'fee = "Đã sửa. Kiểm tra')
    clock.now += 1.0
    assert fee(live).startswith("Đã sửa") and live.status()["ok"] is True


def test_unchanged_files_are_not_reloaded(root: Path) -> None:
    clock = Clock()
    built = []
    live = LiveKB(root, lambda kb: built.append(kb) or kb, reload_seconds=1.0, clock=clock)
    for _ in range(5):
        clock.now += 1.0
        assert live.current is not None
    assert len(built) == 1


def test_new_and_deleted_topic_files_count_as_edits(root: Path) -> None:
    clock = Clock()
    live = LiveKB(root, lambda kb: kb, reload_seconds=1.0, clock=clock)
    (root / "topics" / "tam-tru.toml").unlink()
    clock.now += 1.0
    assert set(live.current.topics) == {"ket-hon"}


def test_a_failing_build_is_refused(root: Path) -> None:
    clock = Clock()
    calls = []

    def build(kb: KnowledgeBase) -> KnowledgeBase:
        calls.append(kb)
        if len(calls) > 1:
            raise RuntimeError("index exploded")
        return kb

    live = LiveKB(root, build, reload_seconds=1.0, clock=clock)
    good = live.current
    edit(root / "topics" / "tam-tru.toml", 'fee = "Kiểm tra', 'fee = "Miễn phí. Kiểm tra')
    clock.now += 1.0
    assert live.current is good
    assert "index exploded" in live.status()["last_errors"][0]


def test_no_good_kb_at_start_raises_until_fixed(root: Path) -> None:
    clock = Clock()
    topic = root / "topics" / "tam-tru.toml"
    edit(topic, 'id = "tam-tru"', "id = ")
    live = LiveKB(root, lambda kb: kb, reload_seconds=1.0, clock=clock)
    with pytest.raises(KBUnavailable):
        _ = live.current
    assert live.status()["ok"] is False and live.status()["topics"] == 0
    edit(topic, "id = ", 'id = "tam-tru"')
    clock.now += 1.0
    assert set(live.current.topics) == {"ket-hon", "tam-tru"}


def test_broken_edit_keeps_the_previous_matcher_answering(root: Path) -> None:
    import bot.understanding as matcher

    clock = Clock()
    live = LiveKB(root, matcher.build_index, reload_seconds=1.0, clock=clock)
    assert live.current.match("đăng ký tạm trú ở đâu").topic == "tam-tru"
    (root / "topics" / "tam-tru.toml").write_text("id = [", encoding="utf-8")
    clock.now += 1.0
    assert live.current.match("đăng ký tạm trú ở đâu").topic == "tam-tru"
    assert "lỗi cú pháp TOML" in live.status()["last_errors"][0]


def test_self_test_failure_refuses_the_edit(root: Path) -> None:
    import bot.understanding as matcher

    clock = Clock()
    live = LiveKB(root, matcher.build_index, reload_seconds=1.0, clock=clock)
    good = live.current
    edit(
        root / "topics" / "tam-tru.toml",
        '  "gia hạn tạm trú",',
        '  "gia hạn tạm trú",\n  "đăng ký kết hôn online được không",',
    )
    clock.now += 1.0
    assert live.current is good
    assert any("tự kiểm tra" in e for e in live.status()["last_errors"])
