"""Parsing Zalo webhook bodies into typed events."""

import json

import pytest

from bot.zalo.events import EventError, parse_event

TEXT = {
    "app_id": "360846524940903967",
    "user_id_by_app": "552177279717587730",
    "event_name": "user_send_text",
    "sender": {"id": "246845883529197922"},
    "recipient": {"id": "388613280878808645"},
    "message": {"msg_id": "96d3cdf3af150460909", "text": "Cho hỏi thủ tục khai sinh"},
    "timestamp": "1699003881354",
}


def body(data):
    return json.dumps(data, ensure_ascii=False).encode()


def test_user_text_keeps_ids_as_strings_and_dedups_on_message_id():
    event = parse_event(body(TEXT))
    assert event.user_id == "246845883529197922"
    assert event.text == "Cho hỏi thủ tục khai sinh"
    assert event.dedup_key == "msg:96d3cdf3af150460909"
    assert event.is_user_message and not event.is_echo


def test_follow_uses_the_follower_and_dedups_on_event_user_and_time():
    event = parse_event(
        body(
            {
                "app_id": "1",
                "oa_id": "9",
                "follower": {"id": "42"},
                "event_name": "follow",
                "timestamp": "1700000000000",
            }
        )
    )
    assert event.user_id == "42"
    assert event.dedup_key == "evt:follow:42:1700000000000"


def test_echo_points_at_the_user_and_carries_the_admin_id():
    event = parse_event(
        body(
            {
                "event_name": "oa_send_text",
                "timestamp": "1",
                "sender": {"id": "9", "admin_id": "77"},
                "recipient": {"id": "42"},
                "message": {"msg_id": "m1", "text": "Chào anh"},
            }
        )
    )
    assert event.is_echo and event.user_id == "42" and event.admin_id == "77"


def test_attachments_are_parsed():
    data = dict(
        TEXT,
        event_name="user_send_image",
        message={
            "msg_id": "m2",
            "attachments": [{"type": "image", "payload": {"url": "https://x/y.jpg"}}],
        },
    )
    event = parse_event(body(data))
    assert event.attachments[0].type == "image"


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"[]",
        b'{"timestamp": "1"}',
        b'{"event_name": "follow"}',
        b'{"event_name": "user_send_text", "timestamp": "1", "sender": {"id": "9"},'
        b' "recipient": {"id": "9"}}',
        b'{"event_name": "user_send_text", "timestamp": "1", "sender": {"id": "1"},'
        b' "message": {"text": 5}}',
        b"\xff\xfe",
    ],
)
def test_bodies_that_are_not_events_are_rejected(raw):
    with pytest.raises(EventError):
        parse_event(raw)
