"""The reform-news feed: RSS 2.0 and Atom served over loopback, each item drafted once."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from outreach_support import local, with_sections

from bot.outreach import broadcasts
from bot.outreach.news import FeedError, parse_feed, poll_news
from bot.outreach.text import FileTexts

NOW = local(2026, 12, 1, 9, 0)
TEXTS = FileTexts("knowledge_base")

RSS_ITEM = """<item><title>{title}</title><link>https://tayho.hanoi.gov.vn/tin/{n}</link>
<guid>tin-{n}</guid><pubDate>Mon, 0{n} Dec 2026 08:00:00 +0700</pubDate>
<description>&lt;p&gt;Từ ngày {n}/12, phường tiếp nhận hồ sơ &amp;amp; trả kết quả
cả sáng thứ Bảy.&lt;/p&gt;</description></item>"""
ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Tin cải cách hành chính</title>
<entry><id>urn:tin:a1</id><title>Thí điểm nộp hồ sơ qua VNeID</title>
<link rel="alternate" href="https://tayho.hanoi.gov.vn/a1"/><updated>2026-11-30T08:00:00+07:00</updated>
<summary>Người dân có thể nộp hồ sơ khai sinh trực tuyến.</summary></entry></feed>"""


class Feed:
    """What the loopback server answers: a body and a status."""

    body = b""
    status = 200


@pytest.fixture
def feed_url():
    feed = Feed()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(feed.status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(feed.body)))
            self.end_headers()
            self.wfile.write(feed.body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield feed, f"http://127.0.0.1:{server.server_address[1]}/rss"
    server.shutdown()
    server.server_close()


def rss(*items: tuple[int, str]) -> bytes:
    body = "".join(RSS_ITEM.format(n=n, title=title) for n, title in items)
    return f'<?xml version="1.0"?><rss version="2.0"><channel>{body}</channel></rss>'.encode()


def test_each_new_feed_item_becomes_one_draft_broadcast_once(db, zalo_config, feed_url):
    feed, url = feed_url
    config = with_sections(zalo_config, outreach={"news_feed_url": url})
    feed.body = rss((2, "Tiếp nhận hồ sơ sáng thứ Bảy"), (1, "Lịch tiếp công dân"))
    first = poll_news(db, config, TEXTS, NOW)
    assert len(first) == 2
    assert poll_news(db, config, TEXTS, NOW) == []
    feed.body = rss((3, "Miễn lệ phí bản sao"), (2, "Tiếp nhận hồ sơ sáng thứ Bảy"))
    third = poll_news(db, config, TEXTS, NOW)
    assert len(third) == 1
    rows = broadcasts.list_broadcasts(db, NOW)
    assert [r["state"] for r in rows] == ["draft"] * 3
    newest = broadcasts.show_broadcast(db, third[0], NOW)
    assert newest["text"].startswith("Miễn lệ phí bản sao")
    assert "sáng thứ Bảy" in newest["text"] and "<p>" not in newest["text"]
    assert newest["link_url"] == "https://tayho.hanoi.gov.vn/tin/3"
    assert newest["source"] == "news"


def test_auto_approved_news_is_scheduled_at_once(db, zalo_config, feed_url):
    feed, url = feed_url
    config = with_sections(zalo_config, outreach={"news_feed_url": url, "news_auto_approve": True})
    feed.body = ATOM.encode()
    [created] = poll_news(db, config, TEXTS, NOW)
    row = broadcasts.show_broadcast(db, created, NOW)
    assert row["state"] == "scheduled" and row["send_at"] == NOW.timestamp()
    assert row["link_url"] == "https://tayho.hanoi.gov.vn/a1"


def test_a_broken_feed_raises_and_drafts_nothing(db, zalo_config, feed_url):
    feed, url = feed_url
    config = with_sections(zalo_config, outreach={"news_feed_url": url})
    feed.status, feed.body = 500, b"oops"
    with pytest.raises(FeedError):
        poll_news(db, config, TEXTS, NOW)
    feed.status, feed.body = 200, b"<html><body>not a feed</body></html>"
    with pytest.raises(FeedError, match="not an RSS or Atom feed"):
        poll_news(db, config, TEXTS, NOW)
    assert broadcasts.list_broadcasts(db, NOW) == []


def test_no_feed_configured_means_no_poll(db, zalo_config):
    assert poll_news(db, zalo_config, TEXTS, NOW) == []


def test_entity_declarations_are_refused():
    bomb = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><rss><channel/></rss>'
    with pytest.raises(FeedError, match="entities"):
        parse_feed(bomb)


def test_atom_and_rss_items_are_keyed_by_id_or_guid():
    assert [i.key for i in parse_feed(ATOM.encode())] == ["urn:tin:a1"]
    assert [i.key for i in parse_feed(rss((1, "A")))] == ["tin-1"]


PORTAL_FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Cổng thông tin phường</title>
<item><title>Giảm 50% lệ phí & phí hộ tịch đến hết năm</title>
<link>https://tayho.hanoi.gov.vn/tin/7</link><guid>tin-7</guid>
<pubDate>Tue, 01 Dec 2026 08:00:00 +0700</pubDate>
<description>Từ&nbsp;01/12 <b>phường tiếp nhận hồ sơ cả thứ Bảy</description></item>
<item><title>Lịch tiếp công dân tháng 12</title><link>https://tayho.hanoi.gov.vn/tin/8</link>
</channel></rss>"""


def test_a_malformed_portal_feed_is_still_read_over_http(db, zalo_config, feed_url):
    # An unescaped "&", an HTML entity XML does not know, unclosed <b> and <item>.
    feed, url = feed_url
    config = with_sections(zalo_config, outreach={"news_feed_url": url})
    feed.body = PORTAL_FEED.encode()
    assert len(poll_news(db, config, TEXTS, NOW)) == 2
    texts = [row["text"] for row in broadcasts.list_broadcasts(db, NOW)]
    assert any("Giảm 50% lệ phí & phí hộ tịch" in text for text in texts)
    assert any("Từ 01/12 phường tiếp nhận hồ sơ cả thứ Bảy" in text for text in texts)


def test_rss_1_0_feeds_are_read():
    rdf = (
        '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns="http://purl.org/rss/1.0/"><channel rdf:about="https://x"><title>T</title>'
        '</channel><item rdf:about="https://tayho.hanoi.gov.vn/9"><title>Tin chín</title>'
        "<link>https://tayho.hanoi.gov.vn/9</link></item></rdf:RDF>"
    )
    assert [(i.title, i.link) for i in parse_feed(rdf.encode())] == [
        ("Tin chín", "https://tayho.hanoi.gov.vn/9")
    ]


def test_entity_declarations_after_a_long_prolog_are_refused():
    bomb = b'<?xml version="1.0"?>' + b"<!-- x -->" * 1000 + b'<!DOCTYPE r [<!ENTITY a "a">]><rss/>'
    with pytest.raises(FeedError, match="entities"):
        parse_feed(bomb)
