"""The scheduler process end to end: two real processes, one lease, every message once."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fixtures_zalo import APP_ID, APP_SECRET, FIRST_REFRESH_TOKEN, OA_ID, OA_SECRET
from outreach_support import per_user, seed_users

from bot import storage
from bot.outreach import broadcasts
from bot.storage import core

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def write_config(tmp_path: Path, sim_url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[zalo]
app_id = "{APP_ID}"
oa_id = "{OA_ID}"
oa_secret_key = "{OA_SECRET}"
app_secret = "{APP_SECRET}"
refresh_token = "{FIRST_REFRESH_TOKEN}"
api_base_url = "{sim_url}"
oauth_base_url = "{sim_url}"
timeout_seconds = 2.0

[storage]
database = "{tmp_path / "bot.db"}"

[bot]
knowledge_base = "{REPO / "knowledge_base"}"

[outbox]
poll_seconds = 0.05

[outreach]
quiet_start = "00:00"
quiet_end = "00:00"
""",
        encoding="utf-8",
    )
    return path


def start(config: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "scheduler.py"],
        cwd=REPO,
        env={"BOT_CONFIG": str(config), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )


def wait_until(condition, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_two_scheduler_processes_send_each_broadcast_once(tmp_path, sim):
    config = write_config(tmp_path, sim.url)
    db = storage.connect(tmp_path / "bot.db")
    from bot import config as config_module

    settings = config_module.load(config)
    users = seed_users(db, (f"5{n:03d}" for n in range(20)), time.time())
    sim.seed_followers(users)
    broadcasts.create_broadcast(db, settings, "Tin số 1", "all", "now", time.time())
    first = start(config, tmp_path / "first.log")
    second = None
    try:
        assert wait_until(lambda: len(sim.delivered()) >= 20)
        second = start(config, tmp_path / "second.log")
        assert wait_until(lambda: "stands by" in (tmp_path / "second.log").read_text())
        broadcasts.create_broadcast(db, settings, "Tin số 2", "all", "now", time.time())
        assert wait_until(lambda: len(sim.delivered()) >= 40)
        first.send_signal(signal.SIGTERM)
        assert first.wait(30) == 0
        broadcasts.create_broadcast(db, settings, "Tin số 3", "all", "now", time.time())
        assert wait_until(lambda: len(sim.delivered()) >= 60)
        time.sleep(1.0)  # room for any double send to show up
        assert len(sim.delivered()) == 60
        assert set(per_user(sim.delivered()).values()) == {3}
        assert "holds the lease" in (tmp_path / "second.log").read_text()
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()


def test_a_standby_takes_over_within_seconds_when_the_leader_is_killed(tmp_path, sim):
    config = write_config(tmp_path, sim.url)
    db = storage.connect(tmp_path / "bot.db")
    first = start(config, tmp_path / "first.log")
    second = None
    try:
        assert wait_until(lambda: "holds the lease" in (tmp_path / "first.log").read_text())
        second = start(config, tmp_path / "second.log")
        assert wait_until(lambda: "stands by" in (tmp_path / "second.log").read_text())
        first.send_signal(signal.SIGKILL)  # a crash: the lease is not given up
        first.wait(10)
        killed = time.monotonic()
        core.enqueue(db, "after-crash", "5999", {"text": "Vẫn trả lời."}, time.time())
        assert wait_until(lambda: len(sim.delivered()) == 1, 30)
        taken_over_in = time.monotonic() - killed
        assert taken_over_in < 5.0, f"the standby took {taken_over_in:.1f} s to take over"
        assert "holds the lease" in (tmp_path / "second.log").read_text()
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
