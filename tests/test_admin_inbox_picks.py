"""The inbox learns what a citizen meant from the topic they picked after a 👎 answer."""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path

import pytest
from admin_support import Clock, db_of, logged_in, make_app, make_config
from flask import Flask

from bot.admin import dates
from bot.kb.loader import load_kb
from bot.storage import core

T = dt.datetime(2026, 11, 10, 10, 0, tzinfo=dates.zone("Asia/Ho_Chi_Minh")).timestamp()
QUESTION = "xin giấy xác nhận độc thân ở đâu"


@pytest.fixture
def env(tmp_path: Path) -> tuple[Flask, object]:
    config = make_config(tmp_path)
    return make_app(config, Clock()), config


def say(db: object, user: str, at: float, text: str, kind: str, topic: str | None = None) -> None:
    """A citizen message and the bot's turn for it."""
    inbound = core.record_inbound(
        db, f"{user}:{at}", "user_send_text", user, f"m{at}", text, "", 0, at
    )
    core.record_turn(db, inbound, user, at, kind, topic, None, 0.5)


def rated_down_then(db: object, pick: str, after: float) -> None:
    """An answer for tạm trú rated 👎, then a tap on `pick` `after` seconds later."""
    say(db, "p", T, QUESTION, "answer", "tam-tru")
    say(db, "p", T + 20, "#rate:tam-tru:0", "feedback")
    core.add_rating(db, "p", "tam-tru", False, T + 20)
    topic = pick.split(":")[1]
    say(db, "p", T + after, pick, "answer", topic)


def group_of(app: Flask, config: object) -> str:
    page = logged_in(app, config, "staff").get("/admin/inbox").get_data(as_text=True)
    return next(s for s in page.split('<section class="card group"')[1:] if QUESTION in s)


def selected(group: str) -> str | None:
    found = re.search(r'<option value="([a-z0-9-]+)" selected>', group)
    return found.group(1) if found else None


def test_the_topic_picked_after_a_thumbs_down_is_shown_and_preselected(env: tuple) -> None:
    app, config = env
    rated_down_then(db_of(config), "#section:ket-hon:where", after=40)
    group = group_of(app, config)
    title = load_kb(config.bot.knowledge_base).topics["ket-hon"].title
    assert f"người dân chọn lại: {html.escape(title)}" in group
    assert selected(group) == "ket-hon"  # not tạm trú, which the bot answered


@pytest.mark.parametrize(
    ("pick", "after"),
    [("#section:ket-hon:where", 40 + 1800), ("#section:tam-tru:where", 40)],
    ids=["half an hour later", "the same topic"],
)
def test_a_late_pick_or_the_same_topic_teaches_nothing(env: tuple, pick: str, after: float) -> None:
    app, config = env
    rated_down_then(db_of(config), pick, after)
    group = group_of(app, config)
    assert "data-picked" not in group
    assert selected(group) == "tam-tru"
