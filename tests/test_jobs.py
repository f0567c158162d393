"""Scheduler jobs: one lease holder does the work, failures are contained, retention applies."""

from __future__ import annotations

import logging
from pathlib import Path
from zoneinfo import ZoneInfo

from outreach_support import local, per_user, seed_users, with_sections

from bot import storage
from bot.jobs import LEASE_TTL, Jobs, build_scheduler
from bot.outreach import broadcasts
from bot.outreach.dossiers import apply_import
from bot.outreach.text import FileTexts
from bot.storage import core, transaction
from bot.storage import dossiers as store
from bot.storage import outbox as outbox_store
from bot.zalo.client import ZaloClient
from bot.zalo.tokens import TokenStore

T = local(2026, 12, 1, 10, 0).timestamp()
TEXTS = FileTexts("knowledge_base")


def make_jobs(config, owner):
    return Jobs(
        config,
        owner=owner,
        texts=TEXTS,
        client_factory=lambda db: ZaloClient(config.zalo, TokenStore(db, config)),
    )


def run_all(jobs: Jobs, now: float) -> None:
    jobs.run("lease", now)
    jobs.run("reminders", now)
    for name in ("broadcasts", "outbox"):
        while jobs.run(name, now):
            pass


def test_a_second_scheduler_does_not_double_send(sim, zalo_config, db):
    users = seed_users(db, (f"4{n:03d}" for n in range(40)), T - 60)
    sim.seed_followers(users)
    first, second = make_jobs(zalo_config, "first"), make_jobs(zalo_config, "second")
    broadcasts.create_broadcast(db, zalo_config, "Thông báo 1", "all", "now", T)
    for step in range(5):  # the first started first; the second was started by mistake
        run_all(first, T + step)
        run_all(second, T + step)
    assert first.lead(T + 5) and not second.lead(T + 5)
    assert len(sim.delivered()) == 40
    # The first one dies (no more renewals); the standby takes over only after the lease lapses.
    broadcasts.create_broadcast(db, zalo_config, "Thông báo 2", "all", "now", T + 10)
    run_all(second, T + 10 + LEASE_TTL - 15)
    assert len(sim.delivered()) == 40
    run_all(second, T + 10 + LEASE_TTL + 1)
    assert len(sim.delivered()) == 80
    assert set(per_user(sim.delivered()).values()) == {2}
    assert first.run("broadcasts", T + 10 + LEASE_TTL + 2) is None  # it lost the lease


def test_a_failing_job_is_logged_and_the_others_still_run(sim, zalo_config, db, caplog):
    config = with_sections(zalo_config, outreach={"news_feed_url": "http://127.0.0.1:9/feed"})
    jobs = make_jobs(config, "solo")
    sim.seed_followers(seed_users(db, ["4101"], T - 60))
    broadcasts.create_broadcast(db, config, "Vẫn gửi", "all", "now", T)
    with caplog.at_level(logging.ERROR, logger="bot.jobs"):
        assert jobs.run("news", T) is None
    assert "job news failed" in caplog.text
    assert jobs.run("broadcasts", T) == 1
    assert jobs.run("outbox", T) == 1
    assert [m["text"] for m in sim.delivered()] == ["Vẫn gửi"]


def test_retention_blanks_old_texts_and_drops_closed_dossiers(zalo_config, db):
    config = with_sections(zalo_config, storage={"retention_days": 30})
    old, recent = T - 40 * 86400, T - 86400
    with transaction(db):
        core.record_inbound(db, "a", "user_send_text", "1", "a", "cũ", "0", 0, old)
        core.record_inbound(db, "b", "user_send_text", "1", "b", "mới", "0", 0, recent)
    header = "Mã hồ sơ,Thủ tục,Trạng thái,Nơi tiếp nhận\n"
    apply_import(
        db,
        (
            header + "000.00.01.H26-260101-0001,A,Đã trả kết quả,X\n"
            "000.00.01.H26-260101-0002,B,Đang xử lý,X\n"
        ).encode(),
        old,
    )
    assert make_jobs(config, "solo").run("retention", T) == 2
    texts = [t for (t,) in db.execute("SELECT text FROM inbound_events ORDER BY id")]
    assert texts == [None, "mới"]
    assert store.get_dossier(db, "000.00.01.H26-260101-0001") is None
    assert store.get_dossier(db, "000.00.01.H26-260101-0002") is not None


def test_the_token_job_refreshes_through_zalo_oauth(sim, zalo_config, db):
    jobs = make_jobs(zalo_config, "solo")
    assert jobs.run("token", T) is True
    assert sim.refresh_count == 1
    assert jobs.run("token", T + 60) is False


def test_the_scheduler_has_every_job_in_the_office_timezone(zalo_config):
    config = with_sections(zalo_config, outreach={"news_feed_url": "http://127.0.0.1:9/feed"})
    scheduler = build_scheduler(make_jobs(config, "solo"))
    names = {job.id for job in scheduler.get_jobs()}
    assert names == {"lease", "broadcasts", "reminders", "token", "checkpoint", "news", "retention"}
    assert scheduler.timezone == ZoneInfo("Asia/Ho_Chi_Minh")


def dead_owner() -> str:
    """A lease owner id naming a process of this host that has exited."""
    import socket
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return f"{socket.gethostname()}:{done.stdout.strip()}:dead"


def test_a_standby_takes_over_at_once_when_the_leaders_process_is_gone(zalo_config, db):
    crashed = make_jobs(zalo_config, dead_owner())
    assert crashed.lead(T)  # it held the lease, then its process died
    standby = make_jobs(zalo_config, None)  # this process: alive
    assert standby.lead(T + 1)  # not LEASE_TTL later
    assert outbox_store.lock_holder(db, "scheduler") == standby.owner


def test_a_standby_leaves_a_live_leaders_lease_alone(zalo_config, db):
    leader = make_jobs(zalo_config, None)
    assert leader.lead(T)
    standby = make_jobs(zalo_config, None)
    assert not standby.lead(T + 1)
    assert not standby.lead(T + LEASE_TTL - 1)


def test_commits_leave_the_wal_to_the_checkpoint_job(zalo_config, db):
    """No commit copies the WAL into the database file (two fsyncs under the write lock, in a
    webhook request): the scheduler's checkpoint job does it every second."""
    path = Path(zalo_config.storage.database)
    assert db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == storage.AUTOCHECKPOINT_PAGES
    size = path.stat().st_size
    for n in range(300):  # ~300 new pages: past SQLite's default of 1,000 WAL pages
        with transaction(db):
            db.execute(
                "INSERT INTO users (user_id, display_name, created_at) VALUES (?, ?, ?)",
                [f"u{n}", "x" * 3000, T],
            )
    assert path.stat().st_size == size
    assert make_jobs(zalo_config, "solo").run("checkpoint", T) is True
    assert path.stat().st_size > size + 300 * 3000
