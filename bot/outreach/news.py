"""Reform news: poll the office portal's RSS 2.0 or Atom feed, draft one broadcast per new item."""

from __future__ import annotations

import datetime as dt
import email.utils
import html
import logging
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import requests
import sqlite_utils

from bot.config import Config
from bot.outreach.broadcasts import create_broadcast
from bot.outreach.clock import Moment, epoch
from bot.outreach.text import Texts
from bot.storage import broadcasts as store
from bot.storage import transaction

logger = logging.getLogger(__name__)

ATOM = "{http://www.w3.org/2005/Atom}"
TIMEOUT_SECONDS = 10.0
MAX_BYTES = 5_000_000
MAX_DRAFTS_PER_POLL = 10
"""A first poll of a long feed drafts only the newest items; older ones are marked seen."""
SUMMARY_MAX = 600


class FeedError(Exception):
    """The feed could not be fetched or is not RSS 2.0 / Atom."""


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
    """Entries of an RSS 2.0 or Atom document, in document order (usually newest first)."""
    if b"<!ENTITY" in data[:4096]:
        raise FeedError("feed declares XML entities; refused")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise FeedError(f"feed is not well-formed XML: {exc}") from None
    items: list[NewsItem] = []
    if root.tag == "rss":
        for node in root.iter("item"):
            link = (node.findtext("link") or "").strip()
            key = (node.findtext("guid") or "").strip() or link
            title = _plain(node.findtext("title"))
            if key and title:
                items.append(
                    NewsItem(
                        key,
                        title,
                        link,
                        _plain(node.findtext("description")),
                        (node.findtext("pubDate") or "").strip(),
                    )
                )
    elif root.tag == f"{ATOM}feed":
        for node in root.iter(f"{ATOM}entry"):
            link = ""
            for candidate in node.findall(f"{ATOM}link"):
                if candidate.get("rel", "alternate") == "alternate":
                    link = (candidate.get("href") or "").strip()
                    break
            key = (node.findtext(f"{ATOM}id") or "").strip() or link
            title = _plain(node.findtext(f"{ATOM}title"))
            summary = node.findtext(f"{ATOM}summary") or node.findtext(f"{ATOM}content")
            published = node.findtext(f"{ATOM}published") or node.findtext(f"{ATOM}updated")
            if key and title:
                items.append(NewsItem(key, title, link, _plain(summary), (published or "").strip()))
    else:
        raise FeedError(f"not an RSS 2.0 or Atom feed (root element {root.tag})")
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
