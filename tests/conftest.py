"""Shared pytest plugins: each area registers its fixture module here."""

pytest_plugins = ["tests.fixtures_zalo"]
