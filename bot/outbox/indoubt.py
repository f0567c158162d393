"""In-doubt parts: settling from the citizen's Zalo conversation whether a send went out.

A part is in doubt when Zalo may have sent it without our knowing: the send timed out or lost
its connection after the request was written (`ZaloError.in_doubt`), or the sender holding the
row died (the row was taken over). Consultation messages have no idempotency key, so a part in
doubt is never simply sent again. Before anything else goes out for the row, the sender reads
the conversation (`/v2.0/oa/conversation`, newest first, paged back to the row's first attempt)
with a timeout of its own, longer than a send's, and looks for the OA's message with the part's
exact text that our outbox has not recorded:
- found: the part is recorded as sent under Zalo's id;
- not found, in a history read at least `settle_seconds` after the doubtful attempt (so a send
  Zalo was still carrying out has had time to show): it did not go out and is sent again;
- history unavailable, or too early to trust an absence: the row waits (backing off) and asks
  again; after `PATIENCE_SECONDS` it ends 'failed' for staff, and is still not resent.
Template messages cannot be matched in the history, so one in doubt ends 'failed' at once.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from bot.config import Config
from bot.storage import outbox as store
from bot.zalo.client import ZaloClient, ZaloError

logger = logging.getLogger(__name__)

HISTORY_MARGIN_SECONDS = 60.0
"""Clock skew allowed between us and Zalo when comparing message times with our attempts."""
PAGE = 10
"""Messages per history request (Zalo's maximum)."""
MAX_PAGES = 5
"""How far back a search goes (50 messages); a longer window leaves the doubt unsettled."""
PATIENCE_SECONDS = 6 * 3600.0
"""How long an unsettled doubt may last before the row ends 'failed' (still not resent)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a history check found: `kind` is found, absent, unknown or given_up."""

    kind: str
    message_id: str = ""
    reason: str = ""


def lookup_timeout(config: Config) -> float:
    """The patience of one history request: three times a send's timeout."""
    return 3 * config.zalo.timeout_seconds


def settle_seconds(config: Config) -> float:
    """How long after a doubtful attempt an absence from the history is believed."""
    return 2 * config.zalo.timeout_seconds


def resolve(
    db: sqlite_utils.Database,
    client: ZaloClient,
    config: Config,
    row: dict[str, Any],
    text: str,
    since: float,
    now: float,
) -> Verdict:
    """Settle whether the in-doubt part `text` of `row` (in doubt since `since`) went out."""
    if row["channel"] != "cs":
        return Verdict("given_up", reason="in doubt: a template cannot be found in the history")
    if now - since > PATIENCE_SECONDS:
        hours = PATIENCE_SECONDS / 3600
        return Verdict("given_up", reason=f"in doubt: not settled from the history in {hours:g} h")
    window_start = (row["first_attempt_at"] or since) - HISTORY_MARGIN_SECONDS
    try:
        found, complete = search(db, client, row["user_id"], text, window_start, config)
    except ZaloError as exc:
        return Verdict("unknown", reason=f"in doubt: history unavailable ({exc})")
    if found:
        return Verdict("found", message_id=found)
    if not complete:
        return Verdict("unknown", reason="in doubt: too many messages since the first attempt")
    if now < since + settle_seconds(config):
        return Verdict("unknown", reason="in doubt: not in the history yet")
    return Verdict("absent")


def search(
    db: sqlite_utils.Database,
    client: ZaloClient,
    user_id: str,
    text: str,
    window_start: float,
    config: Config,
) -> tuple[str | None, bool]:
    """Zalo's id of an OA message `text` to `user_id` since `window_start` that is not ours yet.

    Returns (id or None, whether the whole window was read). Messages our outbox already
    recorded do not count (the same text sent earlier, or an earlier part).
    """
    wanted = unicodedata.normalize("NFC", text).strip()
    since_ms = window_start * 1000
    timeout = lookup_timeout(config)
    for page in range(MAX_PAGES):
        messages = client.recent_messages(user_id, PAGE, page * PAGE, timeout=timeout)
        for message in messages:
            message_id = str(message.get("message_id", ""))
            if (
                message.get("src") == 0
                and _time_ms(message) >= since_ms
                and unicodedata.normalize("NFC", str(message.get("message", ""))).strip() == wanted
                and not store.is_own_message(db, message_id)
            ):
                return message_id, True
        if len(messages) < PAGE or any(_time_ms(m) < since_ms for m in messages):
            return None, True
    return None, False


def _time_ms(message: dict[str, Any]) -> float:
    """A history message's time in epoch milliseconds (0 when missing or malformed)."""
    try:
        return float(message.get("time") or 0)
    except (TypeError, ValueError):
        return 0.0
