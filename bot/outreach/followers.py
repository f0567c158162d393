"""Followers and tags synced from Zalo's paged follower list, for broadcast audiences."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Protocol

import sqlite_utils

from bot.outreach.clock import Moment, epoch
from bot.storage import outreach as store
from bot.storage import transaction

logger = logging.getLogger(__name__)

PAGE = 50
OFFSET_LIMIT = 9951
"""Zalo's user list refuses offsets beyond about this (zalo-oa.md section 6)."""

Progress = Callable[[str, int, int], None]
"""Called as progress(what, done, total) after each page."""


class FollowerSource(Protocol):
    """The part of `bot.zalo.ZaloClient` that lists followers and tags."""

    def list_followers(
        self, offset: int = 0, count: int = 50, tag: str | None = None
    ) -> tuple[int, list[str]]:
        """One page of follower ids and the total."""

    def list_tags(self) -> list[str]:
        """The OA's tag names."""


def _pages(
    client: FollowerSource, tag: str | None, progress: Progress | None, what: str
) -> Iterator[list[str]]:
    """Yield pages of follower ids until the list (or Zalo's offset limit) ends."""
    offset = 0
    while True:
        total, ids = client.list_followers(offset, PAGE, tag)
        if ids:
            yield ids
        offset += len(ids)
        if progress:
            progress(what, min(offset, total), total)
        if not ids or offset >= total:
            return
        if offset > OFFSET_LIMIT:
            logger.warning("followers %s: Zalo lists only the first %d of %d", what, offset, total)
            return


def sync_followers(
    db: sqlite_utils.Database,
    client: FollowerSource,
    now: Moment,
    progress: Progress | None = None,
) -> dict[str, object]:
    """Record every follower and each tag's members; return counts (followers, new, tags)."""
    ts = epoch(now)
    followers = new = 0
    for ids in _pages(client, None, progress, "followers"):
        with transaction(db):
            new += store.mark_followers(db, ids, ts)
        followers += len(ids)
    tags = client.list_tags()
    sizes: dict[str, int] = {}
    for tag in tags:
        members: list[str] = []
        for ids in _pages(client, tag, progress, f"tag {tag}"):
            members.extend(ids)
        with transaction(db):
            store.mark_followers(db, members, ts)
            store.replace_tag(db, tag, members, ts)
        sizes[tag] = len(members)
    with transaction(db):
        store.drop_tags_except(db, tags)
    logger.info("followers synced: %d (%d new), %d tags", followers, new, len(tags))
    return {"followers": followers, "new": new, "tags": sizes}
