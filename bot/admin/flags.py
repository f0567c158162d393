"""The conversation around a turn, and flagging the bot's answer as wrong, outdated or incomplete.

Flagged answers are listed per topic on the knowledge-base page until an editor marks them done.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, redirect, render_template, request, url_for

from bot.admin import BadInput, security
from bot.admin.forms import field
from bot.admin.kbstatus import topic_titles
from bot.admin.outcomes import FLAG_REASONS as REASONS
from bot.admin.outcomes import LABELS
from bot.storage import teaching as store


def register(bp: Blueprint) -> None:
    """Add the conversation view and the flag routes."""
    bp.add_url_rule("/conversation/<int:turn_id>", "conversation", conversation)
    bp.add_url_rule("/flag", "flag_answer", flag_answer, methods=["POST"])
    bp.add_url_rule("/flags/<int:flag_id>/done", "flag_done", flag_done, methods=["POST"])


def _turn(turn_id: int) -> dict[str, Any]:
    """The turn, or a Vietnamese 404."""
    rows = store.turn_texts(security.db(), [turn_id])
    if not rows:
        raise BadInput("Không tìm thấy lượt hội thoại này.", 404)
    return rows[0]


@security.roles(*security.ROLES)
def conversation(turn_id: int) -> Any:
    """Half an hour either side of the turn: the citizen, the bot and staff, with flag forms."""
    turn = _turn(turn_id)
    messages = store.conversation_around(security.db(), turn["user_id"], turn["at"])
    return render_template(
        "admin/conversation.html",
        turn=turn,
        messages=messages,
        reasons=REASONS,
        labels=LABELS,
        titles=topic_titles(),
    )


@security.roles(*security.ROLES)
def flag_answer() -> Any:
    """Record a flag on the bot's answer to a turn."""
    raw = request.form.get("turn_id", "")
    if not raw.isdigit() or len(raw) > 12:
        raise BadInput("Lượt hội thoại không hợp lệ.")
    turn = _turn(int(raw))
    reason = request.form.get("reason", "")
    if reason not in REASONS:
        raise BadInput("Hãy chọn lý do: sai, đã cũ hay thiếu thông tin.")
    if turn["kind"] != "answer":
        raise BadInput("Chỉ đánh dấu được câu trả lời của bot.")
    note = field("note", "Ghi chú", max_length=1000, required=False)
    db = security.db()
    flag_id = store.add_flag(
        db, turn["turn_id"], turn["topic"], reason, note, g.account["username"], security.now()
    )
    security.audit("answer_flagged", f"flag={flag_id} turn={turn['turn_id']} reason={reason}")
    title = topic_titles().get(turn["topic"] or "", turn["topic"] or "")
    security.notice(f"Đã đánh dấu câu trả lời về “{title}” là: {REASONS[reason].lower()}.")
    return redirect(url_for("admin.conversation", turn_id=turn["turn_id"]))


@security.roles("admin", "comms")
def flag_done(flag_id: int) -> Any:
    """An editor has dealt with the flagged answer."""
    if not store.close_flag(security.db(), flag_id):
        raise BadInput("Mục này đã được xử lý hoặc không còn tồn tại.", 404)
    security.audit("flag_done", f"flag={flag_id}")
    security.notice("Đã đánh dấu là đã xử lý.")
    return redirect(url_for("admin.kb_status"))
