"""Questions the bot could not answer, grouped by similarity, to assign to a topic or dismiss."""

from __future__ import annotations

import tomllib
import unicodedata
from collections import Counter
from collections.abc import Sequence
from typing import Any

from flask import Blueprint, redirect, render_template, url_for
from rapidfuzz import fuzz

from bot.admin import BadInput, security, suggestions
from bot.admin.forms import field, int_list
from bot.admin.kbstatus import topic_titles
from bot.storage import reports as store

SIMILARITY = 72
"""token_set_ratio (0-100) above which two questions are shown in one group."""


def register(bp: Blueprint) -> None:
    """Add the unanswered-questions routes."""
    bp.add_url_rule("/unanswered", "unanswered", unanswered)
    bp.add_url_rule("/unanswered/assign", "unanswered_assign", assign, methods=["POST"])
    bp.add_url_rule("/unanswered/dismiss", "unanswered_dismiss", dismiss, methods=["POST"])


def fold(text: str) -> str:
    """Lower case without diacritics or extra spaces, for comparing questions."""
    text = text.replace("đ", "d").replace("Đ", "d")
    bare = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return " ".join(bare.lower().split())


def group_questions(
    rows: Sequence[dict[str, Any]], threshold: int = SIMILARITY
) -> list[dict[str, Any]]:
    """Greedy grouping: each question joins the first group whose first question is similar.

    Groups come biggest first; each has its items and the bot's most frequent best guess.
    """
    groups: list[dict[str, Any]] = []
    for row in rows:
        key = fold(row["text"])
        for group in groups:
            if fuzz.token_set_ratio(key, group["key"]) >= threshold:
                group["items"].append(row)
                break
        else:
            groups.append({"key": key, "items": [row]})
    for group in groups:
        guesses = Counter(r["best_guess"] for r in group["items"] if r["best_guess"])
        group["best_guess"] = guesses.most_common(1)[0][0] if guesses else None
        scores = [r["score"] for r in group["items"] if r["score"] is not None]
        group["score"] = max(scores) if scores else None
    groups.sort(key=lambda g: (-len(g["items"]), -max(r["at"] for r in g["items"])))
    return groups


@security.roles(*security.ROLES)
def unanswered() -> Any:
    """Open questions in groups, with the bot's best guess preselected."""
    rows = store.open_unanswered(security.db())
    titles = topic_titles()
    return render_template(
        "admin/unanswered.html", groups=group_questions(rows), titles=titles, total=len(rows)
    )


@security.roles(*security.ROLES)
def assign() -> Any:
    """Write the chosen questions to the topic's suggestions file and close them."""
    ids = int_list("ids", "câu hỏi")
    topic = field("topic", "Chủ đề", max_length=80)
    titles = topic_titles()
    if not suggestions.TOPIC_ID.match(topic) or (titles and topic not in titles):
        raise BadInput("Chủ đề đã chọn không có trong cơ sở tri thức.")
    db = security.db()
    texts = []
    for item_id in ids:
        row = store.get_unanswered(db, item_id)
        if row is None or row["status"] != "open":
            raise BadInput("Câu hỏi này đã được xử lý hoặc không còn tồn tại.", 404)
        texts.append(row["text"])
    folder = suggestions.directory(security.config())
    try:
        added = suggestions.append(folder, topic, texts)
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(
            f"Tệp gợi ý {topic}.toml đang bị lỗi ({exc}); hãy sửa tệp rồi thử lại."
        ) from None
    store.close_unanswered(db, ids, "assigned", topic)
    security.audit("unanswered_assigned", f"ids={ids} topic={topic} new={added}")
    title = titles.get(topic, topic)
    security.notice(f"Đã gán {len(ids)} câu hỏi vào chủ đề “{title}” (tệp gợi ý: {topic}.toml).")
    return redirect(url_for("admin.unanswered"))


@security.roles(*security.ROLES)
def dismiss() -> Any:
    """Close the chosen questions without using them."""
    ids = int_list("ids", "câu hỏi")
    changed = store.close_unanswered(security.db(), ids, "dismissed", None)
    security.audit("unanswered_dismissed", f"ids={ids}")
    security.notice(f"Đã bỏ qua {changed} câu hỏi.")
    return redirect(url_for("admin.unanswered"))
