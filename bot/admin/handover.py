"""The hand-over queue: conversations waiting for a person, and giving them back to the bot."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, redirect, render_template, url_for

from bot.admin import BadInput, security
from bot.storage import reports as store
from bot.storage.core import set_handover

USER_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def register(bp: Blueprint) -> None:
    """Add the hand-over routes."""
    bp.add_url_rule("/handover", "handover", queue)
    bp.add_url_rule("/handover/<user_id>/release", "handover_release", release, methods=["POST"])


@security.roles("admin", "staff")
def queue() -> Any:
    """Every flagged conversation with its last messages and a link to the OA chat."""
    db = security.db()
    conversations = store.handover_queue(db)
    for conversation in conversations:
        conversation["messages"] = store.recent_messages(db, conversation["user_id"], limit=8)
    return render_template(
        "admin/handover.html",
        conversations=conversations,
        oa_chat_url=security.config().bot.oa_chat_url,
        now=security.now(),
    )


@security.roles("admin", "staff")
def release(user_id: str) -> Any:
    """Give the conversation back to the bot."""
    if not USER_ID.match(user_id):
        raise BadInput("Mã người dùng không hợp lệ.")
    db = security.db()
    if not store.is_handed_over(db, user_id):
        raise BadInput("Cuộc trò chuyện này không còn trong hàng chờ.", 404)
    set_handover(db, user_id, False, security.now())
    security.audit("handover_released", f"user={user_id}")
    security.notice("Đã trả cuộc trò chuyện cho bot.")
    return redirect(url_for("admin.handover"))
