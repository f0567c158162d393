"""The Zalo boundary: signature vectors, the error-code table, and the client over real HTTP."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import logging
import unicodedata

import pytest

from bot.config import ZaloConfig
from bot.dialogue.messages import Button
from bot.zalo.client import (
    ACTION_BY_CODE,
    PermanentError,
    RetryableError,
    TemplateNeededError,
    UnreachableError,
    ZaloClient,
    attachment_json,
    error_for,
)
from bot.zalo.signature import sign, verify_signature

APP_ID = "1234567890123456789"
OA_ID = "388613280878808645"
SECRET = "TestOaSecretKey123"
TS = "1700000000000"
RAW = (
    b'{"app_id":"1234567890123456789","event_name":"user_send_text","timestamp":"1700000000000",'
    b'"sender":{"id":"246845883529197922"},"recipient":{"id":"388613280878808645"},'
    b'"message":{"msg_id":"96d3cdf3af150460909","text":"Cho hoi thu tuc khai sinh"}}'
)
GOOD = "a89d6550462a382c8dc8c7a6e716ea4b57d2038d27223e76b07d5e9e7746f763"
CONFIG = ZaloConfig(app_id=APP_ID, oa_id=OA_ID, oa_secret_key=SECRET, signature_try_oa_id=False)


def test_signature_vector_from_the_reference_is_reproduced():
    assert len(RAW) == 245
    assert sign(APP_ID, RAW, TS, SECRET) == GOOD


def test_signature_vector_is_accepted():
    assert verify_signature("mac=" + GOOD, RAW, TS, CONFIG)


@pytest.mark.parametrize(
    "wrong",
    [
        "a81114ccbca6338ad4e345c3985b887e60a65a54f2e56282cdb93969af4dbd86",  # HMAC
        "b331b88a45fd05cfb617bcacdbde6b4e14f2a2bb925957311b2a59986072b8ab",  # re-serialised
        "bfdb588d1db4b9d2d0587348f41f7f3f331bce6e28dc959249808fdec83191b7",  # OA id first
    ],
)
def test_wrong_signature_variants_are_rejected(wrong):
    assert not verify_signature("mac=" + wrong, RAW, TS, CONFIG)


def test_rejected_variants_are_what_the_reference_says_they_are():
    keyed = hmac.new(SECRET.encode(), APP_ID.encode() + RAW + TS.encode(), hashlib.sha256)
    assert keyed.hexdigest().startswith("a81114cc")
    reserialised = json.dumps(json.loads(RAW)).encode()
    assert sign(APP_ID, reserialised, TS, SECRET).startswith("b331b88a")
    assert sign(OA_ID, RAW, TS, SECRET).startswith("bfdb588d")


def test_oa_id_fallback_is_accepted_only_when_enabled_and_is_logged(caplog):
    fallback = dataclasses.replace(CONFIG, signature_try_oa_id=True)
    header = "mac=" + sign(OA_ID, RAW, TS, SECRET)
    assert not verify_signature(header, RAW, TS, CONFIG)
    with caplog.at_level(logging.INFO, logger="bot.zalo"):
        assert verify_signature(header, RAW, TS, fallback)
    assert "OA id" in caplog.text


def test_body_is_hashed_as_received_never_normalised():
    nfc = RAW.replace(b"Cho hoi thu tuc", "Cho hỏi thủ tục".encode())
    nfd = unicodedata.normalize("NFD", nfc.decode()).encode()
    assert len(nfc) == len(nfd) == 251
    assert sign(APP_ID, nfc, TS, SECRET).startswith("299224898524")
    assert sign(APP_ID, nfd, TS, SECRET).startswith("532bbb498203")
    header = "mac=" + sign(APP_ID, nfc, TS, SECRET)
    assert verify_signature(header, nfc, TS, CONFIG)
    assert not verify_signature(header, nfd, TS, CONFIG)


@pytest.mark.parametrize(
    "header", ["", "mac=", GOOD[:-1], "mac=" + GOOD + "0", "mac=" + "é" * 64, "sha256=" + GOOD]
)
def test_missing_or_garbled_signature_is_rejected(header):
    assert not verify_signature(header, RAW, TS, CONFIG)


def test_signature_is_refused_when_no_secret_is_configured():
    empty = dataclasses.replace(CONFIG, oa_secret_key="")
    assert not verify_signature("mac=" + sign(APP_ID, RAW, TS, ""), RAW, TS, empty)


@pytest.mark.parametrize(
    ("code", "action", "retryable"),
    [
        (-32, "retry", True),
        (-200, "retry", True),
        (-216, "refresh", False),
        (-124, "refresh", False),
        (-213, "unreachable", False),
        (-227, "unreachable", False),
        (-230, "template", False),
        (-232, "template", False),
        (-234, "night", True),
        (-201, "give_up", False),
        (-240, "give_up", False),
        (-224, "human", False),
        (-14014, "human", False),
        (-999, "give_up", False),
    ],
)
def test_error_codes_map_to_the_documented_action(code, action, retryable):
    error = error_for(code, "x")
    assert (error.code, error.action, error.retryable) == (code, action, retryable)


def test_every_action_in_the_table_is_known():
    assert set(ACTION_BY_CODE.values()) <= {
        "retry",
        "refresh",
        "give_up",
        "unreachable",
        "template",
        "human",
        "night",
    }


def test_send_text_returns_zalo_message_id_and_sends_buttons(client, sim):
    buttons = [Button("Khai sinh cho con", "#khaisinh"), Button("Đúng rồi", "đúng")]
    message_id = client.send_text("u1", "Chào bạn", buttons, quote_msg_id="q1")
    [sent] = sim.delivered()
    assert sent["message_id"] == message_id
    assert sent["text"] == "Chào bạn"
    assert sent["quote_message_id"] == "q1"
    assert sent["buttons"] == [
        {"title": "Khai sinh cho con", "payload": "#khaisinh", "type": "oa.query.hide"},
        {"title": "Đúng rồi", "payload": "đúng", "type": "oa.query.show"},
    ]


def test_image_is_sent_as_a_media_attachment_captioned_by_the_text_with_link_buttons():
    attachment = attachment_json(
        [{"title": "Xem chi tiết", "url": "https://tayho.hanoi.gov.vn/tin"}],
        "https://tayho.hanoi.gov.vn/anh.jpg",
        100,
    )
    assert attachment == {
        "type": "template",
        "payload": {
            "template_type": "media",
            "elements": [{"media_type": "image", "url": "https://tayho.hanoi.gov.vn/anh.jpg"}],
            "buttons": [
                {
                    "title": "Xem chi tiết",
                    "type": "oa.open.url",
                    "payload": {"url": "https://tayho.hanoi.gov.vn/tin"},
                }
            ],
        },
    }
    assert attachment_json([], None, 100) is None


def test_send_text_with_an_image_and_a_link_is_accepted_and_recorded(client, sim):
    link = {"title": "Lịch tiếp dân", "url": "https://tayho.hanoi.gov.vn/lich"}
    client.send_text("u1", "Lịch tháng 12", [link], image_url="https://tayho.hanoi.gov.vn/a.png")
    [sent] = sim.delivered()
    assert (sent["text"], sent["image_url"]) == (
        "Lịch tháng 12",
        "https://tayho.hanoi.gov.vn/a.png",
    )
    assert sent["buttons"] == [
        {"title": "Lịch tiếp dân", "payload": {"url": link["url"]}, "type": "oa.open.url"}
    ]


def test_long_button_titles_are_cut_to_the_configured_limit(zalo_config, tokens, sim):
    client = ZaloClient(dataclasses.replace(zalo_config.zalo, button_title_max=10), tokens)
    client.send_text("u1", "Chọn", [{"title": "Đăng ký thường trú", "payload": "#tt"}])
    [button] = sim.delivered()[0]["buttons"]
    assert len(button["title"]) <= 10 and button["title"].endswith("…")
    assert button["payload"] == "#tt"


def test_http_503_is_retryable_with_code_zero_and_not_in_doubt(client, sim):
    sim.outage(count=1)
    with pytest.raises(RetryableError) as caught:
        client.send_text("u1", "a")
    assert caught.value.code == 0 and caught.value.retryable
    assert not caught.value.in_doubt  # refused before any work
    assert client.send_text("u1", "b")


def test_dropped_connection_is_retryable_and_in_doubt(client, sim):
    client.send_text("u1", "warm up")
    sim.outage(count=1, mode="close")
    with pytest.raises(RetryableError) as caught:
        client.send_text("u1", "a")
    assert caught.value.in_doubt  # the request was written: Zalo may have sent it


def test_timeout_is_retryable_and_in_doubt(zalo_config, tokens, sim):
    client = ZaloClient(dataclasses.replace(zalo_config.zalo, timeout_seconds=0.2), tokens)
    tokens.access_token()
    sim.late(0.5)
    with pytest.raises(RetryableError) as caught:
        client.send_text("u1", "a")
    assert "timeout" in caught.value.message and caught.value.in_doubt
    assert [m["text"] for m in sim.delivered()] == ["a"]  # it did go out


def test_a_refused_connection_is_not_in_doubt(zalo_config, tokens):
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    config = dataclasses.replace(zalo_config.zalo, api_base_url=f"http://127.0.0.1:{port}")
    tokens.access_token()
    with pytest.raises(RetryableError) as caught:
        ZaloClient(config, tokens).send_text("u1", "a")
    assert not caught.value.in_doubt


def test_history_can_be_read_with_a_longer_timeout_than_sends(zalo_config, tokens, sim):
    client = ZaloClient(dataclasses.replace(zalo_config.zalo, timeout_seconds=0.2), tokens)
    tokens.access_token()
    for n in range(12):
        sim.state.record_message({"kind": "cs", "user_id": "u1", "text": f"tin {n}"})
    sim.late(0.4)
    with pytest.raises(RetryableError):
        client.recent_messages("u1")
    second_page = client.recent_messages("u1", 10, 10, timeout=2.0)
    assert [m["message"] for m in second_page] == ["tin 1", "tin 0"]


def test_zalo_errors_in_http_200_raise_by_action(client, sim):
    sim.block_user("gone", -213)
    with pytest.raises(UnreachableError):
        client.send_text("gone", "a")
    sim.block_user("old", -230)
    with pytest.raises(TemplateNeededError):
        client.send_text("old", "a")
    with pytest.raises(PermanentError) as caught:
        client.send_text("u1", "x" * 2001)
    assert caught.value.code == -201


def test_expired_token_is_refreshed_once_and_the_call_retried(client, sim):
    client.send_text("u1", "first")
    assert sim.refresh_count == 1
    sim.expire_tokens()
    client.send_text("u1", "second")
    assert sim.refresh_count == 2
    assert [m["text"] for m in sim.delivered()] == ["first", "second"]


def test_followers_are_listed_page_by_page(client, sim):
    ids = [f"9{n:017d}" for n in range(120)]
    sim.seed_followers(ids[:70], tags=["Phường Tây Hồ"])
    sim.seed_followers(ids[70:])
    total, page = client.list_followers(0, 50)
    assert total == 120 and page == ids[:50]
    assert list(client.iter_followers()) == ids
    assert list(client.iter_followers(tag="Phường Tây Hồ")) == ids[:70]
    assert client.list_tags() == ["Phường Tây Hồ"]


def test_user_detail_and_quota_come_back_as_data(client, sim):
    sim.seed_followers(["u7"])
    sim.set_last_interaction("u7", 1_700_000_000_000)
    assert client.user_detail("u7")["user_is_follower"] is True
    assert client.get_quota("u7")["last_interaction"] == "1700000000000"


def test_template_message_is_sent_by_user_id(client, sim):
    message_id = client.send_template("u1", "tpl-1", {"ma_ho_so": "HS-1"})
    [sent] = sim.delivered()
    assert sent["message_id"] == message_id
    assert (sent["kind"], sent["template_id"]) == ("template", "tpl-1")
    assert sent["template_data"] == {"ma_ho_so": "HS-1"}
