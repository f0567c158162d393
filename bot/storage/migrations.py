"""Every schema change of the database, in the one order they run, each under its own name.

The statements live beside the SQL of their table family (`core`: users, events,
conversations, turns, outbox queue, tokens, locks; `outbox`: delivery; `outreach`: broadcasts,
dossiers, followers; `admin`: the console; `inbox`: the turn worker's claims; `kbstate`: the
answering knowledge base's reported state). A migration that touches another family's table says
so in its name. Names never change once shipped: the database records which ones it has
(`migrations` table). Databases made before the names recorded a version per area
(`schema_migrations`); those versions are read once as names.

After adding a migration, refresh the schema snapshot the tests compare against:
`.venv/bin/python -m bot.storage.schema > tests/fixtures/schema.sql`.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

from bot.storage import admin, core, inbox, kbstate, outbox, outreach

Step = str | Callable[[sqlite_utils.Database], None]

MIGRATIONS: tuple[tuple[str, Step], ...] = (
    ("core-1", core.MIGRATIONS[0]),  # users, events, conversations, turns, outbox, tokens...
    ("core-2", core.MIGRATIONS[1]),  # console login throttling
    ("outbox-1", outbox.MIGRATIONS[0]),  # leases, parts sent, message ids; tokens.seed_hash
    ("outbox-2", outbox.MIGRATIONS[1]),  # first attempt, doubt; tokens.rejected_refreshes
    ("outreach-1", outreach.MIGRATIONS[0]),  # broadcasts, dossiers, followers, news
    ("admin-1", admin.MIGRATIONS[0]),  # accounts, sessions, audit
    ("admin-2", admin.MIGRATIONS[1]),  # dashboard indexes on turns and outbox
    ("admin-3", admin.MIGRATIONS[2]),  # turns.faq (a core table)
    ("admin-4", admin.MIGRATIONS[3]),  # inbox triage, answer flags, knowledge suggestions
    ("inbox-1", inbox.MIGRATIONS[0]),  # inbound_events: pending events and their claims
    ("kbstate-1", kbstate.MIGRATIONS[0]),  # kb_state: the answering knowledge base, reported
)
"""The migrations in the order they run on a new database."""

LEGACY_AREAS = ("core", "outbox", "outreach", "admin")
"""Areas whose per-area versions older databases recorded; version n of area a is "a-n"."""
