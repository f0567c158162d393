"""Shared fixtures for the Zalo boundary: a simulator over real HTTP and a config pointing at it."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils

from bot import storage
from bot.config import Config, OutboxConfig, StorageConfig, ZaloConfig
from bot.simulator import Simulator, start_simulator
from bot.zalo.client import ZaloClient
from bot.zalo.tokens import TokenStore

APP_ID = "1234567890123456789"
OA_ID = "388613280878808645"
OA_SECRET = "TestOaSecretKey123"
APP_SECRET = "test-app-secret"
FIRST_REFRESH_TOKEN = "first-refresh-token"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """A Zalo simulator on 127.0.0.1, port 0, knowing the first refresh token."""
    simulator = start_simulator(
        app_id=APP_ID,
        oa_secret_key=OA_SECRET,
        oa_id=OA_ID,
        app_secret=APP_SECRET,
        refresh_token=FIRST_REFRESH_TOKEN,
    )
    yield simulator
    simulator.stop()


def make_config(tmp_path: Path, sim: Simulator, **outbox: float) -> Config:
    """A config whose Zalo URLs point at `sim`, with a temp-file database and fast retries."""
    zalo = ZaloConfig(
        app_id=APP_ID,
        oa_id=OA_ID,
        oa_secret_key=OA_SECRET,
        app_secret=APP_SECRET,
        refresh_token=FIRST_REFRESH_TOKEN,
        api_base_url=sim.url,
        oauth_base_url=sim.url,
        timeout_seconds=2.0,
        signature_try_oa_id=False,
    )
    settings = {
        "poll_seconds": 0.02,
        "backoff_base_seconds": 0.05,
        "backoff_max_seconds": 0.5,
        "lease_seconds": 10.0,
        **outbox,
    }
    return Config(
        zalo=zalo,
        storage=StorageConfig(database=str(tmp_path / "bot.db")),
        outbox=dataclasses.replace(OutboxConfig(), **settings),
    )


@pytest.fixture
def zalo_config(tmp_path: Path, sim: Simulator) -> Config:
    """The config of `make_config` for this test's simulator."""
    return make_config(tmp_path, sim)


@pytest.fixture
def db(zalo_config: Config) -> sqlite_utils.Database:
    """A migrated temp-file SQLite database."""
    return storage.connect(zalo_config.storage.database)


@pytest.fixture
def tokens(db: sqlite_utils.Database, zalo_config: Config) -> TokenStore:
    """A token store seeded with the simulator's first refresh token."""
    return TokenStore(db, zalo_config)


@pytest.fixture
def client(zalo_config: Config, tokens: TokenStore) -> ZaloClient:
    """A Zalo client talking to the simulator."""
    return ZaloClient(zalo_config.zalo, tokens)


def write_toml(config: Config, path: Path) -> Path:
    """Write `config` as a TOML file (for subprocesses that read BOT_CONFIG)."""
    lines = []
    for section in dataclasses.fields(config):
        if section.name == "source":
            continue
        lines.append(f"[{section.name}]")
        for item in dataclasses.fields(getattr(config, section.name)):
            value = getattr(getattr(config, section.name), item.name)
            if isinstance(value, bool):
                lines.append(f"{item.name} = {'true' if value else 'false'}")
            elif isinstance(value, (int, float)):
                lines.append(f"{item.name} = {value!r}")
            else:
                lines.append(f"{item.name} = {json.dumps(str(value), ensure_ascii=False)}")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
