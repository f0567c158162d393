"""Helpers for the outreach tests: office-local times, seeded users, a full dispatch loop."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo

import sqlite_utils

from bot.config import Config
from bot.outbox.delivery import deliver_due
from bot.outreach.broadcasts import Dispatcher
from bot.storage import outbox as outbox_store
from bot.storage import transaction

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


def local(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    """An aware datetime in Hà Nội time."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=HANOI)


def with_sections(config: Config, **sections: dict) -> Config:
    """`config` with fields replaced per section: with_sections(c, outreach={...})."""
    changes = {
        name: dataclasses.replace(getattr(config, name), **values)
        for name, values in sections.items()
    }
    return dataclasses.replace(config, **changes)


def seed_users(
    db: sqlite_utils.Database,
    user_ids: Iterable[str],
    last_interaction: float | None,
    follow_state: str = "follower",
    ward: str | None = None,
) -> list[str]:
    """Create users with a follow state, last interaction time and ward; return their ids."""
    ids = list(user_ids)
    with transaction(db):
        db.conn.executemany(
            "INSERT INTO users (user_id, follow_state, last_interaction_at, ward, created_at) "
            "VALUES (?, ?, ?, ?, 0)",
            [(u, follow_state, last_interaction, ward) for u in ids],
        )
    return ids


def drain(
    db: sqlite_utils.Database,
    client: object,
    config: Config,
    dispatcher: Dispatcher,
    start: float,
    step: float = 1.0,
    max_steps: int = 200,
) -> float:
    """Alternate dispatcher ticks and delivery passes, advancing time, until nothing is left."""
    now = start
    for _ in range(max_steps):
        dispatcher.tick(db, now)
        while deliver_due(db, client, config, now):
            pass
        counts = outbox_store.counts(db)
        busy = db.execute(
            "SELECT count(*) FROM broadcasts WHERE state IN ('scheduled', 'sending')"
        ).fetchone()[0]
        if not busy and not counts.get("pending") and not counts.get("sending"):
            return now
        now += step
    raise AssertionError("dispatch did not finish")


def per_user(messages: list[dict]) -> dict[str, int]:
    """How many messages each user received."""
    counts: dict[str, int] = {}
    for message in messages:
        counts[message["user_id"]] = counts.get(message["user_id"], 0) + 1
    return counts
