"""Shared pytest plugins and fixtures: each area registers its fixture module here."""

import os
from pathlib import Path

import pytest

from bot.kb.loader import load_kb
from bot.understanding import Index, build_index

pytest_plugins = ["tests.fixtures_zalo"]

SHIPPED_KB = Path(__file__).resolve().parent.parent / "knowledge_base"


@pytest.fixture(scope="session")
def shipped_index() -> Index:
    """The matcher index of the shipped knowledge base, built once per test run."""
    return build_index(load_kb(SHIPPED_KB))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    """Under `scripts/test.sh` (BOT_REQUIRE_BROWSER=1) a browser test that would be skipped for
    want of Chromium or Playwright fails instead: it is never skipped silently."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("BOT_REQUIRE_BROWSER") == "1":
        if item.get_closest_marker("browser") is not None or "browser" in item.nodeid:
            report.outcome = "failed"
            report.longrepr = f"browser test skipped ({report.longrepr}); install chromium"
