"""Broadcasts: what staff create, approve and cancel, and the restart-safe dispatch to the outbox.

A broadcast is dispatched in two steps, each one transaction. Starting it fixes its recipients:
one `broadcast_deliveries` row per user ('planned'). Handing over then takes planned rows in
batches, picks each recipient's channel (`audience.route`), queues an outbox row under the unique
key `bc:<id>:<user>` and marks the delivery 'queued' or 'unreachable' (with the reason) in the
same transaction. A crash loses at most an uncommitted batch, which is simply handed over again;
the unique key means nobody gets a second copy and the planned rows mean nobody is skipped.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import sqlite_utils

from bot.config import Config, ZaloConfig
from bot.dialogue.messages import Reply
from bot.outreach.audience import OutreachError, parse_audience, route
from bot.outreach.clock import Moment, epoch, in_quiet_hours, parse_send_time
from bot.storage import broadcasts as store
from bot.storage import transaction

logger = logging.getLogger(__name__)

STATE_NAMES = {
    "draft": "nháp chờ duyệt",
    "scheduled": "đã hẹn giờ",
    "sending": "đang gửi",
    "done": "đã gửi xong",
    "cancelled": "đã hủy",
}
"""Each state as staff read it inside a sentence."""
TEXT_MAX = 2000
SOURCE = "broadcast"
LINK_TITLE = "Xem chi tiết"
"""The label of a link button when staff gave none."""


def _check_url(url: str | None, what: str) -> str | None:
    """The URL stripped, or None; raise OutreachError naming `what` unless it is http(s)."""
    if not url:
        return None
    url = url.strip()
    if not url.startswith(("https://", "http://")) or " " in url:
        raise OutreachError(f"{what} “{url}” phải là địa chỉ bắt đầu bằng https:// hoặc http://.")
    return url


def create_broadcast(
    db: sqlite_utils.Database,
    config: Config,
    text: str,
    audience: str,
    at: str | Moment | None,
    now: Moment,
    link_url: str | None = None,
    link_title: str | None = None,
    image_url: str | None = None,
    draft: bool = False,
    source: str = "manual",
) -> dict[str, Any]:
    """Create a broadcast (scheduled, or a draft awaiting approval) and return it as `show` does."""
    body = (text or "").strip()
    if not body:
        raise OutreachError("Nội dung thông báo đang trống, vui lòng nhập nội dung.")
    if len(body) > TEXT_MAX:
        raise OutreachError(
            f"Nội dung thông báo dài {len(body)} ký tự, vượt quá giới hạn {TEXT_MAX} ký tự."
        )
    parsed = parse_audience(audience)
    if at is None or at == "":
        send_at = None if draft else epoch(now)
    elif isinstance(at, str):
        try:
            send_at = parse_send_time(at, now, config.outreach)
        except ValueError as exc:
            raise OutreachError(str(exc)) from None
    else:
        send_at = epoch(at)
    link = _check_url(link_url, "Đường dẫn")
    image = _check_url(image_url, "Địa chỉ ảnh")
    with transaction(db):
        broadcast_id = store.insert_broadcast(
            db,
            body,
            str(parsed),
            send_at,
            "draft" if draft else "scheduled",
            epoch(now),
            link_url=link,
            link_title=(link_title or "").strip() or None,
            image_url=image,
            source=source,
        )
    logger.info("broadcast %d created (%s, audience %s)", broadcast_id, source, parsed)
    return show_broadcast(db, broadcast_id, now)


def show_broadcast(db: sqlite_utils.Database, broadcast_id: int, now: Moment) -> dict[str, Any]:
    """One broadcast with its progress (sent, not_reachable, failed, pending, cancelled, total)."""
    row = store.get_broadcast(db, int(broadcast_id))
    if row is None:
        raise OutreachError(f"Không có thông báo số {broadcast_id}.")
    row["progress"] = store.broadcast_progress(db, row["id"])
    row["unreachable_reasons"] = store.unreachable_reasons(db, row["id"])
    return row


def list_broadcasts(db: sqlite_utils.Database, now: Moment, limit: int = 100) -> list[dict]:
    """The latest broadcasts, newest first, each with its progress counts."""
    rows = store.list_broadcasts(db, limit)
    for row in rows:
        row["progress"] = store.broadcast_progress(db, row["id"])
    return rows


def approve_broadcast(
    db: sqlite_utils.Database,
    config: Config,
    broadcast_id: int,
    now: Moment,
    at: str | Moment | None = None,
) -> dict[str, Any]:
    """Approve a draft: it is scheduled for `at` (else its own send time, else now)."""
    row = show_broadcast(db, broadcast_id, now)
    if row["state"] != "draft":
        raise OutreachError(
            f"Thông báo số {broadcast_id} đang ở trạng thái “{STATE_NAMES[row['state']]}”, "
            "chỉ bản nháp mới cần duyệt."
        )
    if isinstance(at, str):
        try:
            send_at = parse_send_time(at, now, config.outreach)
        except ValueError as exc:
            raise OutreachError(str(exc)) from None
    elif at is not None:
        send_at = epoch(at)
    else:
        send_at = row["send_at"] or epoch(now)
    with transaction(db):
        store.update_broadcast_state(db, row["id"], "scheduled", epoch(now), ["draft"], send_at)
    logger.info("broadcast %d approved", row["id"])
    return show_broadcast(db, broadcast_id, now)


def cancel_broadcast(db: sqlite_utils.Database, broadcast_id: int, now: Moment) -> dict[str, Any]:
    """Cancel a draft, scheduled or sending broadcast; queued rows not yet picked up are pulled."""
    row = show_broadcast(db, broadcast_id, now)
    if row["state"] in ("done", "cancelled"):
        raise OutreachError(
            f"Thông báo số {broadcast_id} đã ở trạng thái “{STATE_NAMES[row['state']]}”, "
            "không hủy được nữa."
        )
    with transaction(db):
        store.update_broadcast_state(
            db, row["id"], "cancelled", epoch(now), ["draft", "scheduled", "sending"]
        )
        pulled = store.cancel_planned(db, row["id"], epoch(now))
    logger.info("broadcast %d cancelled (%d recipients not sent)", row["id"], pulled)
    return show_broadcast(db, broadcast_id, now)


def payload_for(row: dict[str, Any], channel: str, zalo: ZaloConfig) -> dict[str, Any]:
    """The outbox payload of a broadcast for one channel (same for every recipient)."""
    text = row["text"]
    if channel == "template":
        data = {"noi_dung": text[:400]}
        if row.get("link_url"):
            data["duong_dan"] = row["link_url"]
        return {"template_id": zalo.template_id, "template_data": data}
    payload = Reply(text).to_json()
    if row.get("link_url"):
        # A link button (`oa.open.url`); the outbox writes it as a line when buttons are off.
        title = row.get("link_title") or LINK_TITLE
        payload["buttons"] = [{"title": title, "url": row["link_url"]}]
    if row.get("image_url"):
        payload["image_url"] = row["image_url"]  # sent as the image, the text its caption
    return payload


class Dispatcher:
    """Hands due broadcasts to the outbox at a throttled rate, backing off on rate-limit errors.

    The rate is a token bucket refilled at `rate_per_minute` (0 = unthrottled) and holding a few
    seconds of sends. When Zalo answers -32 (rows waiting in the outbox with that error), hand-over
    pauses (5 s, doubling up to 2 minutes) and the rate halves; it recovers by a tenth per clean
    tick. Quiet hours postpone every hand-over. State lives in the database except this pacing.
    """

    def __init__(self, config: Config, batch_size: int = 1000, burst_seconds: float = 5.0) -> None:
        """Pacing starts full; `batch_size` rows go per transaction."""
        self.config = config
        self.batch_size = batch_size
        self.burst_seconds = burst_seconds
        self.factor = 1.0
        self.tokens = 0.0
        self.refilled_at: float | None = None
        self.paused_until = 0.0
        self.backoff = 0.0

    def _budget(self, now: float) -> float:
        """How many rows may be handed over now (refilling the bucket)."""
        per_second = self.config.outreach.rate_per_minute / 60 * self.factor
        if per_second <= 0:
            return float("inf")
        capacity = max(1.0, per_second * self.burst_seconds)
        if self.refilled_at is None:
            self.tokens = capacity
        else:
            self.tokens = min(capacity, self.tokens + (now - self.refilled_at) * per_second)
        self.refilled_at = now
        return self.tokens

    def _rate_limited(self, db: sqlite_utils.Database, now: float) -> bool:
        """Pause and slow down while outbox rows wait after a -32; True while paused."""
        if now < self.paused_until:
            return True
        if store.count_rate_limited(db, SOURCE):
            self.backoff = min(120.0, self.backoff * 2 if self.backoff else 5.0)
            self.paused_until = now + self.backoff
            self.factor = max(0.05, self.factor / 2)
            logger.warning(
                "broadcasts: Zalo rate limit, pausing %.0f s at %.0f%% of the rate",
                self.backoff,
                self.factor * 100,
            )
            return True
        self.backoff = 0.0
        self.factor = min(1.0, self.factor + 0.1)
        return False

    def tick(self, db: sqlite_utils.Database, now: Moment) -> int:
        """One pass: start due broadcasts, hand over what the rate allows; return rows handed."""
        ts = epoch(now)
        if in_quiet_hours(ts, self.config.outreach) or self._rate_limited(db, ts):
            return 0
        budget = self._budget(ts)
        handed = 0
        for row in store.due_broadcasts(db, ts):
            try:
                handed += self._advance(db, row, budget - handed, ts)
            except Exception:  # one broken broadcast must not hold up the others
                logger.exception("broadcast %d: dispatch failed; retried next tick", row["id"])
        if budget != float("inf"):
            self.tokens = max(0.0, self.tokens - handed)
        return handed

    def _advance(
        self, db: sqlite_utils.Database, row: dict[str, Any], budget: float, now: float
    ) -> int:
        """Start one broadcast if due, hand over up to `budget` rows, finish it if done."""
        if row["state"] == "scheduled" and not self._start(db, row, now):
            return 0
        handed = 0
        while budget - handed >= 1:
            count = self._hand_over(db, row, int(min(self.batch_size, budget - handed)), now)
            if not count:
                break
            handed += count
        if self.config.zalo.template_id and budget - handed >= 1:
            handed += self._retry_as_template(db, row, int(min(1000, budget - handed)), now)
        self._finish_if_done(db, row["id"], now)
        return handed

    def _start(self, db: sqlite_utils.Database, row: dict[str, Any], now: float) -> bool:
        """Fix the recipients and mark the broadcast sending (one transaction)."""
        audience = parse_audience(row["audience"])
        with transaction(db):
            if not store.update_broadcast_state(db, row["id"], "sending", now, ["scheduled"]):
                return False
            total = store.snapshot_audience(db, row["id"], audience.kind, audience.value, now)
        logger.info("broadcast %d: sending to %d recipients", row["id"], total)
        return True

    def _hand_over(
        self, db: sqlite_utils.Database, row: dict[str, Any], limit: int, now: float
    ) -> int:
        """Queue one batch of planned recipients (one transaction); return how many."""
        zalo = self.config.zalo
        payloads: dict[str, str] = {}
        queued, marks = [], []
        with transaction(db):
            batch = store.planned_batch(db, row["id"], limit)
            for user_id, follow_state, last in batch:
                way = route(follow_state, last, now, zalo)
                if way.channel is None:
                    marks.append(("unreachable", None, way.reason, None, now, user_id))
                    continue
                if way.channel not in payloads:
                    payloads[way.channel] = json.dumps(
                        payload_for(row, way.channel, zalo), ensure_ascii=False
                    )
                key = f"bc:{row['id']}:{user_id}"
                queued.append(
                    (
                        key,
                        user_id,
                        way.channel,
                        payloads[way.channel],
                        SOURCE,
                        str(row["id"]),
                        now,
                        now,
                    )
                )
                marks.append(("queued", way.channel, None, key, now, user_id))
            store.enqueue_many(db, queued)
            store.mark_deliveries(db, row["id"], marks)
        return len(batch)

    def _retry_as_template(
        self, db: sqlite_utils.Database, row: dict[str, Any], limit: int, now: float
    ) -> int:
        """Send the template to recipients Zalo refused a consultation message (-230/-232).

        Our last-interaction time can be stale (not every interaction reaches the webhook);
        the template goes under its own unique key, so it too is sent at most once.
        """
        payload = json.dumps(payload_for(row, "template", self.config.zalo), ensure_ascii=False)
        with transaction(db):
            users = store.template_fallbacks(db, row["id"], limit)
            keys = [(f"bc:{row['id']}:{user}:template", user) for user in users]
            store.enqueue_many(
                db,
                [
                    (key, user, "template", payload, SOURCE, str(row["id"]), now, now)
                    for key, user in keys
                ],
            )
            store.mark_deliveries(
                db, row["id"], [("queued", "template", None, key, now, user) for key, user in keys]
            )
        return len(users)

    def _finish_if_done(self, db: sqlite_utils.Database, broadcast_id: int, now: float) -> None:
        """Mark a broadcast done once every recipient is handed over and has a final outcome."""
        if store.count_planned(db, broadcast_id):
            return
        if store.count_open_outbox(db, SOURCE, str(broadcast_id)):
            return
        if self.config.zalo.template_id and store.template_fallbacks(db, broadcast_id, 1):
            return
        with transaction(db):
            if store.update_broadcast_state(db, broadcast_id, "done", now, ["sending"]):
                logger.info("broadcast %d done", broadcast_id)
