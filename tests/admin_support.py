"""Shared helpers for the staff console tests: a real app on a temp database, accounts, login."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from bot import storage
from bot.admin.security import hash_password
from bot.config import AdminConfig, BotConfig, Config, StorageConfig
from bot.kb.loader import load_kb
from bot.storage import admin as admin_store

KB_FIXTURE = Path(__file__).parent / "fixtures" / "kb" / "good"
T0 = 1_795_000_000.0  # 2026-11-18 ~ 14:06 in Hà Nội
PASSWORD = "mat-khau-du-dai-123"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_config(tmp_path: Path, **admin: Any) -> Config:
    """A configuration on a temp database and a writable copy of the fixture knowledge base."""
    kb = tmp_path / "kb"
    if not kb.exists():
        shutil.copytree(KB_FIXTURE, kb)
    return Config(
        storage=StorageConfig(database=str(tmp_path / "bot.db")),
        bot=BotConfig(knowledge_base=str(kb), oa_chat_url="https://oa.zalo.me/manage/chatv2"),
        admin=replace(
            AdminConfig(),
            suggestions_dir=str(tmp_path / "suggestions"),
            **admin,
        ),
    )


class StaticKB:
    """Stands in for LiveKB: the fixture knowledge base and a status the test chooses.

    The console only reads `.kb`/`.current.kb` and `.status()`; the fixture KB lacks the texts
    other areas' code requires, so the real LiveKB would (rightly) refuse to serve it.
    """

    def __init__(self, path: str, **status: Any) -> None:
        self.kb = load_kb(path)
        self.current = SimpleNamespace(kb=self.kb)
        self._status = {
            "ok": True,
            "version": self.kb.version,
            "topics": len(self.kb.topics),
            "loaded_at": T0 - 600,
            "last_reload_at": T0 - 5,
            "last_error_at": None,
            "last_errors": [],
            **status,
        }

    def status(self) -> dict[str, Any]:
        """The status dict the admin page shows."""
        return dict(self._status)


def make_app(config: Config, clock: Clock, live: Any = None) -> Flask:
    """The real app (webhook, console) on the temp database and the fixture knowledge base."""
    from bot.web import create_app

    live = live if live is not None else StaticKB(config.bot.knowledge_base)
    app = create_app(config, clock=clock, live_kb=live)
    app.testing = False  # exercise the real error handlers
    return app


def add_account(config: Config, username: str, role: str, password: str = PASSWORD) -> None:
    """Create a console account directly in the database."""
    db = storage.connect(config.storage.database)
    admin_store.save_account(db, username, hash_password(password), role, T0)
    db.conn.close()


def csrf_of(client: FlaskClient, path: str = "/admin/login") -> str:
    """The CSRF token printed in the forms of `path`."""
    page = client.get(path).get_data(as_text=True)
    found = CSRF.search(page)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def login(client: FlaskClient, username: str, password: str = PASSWORD) -> Any:
    """Log in through the form; return the response."""
    token = csrf_of(client)
    return client.post(
        "/admin/login", data={"username": username, "password": password, "csrf_token": token}
    )


def logged_in(app: Flask, config: Config, role: str, username: str | None = None) -> FlaskClient:
    """A test client logged in with a fresh account of `role`."""
    username = username or f"{role}-user"
    add_account(config, username, role)
    client = app.test_client()
    response = login(client, username)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def db_of(config: Config) -> Any:
    """A connection to the test database."""
    return storage.connect(config.storage.database)
