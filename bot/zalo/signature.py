"""Webhook signatures: `X-ZEvent-Signature` = "mac=" + SHA-256(app id + raw body + timestamp +
OA secret key), a plain hash, not HMAC (zalo-oa.md §1)."""

from __future__ import annotations

import hashlib
import hmac
import logging

from bot.config import ZaloConfig

logger = logging.getLogger(__name__)


def sign(app_id: str, raw: bytes, timestamp: str, secret: str) -> str:
    """Hex SHA-256 of app_id + raw body + timestamp + OA secret (plain hash, not HMAC)."""
    data = app_id.encode() + raw + timestamp.encode() + secret.encode()
    return hashlib.sha256(data).hexdigest()


def verify_signature(header: str | None, raw: bytes, timestamp: str, config: ZaloConfig) -> bool:
    """True when `X-ZEvent-Signature` matches the app id (or, if allowed, the OA id) as first term.

    Comparisons are constant-time and both candidates are always computed. Which one matched is
    logged, so the open question (app id vs OA id) can be settled from real traffic.
    """
    if not header or not config.oa_secret_key or not config.app_id:
        return False
    given = header.strip()
    if given[:4].lower() == "mac=":
        given = given[4:]
    given_bytes = given.strip().lower().encode("utf-8", "replace")
    expected_app = sign(config.app_id, raw, timestamp, config.oa_secret_key).encode()
    by_app = hmac.compare_digest(given_bytes, expected_app)
    by_oa = False
    if config.signature_try_oa_id and config.oa_id:
        expected_oa = sign(config.oa_id, raw, timestamp, config.oa_secret_key).encode()
        by_oa = hmac.compare_digest(given_bytes, expected_oa)
    if by_app:
        logger.debug("webhook signature matched with the app id")
        return True
    if by_oa:
        logger.warning("webhook signature matched with the OA id as first term (fallback)")
        return True
    return False
