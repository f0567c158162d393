"""OAuth v4 access tokens: stored in SQLite, refreshed single-flight across processes.

Zalo's refresh token is single-use: each refresh returns a new pair and kills the old refresh
token, so two concurrent refreshes lose the grant. Hence:
- a refresh runs behind the SQLite lock 'zalo-token-refresh', whose TTL is longer than the HTTP
  call can take, and the stored pair is re-read after taking the lock (another process may have
  refreshed meanwhile: then its token is used and no second refresh happens);
- the new pair is committed in one write before the new access token is used or returned;
- a failed refresh is logged with Zalo's whole (masked) answer and not retried for a minute;
- a refresh because Zalo rejected the token (-216/-220/-124) is throttled: when the token it
  would replace came itself from such a refresh and was rejected again, refreshing cannot be
  what helps (a revoked grant, a console problem, a fault at Zalo), so no new refresh happens
  before `REJECTED_PAUSE_SECONDS` (doubling after each refresh that did not help, up to an
  hour); meanwhile callers get a retryable `TokenError` and messages back off. The count lives
  in the stored row, so every process honours it.
The configured refresh token seeds the store once; later it is only the stored one that counts.
The one unrecoverable case: the process dies after Zalo issued the new pair and before our
commit (one round trip): the old refresh token is dead and the new one unknown, so an
administrator must authorise again and put the new refresh token in the configuration (a
configured token different from the one seeded before replaces the stored pair).
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
import uuid
from typing import Any

import requests
import sqlite_utils

from bot.config import Config, ZaloConfig
from bot.logs import mask
from bot.storage import core, transaction
from bot.storage import outbox as store
from bot.zalo.client import TOKEN_PATH, RetryableError, TokenError, ZaloError, make_session

logger = logging.getLogger(__name__)

LOCK_NAME = "zalo-token-refresh"
FAILURE_PAUSE_SECONDS = 60.0
EXPIRY_MARGIN_SECONDS = 300.0
REJECTED_PAUSE_SECONDS = 60.0
"""Least time between two refreshes of which the second is for a just-refreshed token."""
REJECTED_PAUSE_MAX_SECONDS = 3600.0


class TokenRefreshError(ZaloError):
    """Zalo refused the refresh (or there is no refresh token): a person must re-authorise.

    It is retryable for queued messages, which wait (with backoff) until the grant is fixed.
    """

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code, message, retryable=True, action="human")


class TokenStore:
    """The OA access token for API calls, refreshed ahead of expiry and on demand."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        config: Config | ZaloConfig,
        session: requests.Session | None = None,
    ) -> None:
        self.db = db
        self.zalo: ZaloConfig = config.zalo if isinstance(config, Config) else config
        self.session = session or make_session(self.zalo.oauth_base_url)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lock_ttl = 2 * self.zalo.timeout_seconds + 15
        self._mutex = threading.RLock()
        self._failed_at: float | None = None
        self._seeded = False

    def _seed(self, now: float) -> None:
        """Store the configured refresh token the first time this store sees it."""
        if self._seeded or not self.zalo.refresh_token:
            return
        digest = hashlib.sha256(self.zalo.refresh_token.encode()).hexdigest()
        if store.seed_refresh_token(self.db, self.zalo.refresh_token, digest, now):
            logger.info("seeded the refresh token from the configuration")
        self._seeded = True

    def current(self, now: float | None = None) -> dict[str, Any] | None:
        """The stored token row (after seeding from the configuration)."""
        now = time.time() if now is None else now
        with self._mutex:
            self._seed(now)
            return store.get_tokens(self.db)

    def is_due(self, row: dict[str, Any] | None, now: float) -> bool:
        """True when there is no usable access token or it is old enough to refresh ahead."""
        if not row or not row.get("access_token"):
            return True
        if row.get("expires_at") is not None and now >= row["expires_at"] - EXPIRY_MARGIN_SECONDS:
            return True
        issued = row.get("issued_at")
        return issued is not None and now >= issued + self.zalo.refresh_after_hours * 3600

    def access_token(self, now: float | None = None) -> str:
        """A valid access token, refreshing first when there is none or it has expired.

        A token that is merely due for its ahead-of-time refresh is refreshed here too, but
        if that refresh fails the still-valid token is used.
        """
        now = time.time() if now is None else now
        row = self.current(now)
        if not self.is_due(row, now):
            return row["access_token"]
        expired = not row or not row.get("access_token") or now >= (row.get("expires_at") or 0)
        try:
            return self.refresh(now, stale=row.get("access_token") if row else None)
        except ZaloError:
            if expired:
                raise
            return row["access_token"]

    def refresh_if_due(self, now: float | None = None) -> bool:
        """Refresh when the token is due (scheduler job); True if a refresh happened here."""
        now = time.time() if now is None else now
        row = self.current(now)
        if not self.is_due(row, now):
            return False
        before = row.get("access_token") if row else None
        return self.refresh(now, stale=before) != before

    def refresh(
        self, now: float | None = None, stale: str | None = None, rejected: bool = False
    ) -> str:
        """Get a new token pair and return the access token.

        With `stale` (the token a caller saw rejected or due), nothing is done when the stored
        token has changed since: another thread or process refreshed while we waited.
        `rejected` says Zalo refused `stale`; such refreshes are throttled (module docstring).
        """
        now = time.time() if now is None else now
        with self._mutex:
            if self._failed_at is not None and now - self._failed_at < FAILURE_PAUSE_SECONDS:
                raise TokenRefreshError(-14014, "token refresh failed recently; waiting")
            if rejected:
                self._rejections(self.current(now), stale, now)  # saying no needs no lock
            self._take_lock(now)
            try:
                row = self.current(now)  # re-read under the lock
                token = row.get("access_token") if row else None
                if stale is not None and token and token != stale and not self.is_due(row, now):
                    return token  # someone else refreshed while we waited
                if not row or not row.get("refresh_token"):
                    raise TokenRefreshError(-14014, "no refresh token: authorise the app again")
                rejections = self._rejections(row, stale, now) if rejected else 0
                return self._exchange(row["refresh_token"], now, rejections)
            finally:
                core.release_lock(self.db, LOCK_NAME, self.owner)

    def _rejections(self, row: dict[str, Any] | None, stale: str | None, now: float) -> int:
        """The count of refreshes-for-a-rejected-token in a row, this one included; raise a
        retryable `TokenError` while the stored token may not be refreshed again yet.

        The stored count says how many refreshes in a row were made because Zalo rejected the
        token (and did not help); the first rejection of a token is always refreshed at once.
        """
        same = bool(row and row.get("access_token") and row["access_token"] == stale)
        before = (row.get("rejected_refreshes") or 0) if same else 0
        if not before or row.get("issued_at") is None:
            return before + 1
        pause = min(REJECTED_PAUSE_MAX_SECONDS, REJECTED_PAUSE_SECONDS * 2 ** (before - 1))
        wait = row["issued_at"] + pause - now
        if wait > 0:
            message = f"token rejected again after a refresh; next refresh in {wait:.0f} s"
            raise TokenError(-216, message, True, "refresh")
        logger.error(
            "the access token was rejected %d time(s) right after a refresh; refreshing again, "
            "but the OA's authorisation may need an administrator",
            before,
        )
        return before + 1

    def _take_lock(self, now: float) -> None:
        """Wait for the cross-process refresh lock (at most its TTL)."""
        start = time.monotonic()
        while True:
            clock = now + (time.monotonic() - start)
            with transaction(self.db):
                if core.acquire_lock(self.db, LOCK_NAME, self.owner, self.lock_ttl, clock):
                    return
            if time.monotonic() - start > self.lock_ttl:
                raise RetryableError(0, "timed out waiting for the token refresh lock", True)
            time.sleep(0.05)

    def _exchange(self, refresh_token: str, now: float, rejections: int = 0) -> str:
        """Call the OAuth endpoint, persist the new pair (committed), then return the token."""
        url = self.zalo.oauth_base_url.rstrip("/") + TOKEN_PATH
        form = {
            "refresh_token": refresh_token,
            "app_id": self.zalo.app_id,
            "grant_type": "refresh_token",
        }
        try:
            response = self.session.post(
                url,
                data=form,
                headers={"secret_key": self.zalo.app_secret},
                timeout=self.zalo.timeout_seconds,
            )
            body = response.json() if response.status_code == 200 else None
        except requests.RequestException as exc:
            raise RetryableError(0, f"token refresh: {type(exc).__name__}", True) from None
        except ValueError:
            body = None
        if body is None and response.status_code >= 500:
            raise RetryableError(0, f"token refresh: HTTP {response.status_code}", True)
        if not isinstance(body, dict) or not body.get("access_token"):
            self._failed_at = now
            logger.error(
                "token refresh refused (HTTP %s): %s; an administrator may have to authorise "
                "the app again",
                response.status_code,
                mask(response.text[:1000]),
            )
            code = body.get("error") if isinstance(body, dict) else None
            raise TokenRefreshError(
                int(code) if isinstance(code, int) else -14014, "refresh refused"
            )
        access = str(body["access_token"])
        new_refresh = str(body.get("refresh_token") or refresh_token)
        try:
            lifetime = float(body.get("expires_in", 90000))
        except (TypeError, ValueError):
            lifetime = 90000.0
        store.save_tokens(self.db, access, new_refresh, now + lifetime, now, now, rejections)
        self._failed_at = None
        logger.info("refreshed the access token (valid %.0f h)", lifetime / 3600)
        return access
