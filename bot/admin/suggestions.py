"""Suggestions into the knowledge base: drafts from the inbox and from staff's own replies.

A draft is a new phrasing for a topic's `questions` or a new `[[faq]]` entry. Anyone on the
console may draft and edit; an editor (admin or comms role) approves, which writes the topic file
only if `kb check` passes on the result (else the errors are shown and nothing is written), and
records who approved what in the audit log.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for

from bot.admin import BadInput, dates, kbwrite, security
from bot.admin.forms import field
from bot.admin.inbox import TOPIC_ID, clean_question
from bot.admin.kbstatus import topic_titles
from bot.storage import teaching as store

APPROVERS = ("admin", "comms")
KIND_LABELS = {
    "phrasing": "Cách hỏi mới cho chủ đề",
    "faq": "Câu hỏi thường gặp mới",
    "faq_phrasing": "Cách hỏi mới cho câu hỏi thường gặp",
}


def register(bp: Blueprint) -> None:
    """Add the suggestion routes."""
    bp.add_url_rule("/suggestions", "suggestions", page)
    bp.add_url_rule(
        "/suggestions/from-reply", "suggestion_from_reply", from_reply, methods=["POST"]
    )
    for name, view in (("save", save), ("approve", approve), ("reject", reject)):
        bp.add_url_rule(
            f"/suggestions/<int:item_id>/{name}", f"suggestion_{name}", view, methods=["POST"]
        )


def _render(errors: dict[int, list[str]] | None = None, status: int = 200) -> Any:
    """The drafts, and staff replies that could become FAQ entries."""
    db = security.db()
    page = render_template(
        "admin/suggestions.html",
        drafts=store.suggestions(db),
        replies=store.staff_replies(db, 20),
        titles=topic_titles(),
        kind_labels=KIND_LABELS,
        errors=errors or {},
    )
    return page, status


@security.roles(*security.ROLES)
def page() -> Any:
    """The suggestions page."""
    return _render()


@security.roles(*security.ROLES)
def from_reply() -> Any:
    """Draft an FAQ entry from a staff member's reply in a hand-over conversation."""
    raw = request.form.get("event_id", "")
    reply = store.staff_reply(security.db(), int(raw)) if raw.isdigit() and len(raw) < 13 else None
    if reply is None or not reply["question"]:
        raise BadInput("Không tìm thấy tin trả lời của cán bộ (hoặc câu hỏi trước nó).", 404)
    db = security.db()
    question = clean_question(reply["question"])
    item = {
        "kind": "faq",
        "topic": store.last_topic(db, reply["user_id"], reply["at"]) or "",
        "question": question,
        "phrasings": [question],
        "answer": clean_question(reply["answer"])[:600],
        "source": "staff_reply",
        "source_ids": [reply["id"]],
        "created_by": g.account["username"],
    }
    item_id = store.add_suggestion(db, item, security.now())
    security.audit("suggestion_drafted", f"draft={item_id} from staff reply {reply['id']}")
    security.notice("Đã soạn câu hỏi thường gặp từ câu trả lời của cán bộ; hãy sửa rồi duyệt.")
    return redirect(url_for("admin.suggestions") + f"#s{item_id}")


def _draft(item_id: int) -> dict[str, Any]:
    """The draft, or a Vietnamese 404."""
    item = store.get_suggestion(security.db(), item_id)
    if item is None or item["status"] != "draft":
        raise BadInput("Gợi ý này đã được xử lý hoặc không còn tồn tại.", 404)
    return item


def _edited(item: dict[str, Any]) -> dict[str, Any]:
    """The draft's fields as edited in the form (saved before any approval)."""
    topic = field("topic", "Chủ đề", max_length=80)
    titles = topic_titles()
    if not TOPIC_ID.match(topic) or (titles and topic not in titles):
        raise BadInput("Chủ đề đã chọn không có trong cơ sở tri thức.")
    lines = field("phrasings", "Cách hỏi", max_length=5000, required=item["kind"] != "faq")
    phrasings = [" ".join(x.split()) for x in lines.splitlines() if x.strip()]
    is_faq = item["kind"] == "faq"
    fields = {
        "topic": topic,
        "question": field("question", "Câu hỏi", max_length=200),
        "phrasings": list(dict.fromkeys(phrasings)),
        "answer": field("answer", "Câu trả lời", 2000, required=False) if is_faq else "",
    }
    store.update_suggestion(security.db(), item["id"], fields)
    return {**item, **fields}


@security.roles(*security.ROLES)
def save(item_id: int) -> Any:
    """Keep the edits of a draft."""
    _edited(_draft(item_id))
    security.notice("Đã lưu bản nháp.")
    return redirect(url_for("admin.suggestions") + f"#s{item_id}")


@security.roles(*APPROVERS)
def approve(item_id: int) -> Any:
    """Write the draft into its topic file if `kb check` passes; else show the errors."""
    item = _edited(_draft(item_id))
    settings = security.config()
    root = settings.bot.knowledge_base
    today = dates.local_today(security.now(), dates.zone(settings.outreach.timezone))
    try:
        path = kbwrite.topic_file(root, item["topic"])
        source = path.read_text(encoding="utf-8")
        if item["kind"] in ("phrasing", "faq_phrasing"):
            wanted = item["phrasings"] or [item["question"]]
            if item["kind"] == "phrasing":
                text, added = kbwrite.add_phrasings(source, wanted)
            else:
                text, added = kbwrite.add_faq_phrasings(source, item["faq"] or "", wanted)
            if not added:
                raise kbwrite.WriteRefused(["Các cách hỏi này đã có trong cơ sở tri thức."])
        else:
            faq_id = request.form.get("faq_id", "").strip() or kbwrite.faq_id_for(item["question"])
            text = kbwrite.add_faq(
                source, faq_id, item["question"], item["phrasings"], item["answer"]
            )
        kbwrite.write_checked(root, path, text, today, settings.bot.review_max_age_days)
    except kbwrite.WriteRefused as refused:
        security.audit("suggestion_refused", f"draft={item_id} errors={len(refused.problems)}")
        return _render({item_id: refused.problems}, 400)
    db = security.db()
    user = g.account["username"]
    store.update_suggestion(
        db, item_id, {"status": "approved", "decided_by": user, "decided_at": security.now()}
    )
    security.audit(
        "suggestion_approved",
        f"draft={item_id} kind={item['kind']} topic={item['topic']} question={item['question']}",
    )
    _reload_now()
    title = topic_titles().get(item["topic"], item["topic"])
    security.notice(f"Đã duyệt và ghi vào chủ đề “{title}” (topics/{item['topic']}.toml).")
    return redirect(url_for("admin.suggestions"))


def _reload_now() -> None:
    """Let the bot answer from the new file at once rather than at its next look."""
    live = current_app.extensions.get("bot.live_kb")
    if hasattr(live, "reload"):
        live.reload(security.now())


@security.roles(*APPROVERS)
def reject(item_id: int) -> Any:
    """Drop a draft without writing anything."""
    _draft(item_id)
    store.update_suggestion(
        security.db(),
        item_id,
        {"status": "rejected", "decided_by": g.account["username"], "decided_at": security.now()},
    )
    security.audit("suggestion_rejected", f"draft={item_id}")
    security.notice("Đã bỏ gợi ý.")
    return redirect(url_for("admin.suggestions"))
