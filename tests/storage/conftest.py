"""Fixtures for the storage backends: the story projected on each (the PostgreSQL server comes from tests/conftest.py)."""

from __future__ import annotations

from tests.storage.worlds import pg_world, pg_world_shared, sqlite_world  # noqa: F401  (fixtures)
