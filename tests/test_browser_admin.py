"""The staff console in a real browser (Debian's Chromium through Playwright), end to end.

The app is served over HTTP on 127.0.0.1; the outbox sender and the broadcast job run in
threads against the Zalo simulator, so the progress a staff member watches is real delivery.
Requests leaving loopback are aborted and fail the test. The dashboard screenshot is written to
`test-artifacts/admin-dashboard.png`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from admin_support import PASSWORD, StaticKB, add_account, db_of
from admin_support import make_config as make_admin_config
from fixtures_zalo import make_config as make_zalo_config
from werkzeug.serving import make_server

from bot.config import Config, OutreachConfig
from bot.jobs import Jobs
from bot.outbox.delivery import Sender
from bot.simulator import Simulator
from bot.storage import core
from bot.web import create_app

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HANOI = dt.timezone(dt.timedelta(hours=7))
REACHABLE = [f"55500{n}" for n in range(6)]
SILENT = "5559001"  # last wrote a month ago, and no template is configured
BLOCKED = "5559002"  # Zalo refuses sends to this one (-213)
CSV = (
    "Mã hồ sơ;Thủ tục;Trạng thái;Nơi tiếp nhận;Ngày hẹn trả\n"
    "000.00.01.H26-261120-0101;Đăng ký khai sinh;Đang xử lý;UBND phường Tây Hồ;30/11/2026\n"
    "000.00.01.H26-261120-0102;Đăng ký kết hôn;Có kết quả;UBND phường Tây Hồ;\n"
    "000.00.01.H26-261120-XXXX;Đăng ký tạm trú;Đang xử lý;UBND phường Tây Hồ;\n"
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]


def seed(config: Config, sim: Simulator, now: float) -> None:
    """Followers, a month of activity for the dashboard and a hand-over (the inbox of failures is
    exercised with real citizen traffic in test_browser_teaching)."""
    db = db_of(config)
    sim.seed_followers([*REACHABLE, SILENT, BLOCKED])
    sim.block_user(BLOCKED)
    for user in [*REACHABLE, BLOCKED]:
        core.touch_user(db, user, now - 3600, follow_state="follower")
    core.touch_user(db, SILENT, now - 30 * 86400, follow_state="follower")
    for day in range(14):
        at = now - day * 86400
        for n in range(3 + (day * 7) % 9):
            kind = ("answer", "answer", "answer", "choices", "fallback")[(n + day) % 5]
            topic = ("tam-tru", "ket-hon")[n % 2] if kind == "answer" else None
            core.record_turn(db, None, f"c{day}-{n % 4}", at - n * 60, kind, topic, None, 0.7)
        core.add_rating(db, "c", "tam-tru", day % 4 != 0, at)
        core.add_rating(db, "c", "ket-hon", day % 2 == 0, at)
    core.set_handover(db, REACHABLE[0], True, now, reason="người dân yêu cầu gặp cán bộ")


@pytest.fixture
def console(tmp_path: Path, sim: Simulator) -> Iterator[tuple[str, Config, Simulator]]:
    """The app on a real port, with the sender and the broadcast job running against `sim`."""
    base = make_zalo_config(tmp_path, sim)
    admin = make_admin_config(tmp_path)
    config = dataclasses.replace(
        base,
        outbox=dataclasses.replace(base.outbox, workers=1),
        bot=admin.bot,
        admin=admin.admin,
        outreach=OutreachConfig(quiet_start="00:00", quiet_end="00:00", rate_per_minute=600),
    )
    seed(config, sim, time.time())
    add_account(config, "lan.comms", "admin")
    live = StaticKB(
        config.bot.knowledge_base, loaded_at=time.time() - 60, last_reload_at=time.time() - 2
    )
    app = create_app(config, live_kb=live)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    sim.slow(0.5)  # one sender, half a second a message: the progress is seen moving
    sender = Sender(config).start()
    jobs = Jobs(config)
    stop = threading.Event()

    def broadcasts() -> None:
        while not stop.is_set():
            jobs.run("broadcasts")
            stop.wait(0.25)

    ticking = threading.Thread(target=broadcasts, daemon=True)
    ticking.start()
    yield f"http://127.0.0.1:{server.server_port}", config, sim
    stop.set()
    ticking.join(5)
    sender.stop(5)
    server.shutdown()


@pytest.fixture
def page(console: tuple) -> Iterator[object]:
    """A Chromium page that may only talk to 127.0.0.1."""
    escaped: list[str] = []
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(
            locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", viewport={"width": 1280, "height": 900}
        )

        def only_loopback(route: object) -> None:
            host = urlparse(route.request.url).hostname
            if host in ("127.0.0.1", "localhost"):
                route.continue_()
            else:
                escaped.append(route.request.url)
                route.abort()

        context.route("**/*", only_loopback)
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        yield tab
        browser.close()
    assert escaped == [], f"the console tried to reach beyond loopback: {escaped}"


def numbers(tab: object) -> dict[str, int]:
    """The progress counts shown on a broadcast page right now."""
    return {
        f: int(tab.locator(f'[data-field="{f}"]').inner_text())
        for f in ("sent", "not_reachable", "failed", "pending", "total")
    }


def test_staff_work_through_the_console_in_a_browser(
    page: object, console: tuple, tmp_path: Path
) -> None:
    base, config, sim = console
    tab = page
    expect = playwright_api.expect

    ARTIFACTS.mkdir(exist_ok=True)

    # Log in (the console sends anonymous visitors to the login form).
    tab.goto(f"{base}/admin/")
    expect(tab.locator("h1")).to_have_text("Đăng nhập trang quản trị")
    tab.fill("input[name=username]", "lan.comms")
    tab.fill("input[name=password]", "sai-mat-khau-roi")
    tab.click("button[type=submit]")
    expect(tab.locator("[role=alert]")).to_have_text("Tên đăng nhập hoặc mật khẩu không đúng.")
    tab.screenshot(path=str(ARTIFACTS / "admin-login.png"))
    tab.fill("input[name=password]", PASSWORD)
    tab.click("button[type=submit]")
    expect(tab.locator("h1")).to_have_text("Tổng quan")
    assert tab.locator("svg.chart rect.bar").count() == 60  # 30 days x 2 series

    # A broadcast scheduled for later waits, and can be cancelled.
    tab.click("nav >> text=Thông báo")
    tab.click("text=+ Tạo thông báo")
    tab.fill("textarea[name=text]", "Lịch tiếp công dân tuần sau")
    tab.check("input[name=when][value=later]")
    tomorrow = dt.datetime.now(HANOI) + dt.timedelta(days=1)
    tab.fill("input[name=send_at]", tomorrow.strftime("%d/%m/%Y %H:%M"))
    tab.click("button[value=send]")
    expect(tab.locator("[data-state]")).to_have_text("Đã hẹn giờ")
    expect(tab.locator("dl.facts")).to_contain_text(tomorrow.strftime("%d/%m/%Y %H:%M"))
    tab.click('button:has-text("Hủy thông báo")')
    expect(tab.locator("[data-state]")).to_have_text("Đã hủy")

    # A broadcast scheduled for this very minute goes out; its progress advances live.
    tab.goto(f"{base}/admin/broadcasts/new")
    text = "Từ 01/12/2026, bộ phận một cửa <làm việc> cả sáng thứ Bảy."
    tab.fill("textarea[name=text]", text)
    expect(tab.locator("[data-preview-text]")).to_have_text(text)  # live Zalo preview
    expect(tab.locator("[data-count]")).to_have_text(str(len(text)))
    tab.select_option("select[name=audience]", "recent:7")
    expect(tab.locator("[data-recipients]")).to_contain_text("7 người nhận")
    tab.select_option("select[name=audience]", "all")
    expect(tab.locator("[data-recipients]")).to_contain_text("8 người nhận")
    expect(tab.locator("[data-recipients]")).to_contain_text("1 không liên lạc được")
    tab.screenshot(path=str(ARTIFACTS / "admin-broadcast-new.png"), full_page=True)
    tab.check("input[name=when][value=later]")
    tab.fill("input[name=send_at]", dt.datetime.now(HANOI).strftime("%d/%m/%Y %H:%M"))
    tab.click("button[value=send]")
    expect(tab.locator(".bubble-text")).to_have_text(text)
    seen = [numbers(tab)]
    deadline = time.monotonic() + 30
    while tab.locator("[data-state]").inner_text() != "Đã gửi xong":
        assert time.monotonic() < deadline, f"broadcast did not finish: {seen[-1]}"
        tab.wait_for_timeout(100)
        if numbers(tab) != seen[-1]:
            seen.append(numbers(tab))
    seen.append(numbers(tab))
    final = seen[-1]
    assert final["sent"] == 6 and final["not_reachable"] == 2 and final["total"] == 8
    assert len({s["sent"] for s in seen}) >= 3, f"progress did not advance live: {seen}"
    assert [s["sent"] for s in seen] == sorted(s["sent"] for s in seen)
    expect(tab.locator("[data-cancel]")).to_be_hidden()  # nothing left to cancel
    delivered = [m for m in sim.delivered() if "sáng thứ Bảy" in str(m)]
    assert len(delivered) == 6
    tab.screenshot(path=str(ARTIFACTS / "admin-broadcast-progress.png"), full_page=True)

    # Import a dossier CSV through the validation preview, then find one by its code.
    csv_path = tmp_path / "ho-so-mot-cua.csv"
    csv_path.write_text(CSV, encoding="utf-8-sig")
    tab.click("nav >> text=Hồ sơ")
    tab.set_input_files("input[name=file]", str(csv_path))
    tab.click('button:has-text("Kiểm tra tệp")')
    expect(tab.locator("[data-new]")).to_have_text("2")
    expect(tab.locator("[data-rejected]")).to_have_text("1")
    expect(tab.locator("table.preview").first).to_contain_text("000.00.01.H26-261120-XXXX")
    tab.screenshot(path=str(ARTIFACTS / "admin-dossiers-preview.png"), full_page=True)
    tab.click('button:has-text("Áp dụng 2 hồ sơ")')
    expect(tab.locator(".notice")).to_contain_text("2 hồ sơ mới")
    tab.fill("input[name=code]", "000.00.01.H26-261120-0101")
    tab.click('button:has-text("Tra cứu")')
    expect(tab.locator("[data-dossier]")).to_contain_text("30/11/2026")
    expect(tab.locator("[data-dossier]")).to_contain_text("Đang xử lý")

    # The hand-over queue links to the OA chat and gives the conversation back.
    tab.click("nav >> text=Chuyển cán bộ")
    expect(tab.locator("a", has_text="Mở trong Zalo OA")).to_have_attribute(
        "href", config.bot.oa_chat_url
    )
    tab.screenshot(path=str(ARTIFACTS / "admin-handover.png"), full_page=True)
    tab.click('button:has-text("Trả lại cho bot")')
    expect(tab.locator(".notice")).to_contain_text("Đã trả cuộc trò chuyện cho bot")

    # The dashboard now counts the recipients the broadcast could not reach.
    tab.click("nav >> text=Tổng quan")
    expect(tab.locator(".tile.warn .big")).to_have_text("2")
    tab.screenshot(path=str(ARTIFACTS / "admin-dashboard.png"), full_page=True)

    # The knowledge base page lists topics with their review dates.
    tab.click("nav >> text=Cơ sở tri thức")
    expect(tab.locator("table.data")).to_contain_text("Đăng ký tạm trú")
    tab.screenshot(path=str(ARTIFACTS / "admin-kb.png"), full_page=True)

    # Log out: the console is closed again.
    tab.click('button:has-text("Đăng xuất")')
    expect(tab.locator("h1")).to_have_text("Đăng nhập trang quản trị")
    tab.goto(f"{base}/admin/broadcasts")
    assert re.search(r"/admin/login", tab.url)
