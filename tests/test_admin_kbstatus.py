"""The console's knowledge-base page shows the knowledge base that answers citizens.

Citizens are answered by the turn worker in the scheduler process, from its own live knowledge
base; the console runs in the webhook process. The page shows what the answering one reported
(version in force, refused edit and its errors), not the webhook process's own copy, and says so
when no answering process reports.
"""

from __future__ import annotations

from pathlib import Path

from admin_support import Clock, StaticKB, db_of, logged_in, make_app, make_config
from flask.testing import FlaskClient
from kbfactory import kb_dir, rewrite

from bot.admin import dates
from bot.config import Config
from bot.inbox.worker import REPORT_SECONDS, answering_kb
from bot.storage import kbstate

HANOI = dates.zone("Asia/Ho_Chi_Minh")


def console(tmp_path: Path, clock: Clock) -> tuple[Config, FlaskClient]:
    """A writable knowledge base, and a staff member logged in to the console of an app whose
    own copy of the knowledge base always looks fine (it is not the one answering)."""
    kb_dir(tmp_path)  # tmp_path/kb: the small fixture with the shipped texts
    config = make_config(tmp_path)
    app = make_app(config, clock, StaticKB(config.bot.knowledge_base))
    return config, logged_in(app, config, "staff")


def state_block(client: FlaskClient) -> str:
    """The live state block of the knowledge-base page (the part the page refreshes)."""
    page = client.get("/admin/kb").get_data(as_text=True)
    return page.split("data-kb-state", 1)[1].split('<section class="card" data-flags>', 1)[0]


def test_a_refused_edit_shows_the_version_still_answering_and_the_error(tmp_path: Path) -> None:
    clock = Clock()
    config, client = console(tmp_path, clock)
    live = answering_kb(config, clock=clock)  # as the scheduler loads it (its watcher not started)
    good = live.kb.version
    shown = state_block(client)
    assert "data-kb-ok" in shown and f"phiên bản {good}" in shown
    assert dates.fmt_time(clock.now, HANOI, True) in shown  # when it was loaded

    topic = Path(config.bot.knowledge_base) / "topics" / "tam-tru.toml"
    rewrite(topic, 'fee = "Kiểm tra', 'fee = 5\nfees = "Kiểm tra')
    clock.now += config.bot.reload_seconds
    assert live.maybe_reload(clock.now) is False  # refused: the last good one keeps answering

    shown = state_block(client)
    assert "data-kb-ok" not in shown and "Lần sửa gần nhất bị từ chối" in shown
    assert (
        f"Bot vẫn trả lời bằng bản hợp lệ trước đó: <strong data-kb-version>phiên bản {good}"
        in (shown)
    )
    assert f"{topic}:22: &#39;fee&#39;" in shown and "khóa lạ &#39;fees&#39;" in shown

    rewrite(topic, 'fee = 5\nfees = "Kiểm tra', 'fee = "Đã sửa. Kiểm tra')
    clock.now += config.bot.reload_seconds
    assert live.maybe_reload(clock.now) is True
    shown = state_block(client)
    assert "data-kb-ok" in shown and "data-kb-errors" not in shown
    assert f"phiên bản {live.kb.version}" in shown and live.kb.version != good


def test_the_page_says_when_no_answering_process_has_reported(tmp_path: Path) -> None:
    _, client = console(tmp_path, Clock())
    shown = state_block(client)
    assert "Chưa có tiến trình trả lời nào báo trạng thái" in shown
    assert "python scheduler.py" in shown and "data-kb-ok" not in shown


def test_the_page_says_when_the_answering_process_stopped_reporting(tmp_path: Path) -> None:
    clock = Clock()
    config, client = console(tmp_path, clock)
    live = answering_kb(config, clock=clock)
    for _ in range(40):  # two minutes of looks at the unchanged files, as its watcher does
        clock.now += config.bot.reload_seconds
        live.maybe_reload(clock.now)
    shown = state_block(client)
    assert "data-kb-silent" not in shown and "data-kb-ok" in shown
    last_report = clock.now
    clock.now += 120  # the scheduler stopped: nothing looks at the files any more
    shown = state_block(client)
    assert "Tiến trình trả lời không còn báo trạng thái" in shown and "data-kb-ok" not in shown
    reported_at = kbstate.load(db_of(config))["reported_at"]
    assert last_report - REPORT_SECONDS < reported_at <= last_report
    assert f"Lần báo gần nhất lúc {dates.fmt_time(reported_at, HANOI, True)}" in shown
    assert f"phiên bản {live.kb.version}" in shown
