"""OAuth v4 tokens: seeding, single-use refresh tokens persisted first, single-flight refresh."""

from __future__ import annotations

import dataclasses
import threading
import time

import pytest

from bot import storage
from bot.storage import core
from bot.storage import outbox as store
from bot.zalo.client import TokenError
from bot.zalo.tokens import LOCK_NAME, REJECTED_PAUSE_SECONDS, TokenRefreshError, TokenStore
from tests.fixtures_zalo import FIRST_REFRESH_TOKEN

NOW = 1_800_000_000.0


def test_first_use_seeds_the_configured_refresh_token_and_refreshes(tokens, db, sim):
    token = tokens.access_token(NOW)
    row = store.get_tokens(db)
    assert sim.state.token_valid(token)
    assert row["access_token"] == token
    assert row["refresh_token"] == sim.refresh_token != FIRST_REFRESH_TOKEN
    assert row["expires_at"] == NOW + 90000
    assert sim.refresh_count == 1


def test_stored_token_is_reused_until_due(tokens, sim):
    first = tokens.access_token(NOW)
    assert tokens.access_token(NOW + 3600) == first
    assert sim.refresh_count == 1


def test_token_is_refreshed_ahead_of_expiry(tokens, zalo_config, sim):
    first = tokens.access_token(NOW)
    hours = zalo_config.zalo.refresh_after_hours
    assert not tokens.refresh_if_due(NOW + hours * 3600 - 1)
    assert tokens.refresh_if_due(NOW + hours * 3600 + 1)
    assert tokens.access_token(NOW + hours * 3600 + 2) != first
    assert sim.refresh_count == 2


def test_new_pair_is_committed_before_the_token_is_returned(tokens, zalo_config, sim):
    token = tokens.access_token(NOW)
    other = storage.connect(zalo_config.storage.database)  # another connection sees it
    row = store.get_tokens(other)
    assert (row["access_token"], row["refresh_token"]) == (token, sim.refresh_token)


def test_restart_does_not_reseed_a_used_refresh_token(tokens, db, zalo_config, sim):
    tokens.access_token(NOW)
    later = TokenStore(db, zalo_config)  # same config, e.g. after a restart
    later.refresh(NOW + 10)
    assert sim.refresh_count == 2


def test_a_new_configured_refresh_token_replaces_the_stored_one(tokens, db, zalo_config, sim):
    tokens.access_token(NOW)
    reauthorised = dataclasses.replace(
        zalo_config, zalo=dataclasses.replace(zalo_config.zalo, refresh_token=sim.refresh_token)
    )
    TokenStore(db, reauthorised).refresh(NOW + 10)
    assert sim.refresh_count == 2


def test_concurrent_refreshes_with_the_same_stale_token_refresh_once(zalo_config, sim):
    # Two stores on two connections stand for two processes sharing the database file.
    stores = [
        TokenStore(storage.connect(zalo_config.storage.database), zalo_config) for _ in range(4)
    ]
    stale = stores[0].access_token(NOW)
    assert sim.refresh_count == 1
    sim.slow(0.2)  # the first refresh holds the lock while the others queue
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda s=s: results.append(s.refresh(NOW + 1, stale=stale)))
        for s in stores
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sim.refresh_count == 2
    assert len(set(results)) == 1 and results[0] != stale


def test_refused_refresh_keeps_the_stored_pair_and_pauses(tokens, db, sim):
    tokens.access_token(NOW)
    before = store.get_tokens(db)
    with sim.state.lock:
        sim.state.refresh_token = "someone-else-used-it"
    with pytest.raises(TokenRefreshError):
        tokens.refresh(NOW + 1)
    assert store.get_tokens(db) == before
    calls = sim.refresh_count
    with pytest.raises(TokenRefreshError):
        tokens.refresh(NOW + 2)  # within the pause: Zalo is not asked again
    assert sim.refresh_count == calls


def test_reusing_an_old_refresh_token_fails_at_the_simulator(tokens, db, zalo_config, sim):
    tokens.access_token(NOW)
    store.save_tokens(db, "", FIRST_REFRESH_TOKEN, NOW, NOW, NOW)  # an old value put back
    with pytest.raises(TokenRefreshError) as caught:
        TokenStore(db, zalo_config).refresh(NOW + 1)
    assert caught.value.code == -14014


def test_lock_outlives_the_http_timeout_and_is_released(tokens, db, zalo_config):
    assert tokens.lock_ttl > 2 * zalo_config.zalo.timeout_seconds
    tokens.refresh(NOW)
    assert core.acquire_lock(db, LOCK_NAME, "someone", 5, NOW + 1)


def test_refresh_waits_for_a_lock_held_elsewhere(tokens, db, sim):
    core.acquire_lock(db, LOCK_NAME, "other-process", 0.3, time.time())
    started = time.monotonic()
    tokens.refresh(time.time())
    assert time.monotonic() - started >= 0.2
    assert sim.refresh_count == 1


def test_a_token_rejected_right_after_its_refresh_is_not_refreshed_again(db, zalo_config, sim):
    from bot.outbox.delivery import deliver_due
    from bot.zalo.client import ZaloClient

    start = time.time()
    for n in range(40):
        core.enqueue(db, f"k{n}", f"u{n}", {"text": f"tin {n}"}, start)
    client = ZaloClient(zalo_config.zalo, TokenStore(db, zalo_config))
    client.tokens.access_token()
    assert sim.refresh_count == 1
    sim.fail_sends(80, -216)  # Zalo rejects the next 80 sends as if the token were invalid
    for step in range(40):
        deliver_due(db, client, zalo_config, start + step, owner="s")
    assert sorted(m["text"] for m in sim.delivered()) == sorted(f"tin {n}" for n in range(40))
    assert sim.refresh_count == 2  # one refresh for the first rejection, none for the other 79


def test_a_refresh_after_repeated_rejections_waits_longer_each_time(tokens, db, sim):
    first = tokens.access_token(NOW)
    second = tokens.refresh(NOW + 1, stale=first, rejected=True)  # a rejection: refreshed
    with pytest.raises(TokenError) as caught:
        tokens.refresh(NOW + 2, stale=second, rejected=True)  # rejected again at once
    assert caught.value.retryable and sim.refresh_count == 2
    third = tokens.refresh(NOW + 1 + REJECTED_PAUSE_SECONDS, stale=second, rejected=True)
    assert sim.refresh_count == 3
    with pytest.raises(TokenError):  # the pause doubles after each refresh that did not help
        tokens.refresh(NOW + 2 + 2 * REJECTED_PAUSE_SECONDS, stale=third, rejected=True)
    tokens.refresh(NOW + 2 + 3 * REJECTED_PAUSE_SECONDS, stale=third, rejected=True)
    assert sim.refresh_count == 4


def test_a_refresh_ahead_of_expiry_starts_the_rejection_count_afresh(tokens, zalo_config, sim):
    first = tokens.access_token(NOW)
    tokens.refresh(NOW + 1, stale=first, rejected=True)
    later = NOW + zalo_config.zalo.refresh_after_hours * 3600 + 5
    assert tokens.refresh_if_due(later)
    fresh = tokens.access_token(later)
    tokens.refresh(later + 1, stale=fresh, rejected=True)  # first rejection of a good token
    assert sim.refresh_count == 4
