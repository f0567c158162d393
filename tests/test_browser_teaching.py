"""Staff teach the bot in a real browser (Debian's Chromium through Playwright), end to end.

Citizens write through the Zalo simulator to the real app (webhook, live knowledge base built
from a writable copy of the shipped one and reporting its state as the scheduler's does,
console) served on 127.0.0.1; the sender delivers the bot's replies back to the simulator.
Requests leaving loopback are aborted and fail the test.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import threading
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from admin_support import PASSWORD, add_account, db_of
from fixtures_zalo import make_config as make_zalo_config
from werkzeug.serving import make_server

from bot.config import AdminConfig, Config
from bot.inbox.worker import TurnWorker, answering_kb
from bot.outbox.delivery import Sender
from bot.simulator import Simulator
from bot.web import create_app

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
SHIPPED_KB = Path(__file__).resolve().parent.parent / "knowledge_base"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]


@pytest.fixture
def console(tmp_path: Path, sim: Simulator) -> Iterator[tuple[str, Config, Simulator]]:
    """The whole app on a real port, citizens wired through the simulator, replies delivered."""
    kb = tmp_path / "kb"
    shutil.copytree(SHIPPED_KB, kb, ignore=shutil.ignore_patterns("suggestions"))
    base = make_zalo_config(tmp_path, sim)
    config = dataclasses.replace(
        base,
        bot=dataclasses.replace(base.bot, knowledge_base=str(kb), reload_seconds=1.0),
        admin=AdminConfig(),
    )
    add_account(config, "mai.editor", "admin")
    # One live knowledge base for the turn worker (as the scheduler runs it: it reports its
    # state to the console's page) and the console's topic list.
    live = answering_kb(config).watch()
    app = create_app(config, live_kb=live)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    sim.set_webhook(f"http://127.0.0.1:{server.server_port}{config.webhook.path}")
    sender = Sender(config, workers=1).start()
    turns = TurnWorker(config, live).start()
    yield f"http://127.0.0.1:{server.server_port}", config, sim
    turns.stop(5)
    sender.stop(5)
    server.shutdown()


@pytest.fixture
def tab(console: tuple) -> Iterator[object]:
    """A logged-in Chromium page that may only talk to 127.0.0.1."""
    base = console[0]
    escaped: list[str] = []
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")

        def only_loopback(route: object) -> None:
            if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):
                route.continue_()
            else:
                escaped.append(route.request.url)
                route.abort()

        context.route("**/*", only_loopback)
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{base}/admin/login")
        page.fill("input[name=username]", "mai.editor")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        playwright_api.expect(page.locator("h1")).to_have_text("Tổng quan")
        yield page
        browser.close()
    assert escaped == [], f"the console tried to reach beyond loopback: {escaped}"


def says(sim: Simulator, user: str, text: str) -> None:
    """A citizen message through the simulator's signed webhook; returns once it is answered."""
    before = len(sim.delivered(user))
    assert sim.user_says(user, text) == 200
    assert sim.wait_for(before + 1, timeout=30, user_id=user)


def bad_conversations(sim: Simulator) -> None:
    """Menu ignored, a rephrase then 👎, fallbacks then a hand-over."""
    says(sim, "7001", "làm giấy xác nhận")  # choices (which confirmation?) ...
    says(sim, "7001", "làm hộ chiếu")  # ... ignored: the citizen typed something else
    says(sim, "7002", "làm sổ đỏ cho nhà mới mua")
    says(sim, "7002", "lam so do cho nha moi mua duoc khong")  # asked again: a rephrase
    says(sim, "7002", "#rate:so-do-lan-dau:0")  # 👎
    says(sim, "7003", "chết thì báo ở đâu")  # not understood
    says(sim, "7003", "chet thi bao o dau")
    says(sim, "7003", "cho tôi gặp cán bộ")  # hand-over


def group_of(page: object, text: str) -> object:
    """The inbox group whose questions include `text`."""
    return page.locator("section.group").filter(has_text=text)


def test_bad_turns_appear_grouped_and_an_approved_phrasing_is_answered_next(
    console: tuple, tab: object
) -> None:
    base, config, sim = console
    expect = playwright_api.expect
    bad_conversations(sim)
    ARTIFACTS.mkdir(exist_ok=True)

    tab.click("nav >> text=Hộp lỗi")
    rephrased = group_of(tab, "làm sổ đỏ cho nhà mới mua")
    expect(rephrased.locator("[data-count]")).to_have_text("2")
    expect(rephrased.locator('[data-outcome="rephrased"]')).to_have_count(1)
    expect(rephrased.locator('[data-outcome="rated_down"]')).to_have_count(1)
    expect(
        group_of(tab, "làm giấy xác nhận").locator('[data-outcome="choices_ignored"]')
    ).to_have_count(1)
    expect(tab.locator('[data-outcome="handover"]')).to_contain_text("cho tôi gặp cán bộ")
    death = group_of(tab, "chết thì báo ở đâu")
    expect(death.locator("[data-count]")).to_have_text("2")
    tab.screenshot(path=str(ARTIFACTS / "admin-inbox.png"), full_page=True)

    # The conversation around a failure, and a flag on the bot's answer.
    rephrased.locator("a", has_text="Xem hội thoại").first.click()
    expect(tab.locator("[data-conversation]")).to_contain_text("lam so do cho nha moi mua")
    form = tab.locator("[data-flag]").first
    form.locator("select[name=reason]").select_option("incomplete")
    form.locator("button").click()
    expect(tab.locator(".notice")).to_contain_text("thiếu thông tin")

    # Draft a phrasing from the group, approve it: kb check passes and the file is written.
    tab.goto(f"{base}/admin/inbox")
    death = group_of(tab, "chết thì báo ở đâu")
    death.locator("select[name=topic]").select_option("khai-tu")
    death.locator('button[value="assign"]').click()
    draft = tab.locator("[data-suggestion]").first
    phrasings = draft.locator("textarea[name=phrasings]")
    expect(phrasings).to_have_value(re.compile(r"^chết thì báo ở đâu\nchet thi bao o dau"))
    draft.locator('button:has-text("Duyệt và ghi vào cơ sở tri thức")').click()
    expect(tab.locator(".notice")).to_contain_text("Đã duyệt và ghi vào chủ đề")
    topic = tomllib.loads((Path(config.bot.knowledge_base) / "topics/khai-tu.toml").read_text())
    assert topic["questions"][-1] == "chết thì báo ở đâu"

    # The very next citizen who asks gets the answer.
    says(sim, "7009", "chết thì báo ở đâu")
    row = (
        db_of(config)
        .execute("SELECT kind, topic FROM turns WHERE user_id = '7009' ORDER BY id DESC")
        .fetchone()
    )
    assert tuple(row) == ("answer", "khai-tu")
    assert sim.wait_for(1, timeout=30, user_id="7009")
    assert "khai tử" in str(sim.delivered("7009")).lower()

    # The flagged answer is listed under its topic on the knowledge-base page.
    tab.click("nav >> text=Cơ sở tri thức")
    expect(tab.locator("[data-flags]")).to_contain_text("Thiếu thông tin")


def test_a_broken_edit_shows_on_the_kb_page_within_seconds_without_citizens(
    console: tuple, tab: object
) -> None:
    base, config, _ = console
    expect = playwright_api.expect
    tab.goto(f"{base}/admin/kb")
    expect(tab.locator("[data-kb-ok]")).to_be_visible()
    path = Path(config.bot.knowledge_base) / "topics" / "khai-tu.toml"
    good = path.read_text(encoding="utf-8")
    path.write_text(good.replace('title = "', "title = ", 1), encoding="utf-8")  # broken TOML
    started = time.monotonic()
    expect(tab.locator("[data-kb-errors]")).to_contain_text("khai-tu.toml", timeout=30_000)
    seen_after = time.monotonic() - started
    tab.screenshot(path=str(ARTIFACTS / "admin-kb-broken.png"), full_page=True)
    path.write_text(good, encoding="utf-8")
    expect(tab.locator("[data-kb-ok]")).to_be_visible(timeout=60_000)
    assert seen_after < 30, seen_after


def test_a_staff_reply_approved_as_an_faq_entry_answers_the_next_citizen(
    console: tuple, tab: object
) -> None:
    base, config, sim = console
    expect = playwright_api.expect
    question = "hàng xóm hát karaoke đến nửa đêm thì báo ai"
    answer = "Dạ, anh/chị báo Công an phường nơi có tiếng ồn, hoặc phản ánh qua ứng dụng iHanoi."
    says(sim, "7101", question)  # the bot does not know: it falls back ...
    says(sim, "7101", "cho tôi gặp cán bộ")  # ... the citizen asks for a person
    assert sim.staff_replies("7101", answer) == 200  # staff answer from Zalo's OA chat

    # The reply is offered as an FAQ entry about the question before the hand-over.
    tab.click("nav >> text=Gợi ý")
    reply = tab.locator("[data-replies] li").filter(has_text=answer)
    expect(reply).to_contain_text(f"Người dân hỏi: “{question}”")
    reply.locator("button", has_text="Soạn câu hỏi thường gặp").click()
    expect(tab.locator(".notice")).to_contain_text("Đã soạn câu hỏi thường gặp")
    draft = tab.locator('[data-suggestion][data-kind="faq"]').first
    expect(draft.locator("textarea[name=answer]")).to_have_value(answer)

    # Staff complete the draft and approve it: `kb check` passes and the topic file is written.
    draft.locator("select[name=topic]").select_option("phan-anh-kien-nghi")
    draft.locator("input[name=question]").fill("Hàng xóm hát karaoke ồn ào ban đêm thì báo ai?")
    draft.locator("textarea[name=phrasings]").fill(
        f"{question}\nhang xom hat karaoke den nua dem thi bao ai\n"
        "karaoke ồn ào ban đêm phản ánh ở đâu"
    )
    draft.locator("input[name=faq_id]").fill("karaoke-ban-dem")
    draft.locator('button:has-text("Duyệt và ghi vào cơ sở tri thức")').click()
    expect(tab.locator(".notice")).to_contain_text("Đã duyệt và ghi vào chủ đề")
    path = Path(config.bot.knowledge_base) / "topics" / "phan-anh-kien-nghi.toml"
    entry = tomllib.loads(path.read_text(encoding="utf-8"))["faq"][-1]
    assert entry["id"] == "karaoke-ban-dem" and entry["answer"] == answer
    tab.goto(f"{base}/admin/audit")
    expect(tab.locator("tr").filter(has_text="suggestion_approved")).to_contain_text("mai.editor")

    # The next citizen who asks, without diacritics, is answered by the new entry.
    says(sim, "7102", "hang xom hat karaoke den nua dem thi bao ai")
    row = (
        db_of(config)
        .execute("SELECT kind, topic, faq FROM turns WHERE user_id = '7102' ORDER BY id DESC")
        .fetchone()
    )
    assert tuple(row) == ("answer", "phan-anh-kien-nghi", "karaoke-ban-dem")
    assert sim.wait_for(1, timeout=30, user_id="7102")
    assert "iHanoi" in str(sim.delivered("7102"))
