"""Reform news: poll the office portal's RSS or Atom feed, draft one broadcast per new item."""

from __future__ import annotations

import datetime as dt
import email.utils
import html
import io
import logging
import re
from dataclasses import dataclass

import feedparser
import requests
import sqlite_utils

from bot.config import Config
from bot.outreach.broadcasts import create_broadcast
from bot.outreach.clock import Moment, epoch
from bot.outreach.text import Texts
from bot.storage import broadcasts as store
from bot.storage import transaction

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10.0
MAX_BYTES = 5_000_000
MAX_DRAFTS_PER_POLL = 10
"""A first poll of a long feed drafts only the newest items; older ones are marked seen."""
SUMMARY_MAX = 600


class FeedError(Exception):
    """The feed could not be fetched or is not RSS / Atom."""


@dataclass(frozen=True, slots=True)
class NewsItem:
    """One feed entry: `key` (guid, id or link) identifies it across polls."""

    key: str
    title: str
    link: str
    summary: str = ""
    published: str = ""


def _plain(text: str | None) -> str:
    """Feed HTML as plain text on one paragraph."""
    without_tags = re.sub(r"<[^>]+>", " ", text or "")
    return " ".join(html.unescape(without_tags).split())


def _shorten(text: str, limit: int) -> str:
    """Cut `text` at a word boundary to at most `limit` characters."""
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def parse_feed(data: bytes) -> list[NewsItem]:
    """Entries of an RSS (0.9x, 1.0, 2.0) or Atom document, in document order (newest first).

    feedparser reads what portals really publish (an unescaped "&", HTML entities such as
    &nbsp; that XML does not define, an unclosed tag, a wrong encoding declaration) where a
    strict XML parser gives up. Documents declaring entities are refused before parsing.
    """
    if b"<!ENTITY" in data:
        raise FeedError("feed declares XML entities; refused")
    parsed = feedparser.parse(io.BytesIO(data), resolve_relative_uris=False)
    if not parsed.get("version") and not parsed.entries:
        problem = f": {parsed.get('bozo_exception')}" if parsed.get("bozo") else ""
        raise FeedError(f"not an RSS or Atom feed{problem}")
    if parsed.get("bozo"):
        logger.info("news: feed is malformed but readable (%s)", parsed.get("bozo_exception"))
    items: list[NewsItem] = []
    for entry in parsed.entries:
        link = str(entry.get("link") or "").strip()
        key = str(entry.get("id") or "").strip() or link
        title = _plain(entry.get("title"))
        content = entry.get("content") or [{}]
        summary = entry.get("summary") or content[0].get("value")
        published = str(entry.get("published") or entry.get("updated") or "").strip()
        if key and title:
            items.append(NewsItem(key, title, link, _plain(summary), published))
    return items


def fetch_feed(url: str, session: requests.Session | None = None) -> list[NewsItem]:
    """Download and parse the feed at `url`; raise FeedError on any failure."""
    getter = session or requests
    try:
        response = getter.get(
            url, timeout=TIMEOUT_SECONDS, headers={"User-Agent": "zalo-oa-bot news poller"}
        )
        response.raise_for_status()
    except requests.RequestException as exc:
        raise FeedError(f"{url}: {exc}") from None
    if len(response.content) > MAX_BYTES:
        raise FeedError(f"{url}: feed larger than {MAX_BYTES} bytes")
    return parse_feed(response.content)


def _sort_key(item: NewsItem) -> float:
    """An item's publication time as epoch seconds (0 when unreadable)."""
    try:
        return email.utils.parsedate_to_datetime(item.published).timestamp()
    except (TypeError, ValueError):
        pass
    try:
        return dt.datetime.fromisoformat(item.published.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def draft_items(
    db: sqlite_utils.Database, config: Config, texts: Texts, items: list[NewsItem], now: Moment
) -> list[int]:
    """Turn unseen items into broadcasts (drafts unless auto-approved); return their ids."""
    ordered = sorted(items, key=_sort_key)
    newest = {item.key for item in ordered[-MAX_DRAFTS_PER_POLL:]}
    created: list[int] = []
    for item in ordered:
        with transaction(db):
            item_id = store.insert_news_item(
                db, item.key, item.title, item.link, item.published, epoch(now)
            )
            if item_id is None or item.key not in newest:
                continue
            text = texts.text(
                "news_broadcast", title=item.title, summary=_shorten(item.summary, SUMMARY_MAX)
            ).strip()
            auto = config.outreach.news_auto_approve
            row = create_broadcast(
                db,
                config,
                text[:2000],
                "all",
                "now" if auto else None,
                now,
                link_url=item.link if item.link.startswith(("http://", "https://")) else None,
                link_title=texts.text("news_link_title"),
                draft=not auto,
                source="news",
            )
            store.link_news_broadcast(db, item_id, row["id"])
        created.append(row["id"])
    if created:
        logger.info("news: %d new item(s) drafted as broadcasts", len(created))
    return created


def poll_news(
    db: sqlite_utils.Database,
    config: Config,
    texts: Texts,
    now: Moment,
    session: requests.Session | None = None,
) -> list[int]:
    """Fetch the configured feed and draft its new items; [] when no feed is configured."""
    url = config.outreach.news_feed_url
    if not url:
        return []
    return draft_items(db, config, texts, fetch_feed(url, session), now)
