"""The simulator's chat page in a real browser (Debian's Chromium through Playwright).

A person playing a citizen types a question, the bot's reply appears with its buttons, a click
on a button sends the payload as the citizen's text and gets the next answer, and the follow
button gets the welcome. Everything runs on 127.0.0.1: webhook app, sender threads, simulator.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest
from werkzeug.serving import make_server

from bot.inbox.worker import TurnWorker
from bot.outbox.delivery import Sender
from bot.web import create_app
from tests.fixtures_zalo import make_config

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]


@pytest.fixture
def chat_page(tmp_path, sim) -> Iterator[object]:
    config = make_config(tmp_path, sim)
    app = create_app(config)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    sim.set_webhook(f"http://127.0.0.1:{server.server_port}{config.webhook.path}")
    sender = Sender(config, workers=1).start()
    turns = TurnWorker(config, app.extensions["bot.live_kb"]).start()
    escaped: list[str] = []
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context()

        def only_loopback(route: object) -> None:
            if urlparse(route.request.url).hostname == "127.0.0.1":
                route.continue_()
            else:
                escaped.append(route.request.url)
                route.abort()

        context.route("**/*", only_loopback)
        page = context.new_page()
        page.goto(sim.url + "/")
        yield page
        browser.close()
    sender.stop()
    turns.stop()
    server.shutdown()
    assert escaped == []


def test_citizen_types_clicks_a_button_and_follows(chat_page, sim):
    page = chat_page
    page.fill("#text", "Cho hỏi thủ tục khai sinh")
    page.press("#text", "Enter")
    page.wait_for_selector(".msg.user")
    answer = page.wait_for_selector(".msg.oa", timeout=15_000)
    assert "khai sinh" in answer.inner_text().lower()
    button = page.wait_for_selector(".msg.oa .buttons button")
    title = button.inner_text()
    [first] = sim.delivered()
    clicked = next(b for b in first["buttons"] if b["title"] == title)
    button.click()
    page.wait_for_function("document.querySelectorAll('.msg.oa').length >= 2", timeout=15_000)
    texts = page.locator(".msg.user").all_inner_texts()
    shown = [] if clicked["type"] == "oa.query.hide" else [clicked["payload"]]
    assert texts == ["Cho hỏi thủ tục khai sinh", *shown]
    assert sim.state.chat  # the click reached the bot as the citizen's text
    page.click("#follow")
    page.wait_for_function("document.querySelectorAll('.msg.oa').length >= 3", timeout=15_000)
    assert sim.delivered()[-1]["buttons"]  # the welcome comes with the main menu


RUNS = 20


def test_each_message_is_shown_once_when_polls_overlap_twenty_runs_in_a_row(tmp_path, sim):
    """Poll answers come back late and out of order; every run must show each message once."""
    config = make_config(tmp_path, sim)
    app = create_app(config)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    sim.set_webhook(f"http://127.0.0.1:{server.server_port}{config.webhook.path}")
    sender = Sender(config, workers=1).start()
    turns = TurnWorker(config, app.extensions["bot.live_kb"]).start()
    sim.chat_jitter(1.5)  # the page polls every 0.7 s: answers overlap and cross
    failures: list[str] = []
    try:
        with playwright_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            for run in range(RUNS):
                context = browser.new_context()
                context.route("**/*", lambda route: _loopback_only(route))
                page = context.new_page()
                page.goto(sim.url + "/")
                user_id = page.evaluate("localStorage.getItem('simUserId')")
                page.fill("#text", "Cho hỏi thủ tục khai sinh")
                page.press("#text", "Enter")
                page.wait_for_selector(".msg.oa", timeout=15_000)
                page.wait_for_timeout(1_600)  # every poll in flight (<= 1.5 s) has landed
                shown = [
                    ("oa" if "oa" in cls else "user", text)
                    for cls, text in page.eval_on_selector_all(
                        ".msg", "els => els.map(e => [e.className, e.firstChild.textContent])"
                    )
                ]
                thread = [(e["from"], e["text"]) for e in sim.state.chat_since(user_id, 0)]
                if shown != thread:
                    failures.append(f"run {run + 1}: shown {len(shown)}, sent {len(thread)}")
                context.close()
            browser.close()
    finally:
        sender.stop()
        turns.stop()
        server.shutdown()
    assert failures == []


def _loopback_only(route: object) -> None:
    """Let requests to 127.0.0.1 through and abort anything else."""
    if urlparse(route.request.url).hostname == "127.0.0.1":
        route.continue_()
    else:
        route.abort()
