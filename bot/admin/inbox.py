"""The inbox of failures: every badly handled question, grouped by similar wording, to triage.

A failure is a question whose outcome was not good (see `bot.admin.outcomes`): misread and
rephrased, rated 👎, choices ignored, not understood, abandoned, handed over. Staff assign a
group to a topic (a draft phrasing) or to a new FAQ entry (a draft entry), both reviewed on the
suggestions page, or mark it out of scope, or ignore it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from flask import Blueprint, g, redirect, render_template, request, url_for
from rapidfuzz import fuzz, process

from bot.admin import BadInput, quality, security
from bot.admin.forms import field, int_list
from bot.admin.kbstatus import faq_titles, topic_titles
from bot.admin.outcomes import LABELS, REASON_LABELS, is_pick
from bot.storage import teaching as store
from bot.understanding.reading import folded

SIMILARITY = 72
"""Similarity (0-100) from which two failed questions are shown in one group."""
LIMIT = 500
"""Newest untriaged failures shown (older ones wait until these are dealt with)."""
TOPIC_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,80}$")
NUMBER = re.compile(r"\+?\d(?:[\s.-]?\d){6,}")
"""A run of 7+ digits (phone, ID-card or dossier number): never copied into a suggestion."""
ACTIONS = {"assign", "faq", "out_of_scope", "ignore"}
PICK_SECONDS = 1800
"""A topic picked by a button this soon after a 👎 answer is taken as the one meant."""


def register(bp: Blueprint) -> None:
    """Add the inbox routes (the old unanswered-questions address leads here)."""
    bp.add_url_rule("/inbox", "inbox", inbox)
    bp.add_url_rule("/inbox/triage", "inbox_triage", triage, methods=["POST"])
    bp.add_url_rule("/unanswered", "unanswered", unanswered)


@security.roles(*security.ROLES)
def unanswered() -> Any:
    """The old address of the unanswered questions: now the inbox."""
    return redirect(url_for("admin.inbox"))


def group_failures(
    rows: Sequence[dict[str, Any]], threshold: float = SIMILARITY
) -> list[dict[str, Any]]:
    """Each failure joins the group whose first question is most similar (at least
    `threshold`, as `similarity` measures it), else starts a group.

    Groups come biggest first; each has its items, a count per outcome and the topic the bot
    most often answered with (its likely misreading, or the right topic), or that the citizen
    picked instead after a 👎 (`picked`, the topic meant). Every text is folded
    once and compared by rapidfuzz in bulk: 500 failures group in milliseconds.
    """
    groups: list[dict[str, Any]] = []
    heads: list[str] = []  # the folded first question of each group with text
    owners: list[dict[str, Any]] = []
    for row in rows:
        text = row["text"] or ""
        key = folded(text) if text else ""
        found = (
            process.extractOne(key, heads, scorer=fuzz.token_set_ratio, score_cutoff=threshold)
            if key
            else None
        )
        if found is not None:
            owners[found[2]]["items"].append(row)
            continue
        group = {"text": text, "items": [row]}
        groups.append(group)
        if key:
            heads.append(key)
            owners.append(group)
    for group in groups:
        group["outcomes"] = Counter(r["outcome"] for r in group["items"]).most_common()
        topics = Counter(t for r in group["items"] if (t := r.get("picked") or r["topic"]))
        group["best_guess"] = topics.most_common(1)[0][0] if topics else None
    groups.sort(key=lambda g: (-len(g["items"]), -max(r["at"] for r in g["items"])))
    return groups


@security.roles(*security.ROLES)
def inbox() -> Any:
    """Untriaged failures in groups, newest first inside a group."""
    db = security.db()
    quality.refresh(db, security.now())
    rows = store.failed_turns(db, LIMIT)
    rated_down = [r for r in rows if r["outcome"] == "rated_down"]
    picks = store.topics_picked_after(db, rated_down, PICK_SECONDS)
    rows = [{**r, "picked": picks.get(r["turn_id"])} for r in rows]
    return render_template(
        "admin/inbox.html",
        groups=group_failures(rows),
        titles=topic_titles(),
        faqs=faq_titles(),
        total=len(rows),
        limit=LIMIT,
        labels=LABELS,
        reason_labels=REASON_LABELS,
    )


def clean_question(text: str | None) -> str:
    """A citizen's question fit for the knowledge base: one line, numbers masked."""
    return NUMBER.sub("[số]", " ".join((text or "").split()))[:200]


@security.roles(*security.ROLES)
def triage() -> Any:
    """Act on the chosen failures: draft a phrasing or FAQ entry, out of scope, or ignore."""
    ids = int_list("ids", "câu hỏi", limit=LIMIT)
    action = request.form.get("action", "")
    if action not in ACTIONS:
        raise BadInput("Thao tác không hợp lệ.")
    db = security.db()
    rows = store.turn_texts(db, ids)
    if len(rows) != len(set(ids)) or any(r["status"] for r in rows):
        raise BadInput("Câu hỏi này đã được xử lý hoặc không còn tồn tại.", 404)
    user, now = g.account["username"], security.now()
    if action in ("out_of_scope", "ignore"):
        store.triage(db, ids, action, None, user, now)
        security.audit(f"inbox_{action}", f"turns={ids}")
        label = "ngoài phạm vi" if action == "out_of_scope" else "bỏ qua"
        security.notice(f"Đã đánh dấu {len(ids)} câu hỏi là {label}.")
        return redirect(url_for("admin.inbox"))
    target = field("topic", "Chủ đề", max_length=160)
    topic, _, faq = target.partition("/")
    titles = topic_titles()
    if not TOPIC_ID.match(topic) or (titles and topic not in titles):
        raise BadInput("Chủ đề đã chọn không có trong cơ sở tri thức.")
    if faq and target not in faq_titles():
        raise BadInput("Câu hỏi thường gặp đã chọn không có trong cơ sở tri thức.")
    texts = list(dict.fromkeys(clean_question(r["text"]) for r in rows if not is_pick(r["text"])))
    texts = [t for t in texts if t]
    if not texts:
        raise BadInput("Các câu hỏi đã chọn không còn nội dung (đã xóa theo thời hạn lưu).")
    kind = "faq" if action == "faq" else "faq_phrasing" if faq else "phrasing"
    item = {
        "kind": kind,
        "topic": topic,
        "faq": faq if kind == "faq_phrasing" else None,
        "question": texts[0],
        "phrasings": texts,
        "source": "inbox",
        "source_ids": ids,
        "created_by": user,
    }
    suggestion = store.add_suggestion(db, item, now)
    store.triage(db, ids, "assigned", f"{target}:{kind}:{suggestion}", user, now)
    security.audit("inbox_assigned", f"turns={ids} target={target} draft={suggestion} kind={kind}")
    what = {"phrasing": "cách hỏi mới", "faq": "câu hỏi thường gặp mới"}.get(
        kind, "cách hỏi mới cho câu hỏi thường gặp"
    )
    security.notice(
        f"Đã soạn {what} cho chủ đề “{titles.get(topic, topic)}” từ {len(ids)} câu hỏi; "
        "hãy xem lại và duyệt ở mục Gợi ý."
    )
    return redirect(url_for("admin.suggestions") + f"#s{suggestion}")
