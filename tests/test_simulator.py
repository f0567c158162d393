"""The Zalo simulator over real HTTP: API shapes, OAuth, faults, webhook events, chat page."""

from __future__ import annotations

import json
import logging
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from bot.config import ZaloConfig
from bot.zalo.signature import verify_signature
from tests.fixtures_zalo import APP_ID, APP_SECRET, FIRST_REFRESH_TOKEN, OA_ID, OA_SECRET


@pytest.fixture
def webhook():
    """A webhook receiver on 127.0.0.1 that records (headers, raw body) and answers 200."""
    received: list[tuple[dict[str, str], bytes]] = []

    class Capture(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), raw))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Capture)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    server.received = received
    server.url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/zalo"
    yield server
    server.shutdown()
    server.server_close()


def token(sim) -> str:
    return sim.issue_access_token()


def api(sim, path, body=None, access=None, method="POST", data=None):
    headers = {"access_token": access if access is not None else token(sim)}
    if method == "GET":
        params = {"data": json.dumps(data)} if data is not None else None
        return requests.get(sim.url + path, params=params, headers=headers, timeout=5).json()
    return requests.post(sim.url + path, json=body, headers=headers, timeout=5).json()


def send(sim, user="u1", text="Chào", **kw):
    return api(
        sim,
        "/v3.0/oa/message/cs",
        {"recipient": {"user_id": user}, "message": {"text": text}},
        **kw,
    )


def test_send_answers_in_zalo_envelope_and_records_the_message(sim):
    answer = send(sim)
    assert answer["error"] == 0 and answer["message"] == "Success"
    assert set(answer["data"]) >= {"message_id", "user_id", "sent_time", "quota"}
    [record] = sim.delivered()
    assert (record["user_id"], record["text"]) == ("u1", "Chào")


def test_calls_without_a_valid_token_get_216_in_http_200(sim):
    response = requests.post(
        sim.url + "/v3.0/oa/message/cs", json={}, headers={"access_token": "nope"}, timeout=5
    )
    assert response.status_code == 200 and response.json()["error"] == -216


def test_text_over_2000_characters_is_refused(sim):
    assert send(sim, text="x" * 2001)["error"] == -201
    assert sim.delivered() == []


def test_refresh_tokens_are_single_use(sim):
    form = {"app_id": APP_ID, "grant_type": "refresh_token", "refresh_token": FIRST_REFRESH_TOKEN}
    url = sim.url + "/v4/oa/access_token"
    first = requests.post(url, data=form, headers={"secret_key": APP_SECRET}, timeout=5).json()
    assert first["expires_in"] == "90000" and first["refresh_token"] != FIRST_REFRESH_TOKEN
    again = requests.post(url, data=form, headers={"secret_key": APP_SECRET}, timeout=5).json()
    assert again["error"] == -14014
    assert send(sim, access=first["access_token"])["error"] == 0


def test_refresh_with_a_wrong_app_secret_is_refused(sim):
    form = {"app_id": APP_ID, "grant_type": "refresh_token", "refresh_token": FIRST_REFRESH_TOKEN}
    answer = requests.post(
        sim.url + "/v4/oa/access_token", data=form, headers={"secret_key": "x"}, timeout=5
    ).json()
    assert answer["error"] == -14002


def test_user_list_pages_by_at_most_fifty(sim):
    sim.seed_followers([f"u{n:03d}" for n in range(60)], tags=["TDP 1"])
    page = api(sim, "/v3.0/oa/user/getlist", method="GET", data={"offset": 50, "count": 50})
    assert page["data"]["total"] == 60 and len(page["data"]["users"]) == 10
    too_many = api(sim, "/v3.0/oa/user/getlist", method="GET", data={"offset": 0, "count": 51})
    assert too_many["error"] == -201
    assert api(sim, "/v2.0/oa/tag/gettagsofoa", method="GET")["data"] == ["TDP 1"]


def test_faults_can_be_set_over_http(sim):
    requests.post(sim.url + "/_sim/fail", json={"kind": "rate_limit", "count": 1}, timeout=5)
    assert send(sim)["error"] == -32
    requests.post(sim.url + "/_sim/fail", json={"kind": "outage", "count": 1}, timeout=5)
    response = requests.post(
        sim.url + "/v3.0/oa/message/cs", json={}, headers={"access_token": token(sim)}, timeout=5
    )
    assert response.status_code == 503
    requests.post(sim.url + "/_sim/fail", json={"kind": "expire_token"}, timeout=5)
    assert send(sim, access="")["error"] == -216
    assert send(sim)["error"] == 0
    bad = requests.post(sim.url + "/_sim/fail", json={"kind": "nonsense"}, timeout=5)
    assert bad.status_code == 400


def test_timed_outage_ends_by_itself(sim):
    sim.outage(seconds=0.3)
    with pytest.raises(json.JSONDecodeError):
        send(sim)
    time.sleep(0.35)
    assert send(sim)["error"] == 0


def test_late_mode_sends_the_message_but_answers_after_the_clients_timeout(sim):
    requests.post(sim.url + "/_sim/fail", json={"kind": "late", "seconds": 0.6}, timeout=5)
    body = {"recipient": {"user_id": "u7"}, "message": {"text": "Đã nhận hồ sơ."}}
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        requests.post(
            sim.url + "/v3.0/oa/message/cs",
            json=body,
            headers={"access_token": token(sim)},
            timeout=0.2,
        )
    assert time.monotonic() - started < 0.5
    [sent] = sim.delivered("u7")  # Zalo sent it although the client saw no answer
    history = api(sim, "/v2.0/oa/conversation", method="GET", data={"user_id": "u7"})
    assert [(m["src"], m["message"]) for m in history["data"]] == [(0, "Đã nhận hồ sơ.")]
    assert history["data"][0]["message_id"] == sent["message_id"]


def test_chat_poll_jitter_delays_the_answer_but_not_the_content(sim):
    sim.user_says("u8", "Chào")
    requests.post(sim.url + "/_sim/fail", json={"kind": "chat_jitter", "seconds": 0.3}, timeout=5)
    answer = requests.get(sim.url + "/_sim/chat/messages?user_id=u8&after=0", timeout=5).json()
    assert [m["text"] for m in answer["messages"]] == ["Chào"]
    bad = requests.get(sim.url + "/_sim/chat/messages?user_id=u8&after=x", timeout=5)
    assert bad.status_code == 400


def test_window_closes_seven_days_after_the_last_interaction(sim):
    sim.set_last_interaction("old", int(time.time() * 1000) - 8 * 86_400_000)
    assert send(sim, user="old")["error"] == -230


def test_citizen_text_reaches_the_webhook_correctly_signed(sim, webhook):
    sim.set_webhook(webhook.url)
    assert sim.user_says("246845883529197922", "Cho hỏi thủ tục khai sinh") == 200
    [(headers, raw)] = webhook.received
    body = json.loads(raw)
    assert body["event_name"] == "user_send_text"
    assert body["sender"]["id"] == "246845883529197922" and body["recipient"]["id"] == OA_ID
    assert body["message"]["text"] == "Cho hỏi thủ tục khai sinh"
    config = ZaloConfig(app_id=APP_ID, oa_secret_key=OA_SECRET)
    assert verify_signature(headers["X-ZEvent-Signature"], raw, body["timestamp"], config)


def test_delivered_message_is_echoed_to_the_webhook(sim, webhook):
    sim.set_webhook(webhook.url)
    send(sim, user="u9", text="Trả lời")
    deadline = time.monotonic() + 5
    while not webhook.received and time.monotonic() < deadline:
        time.sleep(0.01)
    body = json.loads(webhook.received[0][1])
    assert body["event_name"] == "oa_send_text"
    assert (body["sender"]["id"], body["recipient"]["id"]) == (OA_ID, "u9")
    assert body["message"]["msg_id"] == sim.delivered()[0]["message_id"]


def test_chat_page_is_served_and_its_endpoints_work(sim, webhook):
    sim.set_webhook(webhook.url)
    page = requests.get(sim.url + "/", timeout=5)
    assert page.status_code == 200 and "Quan tâm" in page.text and "/_sim/chat/send" in page.text
    sent = requests.post(
        sim.url + "/_sim/chat/send", json={"user_id": "c1", "text": "Xin chào"}, timeout=5
    ).json()
    followed = requests.post(sim.url + "/_sim/chat/follow", json={"user_id": "c1"}, timeout=5)
    assert sent["webhook_status"] == 200 and followed.json()["webhook_status"] == 200
    names = [json.loads(raw)["event_name"] for _, raw in webhook.received]
    assert names == ["user_send_text", "follow"]
    send(sim, user="c1", text="Bot trả lời")
    thread = requests.get(sim.url + "/_sim/chat/messages?user_id=c1&after=0", timeout=5).json()
    assert [(m["from"], m["text"]) for m in thread["messages"]] == [
        ("user", "Xin chào"),
        ("oa", "Bot trả lời"),
    ]
    later = requests.get(sim.url + "/_sim/chat/messages?user_id=c1&after=2", timeout=5).json()
    assert later["messages"] == []


def test_invalid_parameters_get_error_201_in_zalo_envelope(sim):
    answer = api(sim, "/v3.0/oa/user/getlist", method="GET", data={"offset": "x", "count": 5})
    assert answer["error"] == -201


IMAGE = {"media_type": "image", "url": "https://tayho.hanoi.gov.vn/a.jpg"}
LINK = {"title": "Xem", "type": "oa.open.url", "payload": {"url": "https://tayho.hanoi.gov.vn"}}


def media(*elements, **extra):
    return {
        "type": "template",
        "payload": {"template_type": "media", "elements": list(elements), **extra},
    }


def test_image_with_a_link_button_is_recorded_and_shown_in_the_chat(sim):
    answer = api(
        sim,
        "/v3.0/oa/message/cs",
        {
            "recipient": {"user_id": "c9"},
            "message": {"text": "Lịch", "attachment": media(IMAGE, buttons=[LINK])},
        },
    )
    assert answer["error"] == 0
    [sent] = sim.delivered("c9")
    assert sent["image_url"] == IMAGE["url"]
    assert sent["buttons"] == [{"title": "Xem", "payload": LINK["payload"], "type": "oa.open.url"}]
    chat = requests.get(sim.url + "/_sim/chat/messages?user_id=c9&after=0", timeout=5).json()
    assert chat["messages"][0]["image_url"] == IMAGE["url"]


@pytest.mark.parametrize(
    ("attachment", "code"),
    [
        ({"type": "file", "payload": {"token": "t"}}, -233),
        ({"type": "template"}, -201),
        (media(), -201),
        (media(IMAGE, IMAGE), -201),
        (media({"media_type": "image"}), -201),
        (media({"media_type": "image", "url": "javascript:alert(1)"}), -201),
        (media({"media_type": "video", "url": IMAGE["url"]}), -233),
        (media({"media_type": "gif", "url": IMAGE["url"]}), -201),
        ({"type": "template", "payload": {"template_type": "list", "elements": [IMAGE]}}, -233),
        ({"type": "template", "payload": {"buttons": [{**LINK, "payload": "https://x.vn"}]}}, -201),
        ({"type": "template", "payload": {"buttons": [{**LINK, "type": "oa.open.web"}]}}, -201),
        ({"type": "template", "payload": {"buttons": [{**LINK, "title": ""}]}}, -201),
        ({"type": "template", "payload": {"buttons": [LINK] * 6}}, -201),
        ({"type": "template", "payload": {}}, -201),
    ],
)
def test_malformed_attachments_are_refused_with_zalos_codes(sim, attachment, code):
    answer = api(
        sim,
        "/v3.0/oa/message/cs",
        {"recipient": {"user_id": "c8"}, "message": {"text": "Lịch", "attachment": attachment}},
    )
    assert answer["error"] == code
    assert sim.delivered("c8") == []


def _hang_up_before_the_answer(sim, path: str) -> None:
    """Send a request, then reset the connection while the simulator is still working on it."""
    host, port = sim.server.server_address[:2]
    body = json.dumps({"recipient": {"user_id": "u1"}, "message": {"text": "Chào"}}).encode()
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\naccess_token: {token(sim)}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    with socket.create_connection((host, port), timeout=5) as client:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.sendall(request)
    # closed with linger 0: the simulator's answer meets a reset connection


def test_a_client_hanging_up_mid_response_is_logged_quietly(sim, capsys, caplog):
    caplog.set_level(logging.DEBUG, logger="bot.simulator.server")
    sim.slow(0.3)
    _hang_up_before_the_answer(sim, "/v3.0/oa/message/cs")
    deadline, err = time.monotonic() + 5, ""
    while not any("disconnected" in r.getMessage() for r in caplog.records):
        err += capsys.readouterr().err
        if "Traceback" in err:
            break
        assert time.monotonic() < deadline, "the simulator never noticed the hang-up"
        time.sleep(0.05)
    sim.clear_faults()
    assert send(sim)["error"] == 0  # still serving
    err += capsys.readouterr().err
    assert "Traceback" not in err and "BrokenPipeError" not in err
    assert "ConnectionResetError" not in err
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    [gone] = [r for r in caplog.records if "disconnected" in r.getMessage()]
    assert gone.levelno == logging.DEBUG and "/v3.0/oa/message/cs" in gone.getMessage()


def test_a_hang_up_between_requests_is_not_printed_but_other_errors_are(sim, capsys):
    for exc in (ConnectionResetError(104, "reset"), RuntimeError("simulator bug")):
        try:
            raise exc
        except Exception:
            sim.server.handle_error(None, ("127.0.0.1", 50000))
    err = capsys.readouterr().err
    assert "RuntimeError: simulator bug" in err
    assert "ConnectionResetError" not in err
