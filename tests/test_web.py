"""The app around the webhook: health, domain verification, error shapes, proxy trust."""

import json
import sqlite3
import time
from pathlib import Path

import pytest

from bot import storage
from bot.config import Config, StorageConfig, WebhookConfig, ZaloConfig
from bot.storage import kbstate
from bot.web import create_app
from bot.zalo.signature import sign

ROOT = Path(__file__).resolve().parent.parent


def make_app(tmp_path, **sections):
    config = Config(
        storage=StorageConfig(database=str(tmp_path / "bot.db")),
        **sections,
    )
    return create_app(config)


def test_healthz_reports_the_knowledge_base(tmp_path):
    response = make_app(tmp_path).test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["knowledge_base"]["topics"] == 33


def test_healthz_reports_the_knowledge_base_the_scheduler_answers_from(tmp_path):
    app = make_app(tmp_path)
    client = app.test_client()
    assert client.get("/healthz").get_json()["answering_knowledge_base"] is None
    db = storage.connect(app.extensions["bot.db_path"])
    status = {"version": "abc123", "topics": 33, "loaded_at": time.time(), "path": "kb"}
    kbstate.report(db, "scheduler-host:1", status, time.time())
    answering = client.get("/healthz").get_json()["answering_knowledge_base"]
    assert (answering["version"], answering["topics"]) == ("abc123", 33)
    assert answering["reported_age_seconds"] < 60


def test_healthz_shows_events_waiting_for_the_turn_worker(tmp_path):
    app = make_app(tmp_path, zalo=ZaloConfig(app_id="1", oa_secret_key="s"))
    client = app.test_client()
    assert client.get("/healthz").get_json()["inbox"]["pending"] == 0
    for n in range(2):  # recorded, and no turn worker runs in this test
        body = {
            "app_id": "1",
            "event_name": "user_send_text",
            "sender": {"id": "u1"},
            "recipient": {"id": "oa"},
            "message": {"msg_id": f"m{n}", "text": "khai sinh"},
            "timestamp": "1700000000000",
        }
        raw = json.dumps(body).encode()
        mac = "mac=" + sign("1", raw, "1700000000000", "s")
        headers = {"X-ZEvent-Signature": mac, "Content-Type": "application/json"}
        assert client.post("/webhooks/zalo", data=raw, headers=headers).json == {
            "status": "recorded"
        }
    inbox = client.get("/healthz").get_json()["inbox"]
    assert inbox["pending"] == 2 and inbox["oldest_age_seconds"] >= 0
    # One pooled connection served every request (per thread, it was one per greenlet: gevent).
    assert len(app.extensions["bot.connections"].idle) == 1


def test_a_database_connection_whose_user_failed_is_not_reused(tmp_path):
    connections = storage.Connections(tmp_path / "bot.db")
    with connections() as first:
        pass
    with connections() as again:
        assert again is first
    with pytest.raises(sqlite3.OperationalError), connections() as failing:
        failing.execute("SELECT * FROM no_such_table")
    assert not connections.idle
    with pytest.raises(sqlite3.ProgrammingError):
        failing.execute("SELECT 1")  # closed


def test_domain_verification_file_and_meta_tag_are_served(tmp_path):
    app = make_app(tmp_path, zalo=ZaloConfig(domain_verification_code="ABC123"))
    client = app.test_client()
    page = client.get("/zalo_verifierABC123.html")
    assert page.status_code == 200
    assert 'name="zalo-platform-site-verification" content="ABC123"' in page.get_data(True)
    assert "ABC123" in client.get("/").get_data(True)


@pytest.mark.parametrize(
    "method,path,status",
    [("get", "/nowhere", 404), ("delete", "/webhooks/zalo", 405), ("put", "/healthz", 405)],
)
def test_errors_outside_the_console_share_one_json_shape(tmp_path, method, path, status):
    response = getattr(make_app(tmp_path).test_client(), method)(path)
    assert response.status_code == status
    body = json.loads(response.get_data())
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}


def test_console_routing_errors_are_a_vietnamese_page(tmp_path):
    response = make_app(tmp_path).test_client().put("/admin/login")
    assert response.status_code == 405
    assert "không được hỗ trợ" in response.get_data(True)


def test_https_behind_a_trusted_proxy_gets_secure_cookies(tmp_path):
    trusted = make_app(tmp_path, webhook=WebhookConfig(proxy_hops=1)).test_client()
    cookie = trusted.get("/admin/login", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in cookie.headers["Set-Cookie"]
    direct = make_app(tmp_path).test_client()
    cookie = direct.get("/admin/login", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" not in cookie.headers["Set-Cookie"], "untrusted header must be ignored"


def test_the_webhook_process_refuses_to_start_without_its_zalo_secrets(tmp_path):
    import subprocess
    import sys

    config = tmp_path / "bot.toml"
    config.write_text('[zalo]\napp_id = "1"\n', encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", "import webhooks"],
        cwd=ROOT,
        env={"BOT_CONFIG": str(config), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert "bot.toml: missing required key(s): zalo.oa_secret_key" in done.stderr
