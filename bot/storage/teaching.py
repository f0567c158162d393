"""SQL for how staff teach the bot: the failures inbox, flagged answers, KB suggestions.

Part of the "admin" area (its tables are created by `bot.storage.admin.MIGRATIONS`).
"""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils


def failed_turns(db: sqlite_utils.Database, limit: int = 500) -> list[dict[str, Any]]:
    """Failed questions nobody has triaged yet, newest first, with the citizen's text."""
    return list(
        db.query(
            "SELECT o.turn_id, o.user_id, o.at, o.outcome, o.topic, o.reason, o.rating, e.text "
            "FROM turn_outcomes o JOIN turns t ON t.id = o.turn_id "
            "LEFT JOIN inbound_events e ON e.id = t.inbound_id "
            "WHERE o.question = 1 AND o.good = 0 "
            "AND NOT EXISTS (SELECT 1 FROM inbox_triage x WHERE x.turn_id = o.turn_id) "
            "ORDER BY o.at DESC, o.turn_id DESC LIMIT ?",
            [limit],
        )
    )


def topics_picked_after(
    db: sqlite_utils.Database, answers: list[dict[str, Any]], window: float
) -> dict[int, str]:
    """For each answer turn of `answers` (rows of `failed_turns`), the other topic the citizen
    picked by a button (`#topic:`, `#section:`) within `window` seconds after it, if any: after
    👎 the bot offers the other close topics, and the one picked is what was meant."""
    asked = [[r["turn_id"], r["at"], r["user_id"], r["topic"]] for r in answers]
    rows = db.query(
        "WITH asked AS (SELECT json_extract(value, '$[0]') AS turn_id, "
        "json_extract(value, '$[1]') AS at, json_extract(value, '$[2]') AS user_id, "
        "json_extract(value, '$[3]') AS topic FROM json_each(?)) "
        "SELECT a.turn_id, (SELECT t.topic FROM turns t "
        "JOIN inbound_events e ON e.id = t.inbound_id "
        "WHERE t.at > a.at AND t.at <= a.at + ? AND t.user_id = a.user_id "
        "AND t.kind = 'answer' AND t.topic IS NOT NULL AND t.topic != coalesce(a.topic, '') "
        "AND (e.text LIKE '#topic:%' OR e.text LIKE '#section:%') "
        "ORDER BY t.at LIMIT 1) AS picked FROM asked a",
        [json.dumps(asked), window],
    )
    return {r["turn_id"]: r["picked"] for r in rows if r["picked"] is not None}


def turn_texts(db: sqlite_utils.Database, turn_ids: list[int]) -> list[dict[str, Any]]:
    """The turns `turn_ids` with the citizen's text, user and triage status."""
    return list(
        db.query(
            "SELECT t.id AS turn_id, t.user_id, t.at, t.kind, t.topic, e.text, x.status "
            "FROM turns t LEFT JOIN inbound_events e ON e.id = t.inbound_id "
            "LEFT JOIN inbox_triage x ON x.turn_id = t.id "
            "WHERE t.id IN (SELECT value FROM json_each(?)) ORDER BY t.at",
            [json.dumps(turn_ids)],
        )
    )


def triage(
    db: sqlite_utils.Database,
    turn_ids: list[int],
    status: str,
    target: str | None,
    username: str,
    now: float,
) -> int:
    """Close failed turns as assigned (to `target`), out of scope or ignored; return how many."""
    changed = 0
    for turn_id in turn_ids:
        cursor = db.execute(
            "INSERT INTO inbox_triage (turn_id, status, target, username, at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(turn_id) DO NOTHING",
            [turn_id, status, target, username, now],
        )
        changed += cursor.rowcount
    return changed


def conversation_around(
    db: sqlite_utils.Database, user_id: str, at: float, seconds: float = 1800
) -> list[dict[str, Any]]:
    """Citizen messages, bot replies and staff messages near `at`, in order; each bot reply
    carries the turn it answered (`turn_id`, `kind`, `topic`; `first` on its first part)."""
    lo, hi = at - seconds, at + seconds
    messages, turns = [], {}
    for inbound, when, name, text, turn_id, kind, topic in db.execute(
        "SELECT e.id, e.received_at, e.event_name, e.text, t.id, t.kind, t.topic "
        "FROM inbound_events e LEFT JOIN turns t ON t.inbound_id = e.id "
        "WHERE e.user_id = ? AND e.received_at BETWEEN ? AND ? AND e.text IS NOT NULL",
        [user_id, lo, hi],
    ).fetchall():
        who = "oa" if name.startswith("oa_send_") else "citizen"
        messages.append({"at": when, "who": who, "text": text, "turn_id": turn_id})
        turns[str(inbound)] = {"turn_id": turn_id, "kind": kind, "topic": topic}
    seen = set()
    for when, payload, source_id in db.execute(
        "SELECT created_at, payload, source_id FROM outbox WHERE user_id = ? AND source = 'reply' "
        "AND created_at BETWEEN ? AND ? ORDER BY id",
        [user_id, lo, hi],
    ).fetchall():
        try:
            text = json.loads(payload).get("text", "")
        except (ValueError, AttributeError):
            text = ""
        answered = turns.get(source_id, {"turn_id": None, "kind": None, "topic": None})
        first = source_id not in seen
        seen.add(source_id)
        messages.append({"at": when, "who": "bot", "text": text, "first": first, **answered})
    order = {"citizen": 0, "bot": 1, "oa": 2}
    messages.sort(key=lambda m: (m["at"], order[m["who"]]))
    return messages


def add_flag(
    db: sqlite_utils.Database,
    turn_id: int,
    topic: str | None,
    reason: str,
    note: str,
    username: str,
    now: float,
) -> int:
    """Record that staff judged the bot's answer of `turn_id` wrong, outdated or incomplete."""
    cursor = db.execute(
        "INSERT INTO answer_flags (turn_id, topic, reason, note, username, at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [turn_id, topic, reason, note, username, now],
    )
    return int(cursor.lastrowid)


def open_flags(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Open flags with the citizen's question, by topic then newest first."""
    return list(
        db.query(
            "SELECT f.*, e.text, t.section FROM answer_flags f "
            "LEFT JOIN turns t ON t.id = f.turn_id "
            "LEFT JOIN inbound_events e ON e.id = t.inbound_id "
            "WHERE f.status = 'open' ORDER BY f.topic, f.at DESC"
        )
    )


def close_flag(db: sqlite_utils.Database, flag_id: int) -> int:
    """Mark a flag as dealt with."""
    return db.execute(
        "UPDATE answer_flags SET status = 'done' WHERE id = ? AND status = 'open'", [flag_id]
    ).rowcount


def add_suggestion(db: sqlite_utils.Database, item: dict[str, Any], now: float) -> int:
    """Store a draft phrasing or FAQ entry for an editor to review; return its id."""
    cursor = db.execute(
        "INSERT INTO kb_suggestions (kind, topic, question, phrasings, answer, faq, source, "
        "source_ids, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            item["kind"],
            item["topic"],
            item["question"],
            json.dumps(item.get("phrasings", []), ensure_ascii=False),
            item.get("answer", ""),
            item.get("faq"),
            item["source"],
            json.dumps(item.get("source_ids", [])),
            item.get("created_by"),
            now,
        ],
    )
    return int(cursor.lastrowid)


def _suggestion(row: dict[str, Any]) -> dict[str, Any]:
    row["phrasings"] = json.loads(row["phrasings"])
    row["source_ids"] = json.loads(row["source_ids"])
    return row


def get_suggestion(db: sqlite_utils.Database, item_id: int) -> dict[str, Any] | None:
    """One suggestion, or None."""
    rows = list(db.query("SELECT * FROM kb_suggestions WHERE id = ?", [item_id]))
    return _suggestion(rows[0]) if rows else None


def suggestions(db: sqlite_utils.Database, status: str = "draft") -> list[dict[str, Any]]:
    """Suggestions in `status`, newest first."""
    rows = db.query(
        "SELECT * FROM kb_suggestions WHERE status = ? ORDER BY id DESC LIMIT 200", [status]
    )
    return [_suggestion(row) for row in rows]


def update_suggestion(db: sqlite_utils.Database, item_id: int, fields: dict[str, Any]) -> None:
    """Change a draft's texts, or decide it (`status`, `decided_by`, `decided_at`)."""
    values = {
        k: json.dumps(v, ensure_ascii=False) if isinstance(v, list) else v
        for k, v in fields.items()
    }
    assignments = ", ".join(f"{k} = ?" for k in values)
    db.execute(f"UPDATE kb_suggestions SET {assignments} WHERE id = ?", [*values.values(), item_id])


def staff_replies(
    db: sqlite_utils.Database, limit: int = 50, event_id: int | None = None
) -> list[dict[str, Any]]:
    """Recent staff messages to citizens (or only `event_id`), each with the question it
    answers: the citizen's last message before it within the hour, passing over a message that
    was handed to staff ("cho tôi gặp cán bộ") when an earlier one asked something."""
    return list(
        db.query(
            "SELECT s.id, s.user_id, s.received_at AS at, s.text AS answer, "
            "(SELECT q.text FROM inbound_events q LEFT JOIN turns t ON t.inbound_id = q.id "
            " WHERE q.user_id = s.user_id AND q.event_name = 'user_send_text' "
            " AND q.received_at <= s.received_at AND q.received_at > s.received_at - 3600 "
            " AND q.text IS NOT NULL "
            " ORDER BY (t.kind IS 'handover') ASC, q.received_at DESC "
            " LIMIT 1) AS question "
            "FROM inbound_events s WHERE s.event_name = 'oa_send_text' AND s.text IS NOT NULL "
            "AND (? IS NULL OR s.id = ?) ORDER BY s.received_at DESC LIMIT ?",
            [event_id, event_id, limit],
        )
    )


def last_topic(db: sqlite_utils.Database, user_id: str, before: float) -> str | None:
    """The topic the bot last answered this citizen about before `before`, or None."""
    row = db.execute(
        "SELECT topic FROM turns WHERE user_id = ? AND at <= ? AND topic IS NOT NULL "
        "ORDER BY at DESC LIMIT 1",
        [user_id, before],
    ).fetchone()
    return row[0] if row else None


def staff_reply(db: sqlite_utils.Database, event_id: int) -> dict[str, Any] | None:
    """One staff message (with the citizen's question before it), or None."""
    for row in staff_replies(db, 1, event_id):
        return row
    return None
