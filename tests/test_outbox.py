"""Outbox delivery: splitting, buttons, retries and final statuses, leases, order, takeover."""

from __future__ import annotations

import dataclasses
import random
import re
import threading
import time
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import storage
from bot.outbox.delivery import (
    backoff,
    deliver_due,
    free_dead_leases,
    message_parts,
    next_morning,
    split_text,
)
from bot.outbox.indoubt import settle_seconds
from bot.storage import core
from bot.storage import outbox as store
from bot.zalo.client import ZaloClient
from bot.zalo.tokens import TokenStore
from tests.fixtures_zalo import make_config

SENTENCE = "Công dân mang theo căn cước và giấy tờ liên quan đến bộ phận một cửa. "


def queue(db, key, text, user="u1", buttons=(), now=None, channel="cs", payload=None):
    body = payload or {"text": text, **({"buttons": list(buttons)} if buttons else {})}
    return core.enqueue(db, key, user, body, now or time.time(), channel=channel)


def drain(db, client, config, passes=50, step=1.0):
    """Run passes with a clock that jumps `step` s each time, so backoffs come due."""
    now = time.time()
    for n in range(passes):
        deliver_due(db, client, config, now + n * step, owner="test-sender")
        if not db.execute(
            "SELECT 1 FROM outbox WHERE status IN ('pending', 'sending') LIMIT 1"
        ).fetchone():
            return


def status(db, row_id):
    return store.get(db, row_id)


# -- splitting -----------------------------------------------------------------------------


def test_short_text_is_one_part():
    assert split_text("Xin chào") == ["Xin chào"]


def test_long_text_splits_at_paragraphs_first():
    text = ("a" * 900 + "\n\n") * 2 + "b" * 900 + " cuối."
    parts = split_text(text)
    assert parts == ["a" * 900 + "\n\n" + "a" * 900, "b" * 900 + " cuối."]


def test_long_text_without_breaks_splits_after_a_sentence():
    parts = split_text(SENTENCE * 40)
    assert len(parts) == 2
    assert all(len(p) <= 2000 for p in parts)
    assert parts[0].endswith(".")


def test_length_is_counted_after_nfc():
    text = "Hồ sơ đăng ký khai sinh " * 80  # 1920 NFC characters, longer in NFD
    decomposed = unicodedata.normalize("NFD", text)
    assert len(decomposed) > 2000
    assert split_text(decomposed) == [unicodedata.normalize("NFC", text).strip()]


def test_a_word_longer_than_the_limit_is_the_only_hard_cut():
    link = "https://dichvucong.gov.vn/" + "x" * 2100
    parts = split_text("Xem " + link)
    assert all(len(p) <= 2000 for p in parts)
    assert parts[0] == "Xem" and len(parts[1]) == 2000
    assert "".join(parts[1:]) == link


words = st.text(alphabet="abcdđêơưáàạ", min_size=1, max_size=30)
separators = st.sampled_from([" ", " ", "\n", "\n\n", ". ", "! "])


@given(st.lists(st.tuples(words, separators), min_size=1, max_size=400))
def test_splitting_never_cuts_a_word_and_keeps_every_word(pieces):
    text = "".join(w + s for w, s in pieces)
    parts = split_text(text, limit=200)
    assert all(0 < len(p) <= 200 for p in parts)
    assert re.split(r"\s+", " ".join(parts).strip()) == re.split(r"\s+", text.strip())


def test_buttons_ride_on_the_last_part_only():
    payload = {"text": SENTENCE * 40, "buttons": [{"title": "Có", "payload": "có"}]}
    parts = message_parts(payload, buttons_enabled=True)
    assert [bool(b) for _, b in parts] == [False, True]


def test_buttons_become_numbered_lines_when_the_oa_shows_none():
    payload = {
        "text": "Bạn hỏi về:",
        "buttons": [
            {"title": "Khai sinh", "payload": "#ks"},
            {"title": "Khai tử", "payload": "#kt"},
        ],
    }
    [(text, buttons)] = message_parts(payload, buttons_enabled=False)
    assert text == "Bạn hỏi về:\n\n1. Khai sinh\n2. Khai tử" and buttons == []


def test_links_are_written_after_the_numbered_choices_when_the_oa_shows_no_buttons():
    payload = {
        "text": "Bạn hỏi về:",
        "buttons": [
            {"title": "Khai sinh", "payload": "#ks"},
            {"title": "Xem chi tiết", "url": "https://tayho.hanoi.gov.vn/ks"},
        ],
    }
    [(text, buttons)] = message_parts(payload, buttons_enabled=False)
    assert text == "Bạn hỏi về:\n\n1. Khai sinh\n\nXem chi tiết: https://tayho.hanoi.gov.vn/ks"
    assert buttons == []


def test_image_and_link_button_go_out_with_the_last_part(db, client, zalo_config, sim):
    payload = {
        "text": SENTENCE * 40,
        "image_url": "https://tayho.hanoi.gov.vn/anh.jpg",
        "buttons": [{"title": "Xem chi tiết", "url": "https://tayho.hanoi.gov.vn/tin"}],
    }
    queue(db, "img", "", payload=payload)
    drain(db, client, zalo_config)
    first, last = sim.delivered()
    assert (first["image_url"], first["buttons"]) == (None, [])
    assert last["image_url"] == "https://tayho.hanoi.gov.vn/anh.jpg"
    assert last["buttons"] == [
        {
            "title": "Xem chi tiết",
            "payload": {"url": "https://tayho.hanoi.gov.vn/tin"},
            "type": "oa.open.url",
        }
    ]


# -- retry policy --------------------------------------------------------------------------


def test_backoff_grows_exponentially_with_jitter_and_a_cap(zalo_config):
    config = dataclasses.replace(
        zalo_config,
        outbox=dataclasses.replace(
            zalo_config.outbox, backoff_base_seconds=2.0, backoff_max_seconds=600.0
        ),
    )
    rng = random.Random(1)
    delays = [backoff(n, config, rng) for n in range(1, 12)]
    assert all(1.0 <= delays[0] <= 2.0 for _ in [0])
    assert all(2 ** (n - 1) <= d <= 2**n for n, d in enumerate(delays[:8], start=1))
    assert all(300 <= d <= 600 for d in delays[9:])


def test_night_block_waits_for_six_in_the_morning(zalo_config):
    # 23:30 in Hà Nội (UTC+7) is 16:30 UTC.
    late = 1_763_829_000.0 + 16.5 * 3600 - (1_763_829_000.0 % 86400)
    morning = next_morning(late, zalo_config)
    assert morning - late == pytest.approx(6.5 * 3600)


# -- delivery ------------------------------------------------------------------------------


def test_due_message_is_sent_once_and_recorded(db, client, zalo_config, sim):
    row = queue(db, "k1", "Chào bạn")
    assert deliver_due(db, client, zalo_config, time.time()) == 1
    assert deliver_due(db, client, zalo_config, time.time() + 60) == 0
    [sent] = sim.delivered()
    record = status(db, row)
    assert (record["status"], record["zalo_message_id"]) == ("sent", sent["message_id"])


def test_message_not_yet_due_waits(db, client, zalo_config, sim):
    now = time.time()
    core.enqueue(db, "later", "u1", {"text": "mai"}, now, not_before=now + 3600)
    assert deliver_due(db, client, zalo_config, now) == 0
    assert deliver_due(db, client, zalo_config, now + 3601) == 1


def test_outage_is_retried_with_backoff_then_delivered_once(db, client, zalo_config, sim):
    rows = [queue(db, f"k{n}", f"tin {n}", user=f"u{n}") for n in range(5)]
    sim.outage(count=7)
    drain(db, client, zalo_config)
    assert sorted(m["text"] for m in sim.delivered()) == [f"tin {n}" for n in range(5)]
    assert all(status(db, r)["status"] == "sent" for r in rows)
    assert max(status(db, r)["attempts"] for r in rows) >= 1


def test_rate_limit_is_retried(db, client, zalo_config, sim):
    row = queue(db, "k", "a")
    sim.rate_limit(2)
    now = time.time()
    deliver_due(db, client, zalo_config, now)
    record = status(db, row)
    assert (record["status"], record["error_code"], record["attempts"]) == ("pending", -32, 1)
    assert record["next_attempt_at"] > now
    drain(db, client, zalo_config)
    assert status(db, row)["status"] == "sent" and len(sim.delivered()) == 1


@pytest.mark.parametrize(
    ("code", "final"),
    [(-201, "failed"), (-213, "unreachable"), (-217, "unreachable"), (-230, "template_needed")],
)
def test_permanent_errors_are_recorded_with_zalo_code(db, client, zalo_config, sim, code, final):
    row = queue(db, "k", "a", user="who")
    sim.block_user("who", code)
    deliver_due(db, client, zalo_config, time.time())
    record = status(db, row)
    assert (record["status"], record["error_code"], record["attempts"]) == (final, code, 1)
    assert sim.delivered() == []


def test_retryable_failure_gives_up_after_max_attempts(tmp_path, sim):
    config = make_config(tmp_path, sim, max_attempts=3)
    db = storage.connect(config.storage.database)
    client = ZaloClient(config.zalo, TokenStore(db, config))
    row = queue(db, "k", "a")
    sim.fail_sends(10, -200)
    drain(db, client, config)
    record = status(db, row)
    assert (record["status"], record["attempts"], record["error_code"]) == ("failed", 3, -200)


def test_a_failed_part_is_resent_alone(db, client, zalo_config, sim):
    text = " ".join(f"Câu số {n} về thủ tục hành chính." for n in range(150))
    expected = split_text(text)
    assert len(expected) == 3
    row = queue(db, "k", text)
    original = client.send_text
    calls = []

    def second_part_fails_once(user_id, text, buttons=(), quote_msg_id=None, image_url=None):
        calls.append(text)
        if len(calls) == 2:
            sim.fail_sends(1)
        return original(user_id, text, buttons, quote_msg_id, image_url)

    client.send_text = second_part_fails_once
    drain(db, client, zalo_config)
    assert [m["text"] for m in sim.delivered()] == expected
    assert len(calls) == 4  # part 2 tried twice, part 1 never again
    assert (status(db, row)["parts_sent"], status(db, row)["attempts"]) == (3, 1)


def test_expired_token_mid_queue_refreshes_once(db, client, zalo_config, sim):
    for n in range(5):
        queue(db, f"k{n}", f"tin {n}", user=f"u{n}")
    client.tokens.access_token()
    sim.expire_tokens()
    drain(db, client, zalo_config)
    assert len(sim.delivered()) == 5
    assert sim.refresh_count == 2


def test_later_message_to_a_user_waits_for_an_earlier_one_backing_off(db, client, zalo_config, sim):
    first = queue(db, "k1", "một", user="u1")
    second = queue(db, "k2", "hai", user="u1")
    other = queue(db, "k3", "khác", user="u2")
    sim.fail_sends(1)
    now = time.time()
    deliver_due(db, client, zalo_config, now)
    assert [status(db, r)["status"] for r in (first, second, other)] == [
        "pending",
        "pending",
        "sent",
    ]
    deliver_due(db, client, zalo_config, now + 0.001)
    assert status(db, second)["status"] == "pending"
    drain(db, client, zalo_config)
    assert [m["text"] for m in sim.delivered("u1")] == ["một", "hai"]


def test_template_rows_use_the_template_api(db, client, zalo_config, sim):
    core.enqueue(
        db,
        "t",
        "u1",
        {"template_id": "tpl", "template_data": {"a": "1"}},
        time.time(),
        channel="template",
    )
    deliver_due(db, client, zalo_config, time.time())
    [sent] = sim.delivered()
    assert (sent["kind"], sent["template_id"]) == ("template", "tpl")


# -- leases --------------------------------------------------------------------------------


def test_a_leased_row_is_not_claimed_by_another_sender_until_the_lease_ends(db):
    now = time.time()
    queue(db, "k", "a", now=now)
    assert len(store.claim(db, "A", now, 10, 30)) == 1
    assert store.claim(db, "B", now + 29, 10, 30) == []
    [row] = store.claim(db, "B", now + 31, 10, 30)
    assert row["lease_owner"] == "B"
    assert not store.renew(db, row["id"], "A", now + 32, 30)


def test_two_senders_never_send_the_same_message(zalo_config, sim):
    db = storage.connect(zalo_config.storage.database)
    for n in range(200):
        queue(db, f"k{n}", f"tin {n}", user=f"u{n % 37}")
    store_tokens = TokenStore(db, zalo_config)
    store_tokens.access_token()

    def sender(name):
        conn = storage.connect(zalo_config.storage.database)
        client = ZaloClient(zalo_config.zalo, TokenStore(conn, zalo_config))
        for _ in range(40):
            deliver_due(conn, client, zalo_config, time.time(), owner=name)

    threads = [threading.Thread(target=sender, args=(f"s{n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    texts = [m["text"] for m in sim.delivered()]
    assert sorted(texts) == sorted(f"tin {n}" for n in range(200))
    for user in {f"u{n % 37}" for n in range(200)}:
        mine = [int(m["text"].split()[1]) for m in sim.delivered(user)]
        assert mine == sorted(mine)


def test_rows_of_a_dead_sender_on_this_host_are_taken_over_at_once(db, client, zalo_config, sim):
    import socket
    import subprocess
    import sys

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    owner = f"{socket.gethostname()}:{dead.stdout.strip()}:abcd"
    now = time.time()
    row = queue(db, "k", "a", now=now)
    store.claim(db, owner, now, 10, 3600)
    assert deliver_due(db, client, zalo_config, now + 1) == 0
    assert free_dead_leases(db, now + 1) == 1
    assert deliver_due(db, client, zalo_config, now + 2) == 0  # taken over, in doubt
    assert status(db, row)["doubt_since"] == pytest.approx(now + 2, abs=1)
    assert sim.calls_to("/v2.0/oa/conversation") == 1 and sim.delivered() == []
    later = now + 2 + settle_seconds(zalo_config) + 1  # not in the history: it never went out
    assert deliver_due(db, client, zalo_config, later) == 1
    assert status(db, row)["status"] == "sent" and len(sim.delivered()) == 1


def crashed_mid_send(db, sim, client, text, really_sent):
    """A row left 'sending' by a sender that died during the HTTP call."""
    now = time.time()
    row = queue(db, f"k-{text}-{really_sent}", text, user="u5", now=now)
    store.claim(db, "dead-host:1:x", now, 10, 0.5)
    store.renew(db, row, "dead-host:1:x", now, 0.5)
    if really_sent:
        client.send_text("u5", text)  # Zalo accepted it; the commit never happened
    return row, now


def test_in_doubt_message_found_in_zalo_history_is_not_resent(db, client, zalo_config, sim):
    row, now = crashed_mid_send(db, sim, client, "Hồ sơ của bạn đã nhận.", really_sent=True)
    assert deliver_due(db, client, zalo_config, now + 1) == 1
    [sent] = sim.delivered("u5")
    assert status(db, row)["zalo_message_id"] == sent["message_id"]


def test_in_doubt_message_missing_from_history_is_resent_once_settled(db, client, zalo_config, sim):
    row, now = crashed_mid_send(db, sim, client, "Hồ sơ của bạn đã nhận.", really_sent=False)
    assert deliver_due(db, client, zalo_config, now + 1) == 0  # too early to trust an absence
    assert sim.delivered("u5") == []
    settled = now + 1 + settle_seconds(zalo_config) + 1
    assert deliver_due(db, client, zalo_config, settled) == 1
    assert len(sim.delivered("u5")) == 1 and status(db, row)["status"] == "sent"


def test_an_earlier_identical_message_of_ours_does_not_count(db, client, zalo_config, sim):
    queue(db, "earlier", "Xin lỗi, tôi chưa hiểu.", user="u5")
    deliver_due(db, client, zalo_config, time.time())
    row, now = crashed_mid_send(db, sim, client, "Xin lỗi, tôi chưa hiểu.", really_sent=False)
    deliver_due(db, client, zalo_config, now + 1)
    deliver_due(db, client, zalo_config, now + 2 + settle_seconds(zalo_config))
    assert [m["text"] for m in sim.delivered("u5")] == ["Xin lỗi, tôi chưa hiểu."] * 2
    assert status(db, row)["status"] == "sent"


def test_echo_of_a_message_with_its_link_written_out_is_recognised_as_ours(
    db, client, zalo_config, sim
):
    plain = dataclasses.replace(
        zalo_config, zalo=dataclasses.replace(zalo_config.zalo, buttons=False)
    )
    link = {"title": "Xem chi tiết", "url": "https://tayho.hanoi.gov.vn/tin"}
    queue(db, "bc", "", user="u9", payload={"text": "Lịch tiếp dân", "buttons": [link]})
    deliver_due(db, client, plain, time.time())
    [sent] = sim.delivered("u9")
    assert sent["text"] == "Lịch tiếp dân\n\nXem chi tiết: https://tayho.hanoi.gov.vn/tin"
    assert store.is_own_echo(db, "u9", "not-yet-recorded", sent["text"])
    assert not store.is_own_echo(db, "u9", "staff-msg", "Lịch tiếp dân\n\nCán bộ: 0243")


def test_echo_of_any_part_is_recognised_as_ours(db, client, zalo_config, sim):
    text = "Dòng một\n\n" + " ".join(f"Câu số {n} về thủ tục." for n in range(200))
    queue(db, "k", text, user="u8")
    deliver_due(db, client, zalo_config, time.time())
    parts = sim.delivered("u8")
    assert len(parts) >= 2
    for part in parts:
        assert store.is_own_echo(db, "u8", part["message_id"], part["text"])
        assert store.is_own_echo(db, "u8", "not-yet-recorded", part["text"])
    assert not store.is_own_echo(db, "u8", "staff-msg", "Chào anh, cán bộ phường xin trả lời.")
