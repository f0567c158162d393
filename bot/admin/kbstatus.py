"""Knowledge base status: topics and review dates, stale ones, check problems, last reload.

The state shown (version in force, last load, refused edit and its errors) is the one the
answering process (the scheduler's turn worker) reports in `kb_state`, not the webhook process's
own copy; the topic list is read from the files by this process.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from flask import Blueprint, current_app, render_template

from bot.admin import dates, security
from bot.admin.outcomes import FLAG_REASONS as REASONS
from bot.kb.live import last_good
from bot.kb.model import KnowledgeBase
from bot.storage import kbstate, teaching

logger = logging.getLogger(__name__)

SILENT_SECONDS = 60.0
"""With no report for this long (or three looks, if staff set `reload_seconds` longer), the
answering process is taken to be stopped; it reports every few seconds while it runs
(`bot.inbox.worker.REPORT_SECONDS`)."""


def register(bp: Blueprint) -> None:
    """Add the knowledge-base status routes."""
    bp.add_url_rule("/kb", "kb_status", kb_status)
    bp.add_url_rule("/kb/check", "kb_check", kb_check)
    bp.add_url_rule("/kb/state", "kb_state", kb_state)


def look_at_disk() -> None:
    """Let the live knowledge base compare the files with its last look (a few `stat` calls),
    so the console shows an edit within seconds even when no citizen writes."""
    live = current_app.extensions.get("bot.live_kb")
    if hasattr(live, "maybe_reload"):
        try:
            live.maybe_reload(security.now())
        except Exception:  # noqa: BLE001 - a failing reload is reported by status(), not here
            logger.exception("looking at the knowledge-base files failed")


def current_kb() -> KnowledgeBase | None:
    """The knowledge base the bot answers from (None when none loaded yet)."""
    return last_good(current_app.extensions.get("bot.live_kb"))


def topic_titles() -> dict[str, str]:
    """Topic id -> title from the live knowledge base (empty when none is loaded)."""
    kb = current_kb()
    return {} if kb is None else {topic.id: topic.title for topic in kb.topics.values()}


def faq_titles() -> dict[str, str]:
    """`topic/faq-id` -> "topic title › question" of every FAQ entry of the live knowledge base."""
    kb = current_kb()
    if kb is None:
        return {}
    return {
        f"{topic.id}/{faq.id}": f"{topic.title} › {faq.question}"
        for topic in kb.topics.values()
        for faq in getattr(topic, "faqs", ())
    }


def answering_state(now: float, reload_seconds: float) -> dict[str, Any]:
    """What the answering process last reported about its knowledge base, for the template:
    `reported` (False when it never did) and `silent` (True when it stopped reporting)."""
    row = kbstate.load(security.db())
    if row is None:
        return {"reported": False, "silent": True, "errors": [], "version": "", "loaded_at": None}
    silent_after = max(SILENT_SECONDS, 3 * reload_seconds)
    return {**row, "reported": True, "silent": now - row["reported_at"] > silent_after}


def _topics(kb: KnowledgeBase | None, today: dt.date, max_age: int) -> list[dict[str, Any]]:
    """The topics of `kb`, least recently reviewed first, marked stale past `max_age` days."""
    topics: list[dict[str, Any]] = []
    for topic in sorted(kb.topics.values() if kb else (), key=lambda t: t.reviewed):
        age = (today - topic.reviewed).days
        topics.append(
            {
                "id": topic.id,
                "title": topic.title,
                "category": topic.category,
                "reviewed": topic.reviewed,
                "age": age,
                "stale": age > max_age,
                "questions": len(topic.questions),
            }
        )
    return topics


def _page(problems: list[Any] | None, template: str = "admin/kb.html") -> Any:
    """Render the status page, with the result of an on-demand check if one ran."""
    look_at_disk()
    settings = security.config()
    tz = dates.zone(settings.outreach.timezone)
    now = security.now()
    max_age = settings.bot.review_max_age_days
    topics = _topics(current_kb(), dates.local_today(now, tz), max_age)
    flags: dict[str, list[dict[str, Any]]] = {}
    for flag in teaching.open_flags(security.db()):
        flags.setdefault(flag["topic"] or "", []).append(flag)
    return render_template(
        template,
        flags=flags,
        flag_reasons=REASONS,
        titles={t["id"]: t["title"] for t in topics},
        topics=topics,
        stale=sum(1 for t in topics if t["stale"]),
        max_age=max_age,
        answering=answering_state(now, settings.bot.reload_seconds),
        problems=problems,
    )


@security.roles(*security.ROLES)
def kb_status() -> Any:
    """The state of the knowledge base the bot is answering from."""
    return _page(None)


@security.roles(*security.ROLES)
def kb_state() -> Any:
    """Only the live status block of the page (the page asks for it every few seconds)."""
    return _page(None, "admin/_kb_state.html")


@security.roles("admin", "comms")
def kb_check() -> Any:
    """Run `kb check` on the files now and show every problem (nothing is changed)."""
    from bot.kb.check import check_kb

    settings = security.config()
    today = dates.local_today(security.now(), dates.zone(settings.outreach.timezone))
    problems = check_kb(
        settings.bot.knowledge_base, settings.bot.review_max_age_days, today, self_test=False
    )
    security.audit("kb_checked", f"{len(problems)} problem(s)")
    return _page(problems)
