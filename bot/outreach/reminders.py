"""Citizen-side dossiers: status replies with subscription, "dừng nhắc", and the reminder job.

Reminders go only to citizens who typed the dossier's code (and so were told what is stored and
how to stop). Each (dossier, citizen, kind) is claimed once in `reminders_sent`, in the same
transaction that queues the message, so a reminder is sent at most once. Kinds:
`appointment:<date>` on the day before the appointment from `reminder_hour` local time, and
`result_ready` when the status turns to result-ready. Quiet hours postpone both.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import sqlite_utils

from bot.config import Config
from bot.dialogue.messages import Reply
from bot.outreach.audience import route
from bot.outreach.clock import Moment, epoch, in_quiet_hours, local
from bot.outreach.dossiers import FINAL_STATUSES
from bot.outreach.text import Texts
from bot.storage import core, transaction
from bot.storage import dossiers as store

logger = logging.getLogger(__name__)

MAX_CODES = 3
SOURCE = "reminder"


def _date(iso: str | None) -> str:
    """An ISO date as dd/mm/yyyy ('' for none)."""
    return dt.date.fromisoformat(iso).strftime("%d/%m/%Y") if iso else ""


def status_text(texts: Texts, row: dict[str, Any]) -> str:
    """A dossier's status, office and appointment as the citizen reads them."""
    return texts.text(
        "dossier_status",
        code=row["code"],
        procedure=row["procedure"],
        status=texts.text(f"dossier_status_{row['status']}"),
        office=row["office"],
        appointment=_date(row["appointment"]) or texts.text("dossier_no_appointment"),
    )


def _template(config: Config, texts: Texts, row: dict[str, Any]) -> dict[str, Any]:
    """The template payload of a reminder (data keys documented in config.example.toml)."""
    return {
        "template_id": config.zalo.template_id,
        "template_data": {
            "ma_ho_so": row["code"],
            "ngay_hen": _date(row["appointment"]),
            "trang_thai": texts.text(f"dossier_status_{row['status']}"),
        },
    }


def _send(
    db: sqlite_utils.Database,
    config: Config,
    texts: Texts,
    row: dict[str, Any],
    kind: str,
    text: str,
    now: float,
) -> str:
    """Claim and queue one reminder in one transaction; return its outcome."""
    way = route(row.get("follow_state"), row.get("last_interaction_at"), now, config.zalo)
    status = "queued" if way.channel else "unreachable"
    with transaction(db):
        if not store.record_reminder(
            db, row["code"], row["user_id"], kind, now, way.channel, status, way.reason or None
        ):
            return "already"
        if way.channel is None:
            logger.info(
                "reminder %s for dossier %s not reachable: %s", kind, row["code"], way.reason
            )
            return "unreachable"
        payload = Reply(text).to_json() if way.channel == "cs" else _template(config, texts, row)
        core.enqueue(
            db,
            f"rm:{kind}:{row['code']}:{row['user_id']}",
            row["user_id"],
            payload,
            now,
            source=SOURCE,
            source_id=row["code"],
            channel=way.channel,
        )
    return "queued"


def _retry_as_template(db: sqlite_utils.Database, config: Config, texts: Texts, now: float) -> int:
    """Re-send as the template the reminders Zalo refused as outside the window (-230)."""
    if not config.zalo.template_id:
        return 0
    count = 0
    for row in store.refused_reminders(db):
        with transaction(db):
            if not store.switch_reminder_to_template(db, row["code"], row["user_id"], row["kind"]):
                continue
            core.enqueue(
                db,
                f"rm:{row['kind']}:{row['code']}:{row['user_id']}:template",
                row["user_id"],
                _template(config, texts, row),
                now,
                source=SOURCE,
                source_id=row["code"],
                channel="template",
            )
        count += 1
    return count


def send_reminders(
    db: sqlite_utils.Database, config: Config, texts: Texts, now: Moment
) -> dict[str, int]:
    """Queue the reminders due at `now`; return counts per outcome (queued, unreachable)."""
    ts = epoch(now)
    counts = {"queued": 0, "unreachable": 0}
    if in_quiet_hours(ts, config.outreach):
        return counts
    here = local(ts, config.outreach)
    due: list[tuple[dict[str, Any], str, str]] = []
    if here.hour >= config.outreach.reminder_hour:
        tomorrow = (here.date() + dt.timedelta(days=1)).isoformat()
        for row in store.subscribed_dossiers(db, appointment=tomorrow):
            if row["status"] in FINAL_STATUSES:
                continue
            text = texts.text(
                "reminder_appointment",
                code=row["code"],
                procedure=row["procedure"],
                date=_date(tomorrow),
                office=row["office"],
            )
            due.append((row, f"appointment:{tomorrow}", text))
    for row in store.subscribed_dossiers(db, status="co_ket_qua"):
        text = texts.text(
            "reminder_result_ready",
            code=row["code"],
            procedure=row["procedure"],
            office=row["office"],
        )
        due.append((row, "result_ready", text))
    for row, kind, text in due:
        outcome = _send(db, config, texts, row, kind, text, ts)
        if outcome in counts:
            counts[outcome] += 1
    counts["queued"] += _retry_as_template(db, config, texts, ts)
    if counts["queued"] or counts["unreachable"]:
        logger.info(
            "reminders: %d queued, %d not reachable", counts["queued"], counts["unreachable"]
        )
    return counts
