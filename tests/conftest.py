"""Shared pytest plugins and fixtures: each area registers its fixture module here."""

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
