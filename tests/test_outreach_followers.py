"""Follower sync from Zalo's paged list (through the simulator) and tags as audiences."""

from __future__ import annotations

from outreach_support import local

from bot.outreach.audience import preview
from bot.outreach.followers import sync_followers
from bot.storage import core
from bot.storage import outreach as store

NOW = local(2026, 12, 1, 9, 0).timestamp()


def test_sync_pages_through_every_follower_and_tag(sim, db, client, zalo_config):
    sim.seed_followers([f"1{n:04d}" for n in range(120)])
    sim.seed_followers([f"1{n:04d}" for n in range(10)], tags=["cao-tuoi"])
    sim.seed_followers([f"2{n:04d}" for n in range(60)], tags=["kinh-doanh"])
    pages: list[tuple[str, int, int]] = []
    result = sync_followers(db, client, NOW, progress=lambda *p: pages.append(p))
    assert result == {"followers": 180, "new": 180, "tags": {"cao-tuoi": 10, "kinh-doanh": 60}}
    assert pages[:4] == [
        ("followers", 50, 180),
        ("followers", 100, 180),
        ("followers", 150, 180),
        ("followers", 180, 180),
    ]
    assert core.get_user(db, "10007")["follow_state"] == "follower"
    assert preview(db, "tag:cao-tuoi", NOW, zalo_config.zalo)["total"] == 10
    assert store.tag_counts(db) == {"cao-tuoi": 10, "kinh-doanh": 60}


def test_a_second_sync_adds_nobody_twice_and_drops_vanished_tags(sim, db, client):
    sim.seed_followers(["30001", "30002"], tags=["tam-thoi"])
    sync_followers(db, client, NOW)
    with sim.state.lock:
        for user in sim.state.users.values():
            user.tags.clear()
    again = sync_followers(db, client, NOW + 60)
    assert again == {"followers": 2, "new": 0, "tags": {}}
    assert store.tag_counts(db) == {}
