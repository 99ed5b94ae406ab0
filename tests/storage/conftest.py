"""Fixtures for the storage backends: the session's private PostgreSQL server (tests/pg.py)."""

from __future__ import annotations

import pytest

from tests import pg
from tests.pg import pg_conn, pg_empty_url, pg_server, pg_url  # noqa: F401  (fixtures)
from tests.storage.worlds import pg_world, pg_world_shared, sqlite_world  # noqa: F401  (fixtures)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Report what the PostgreSQL harness cost: server start, template, per-test database."""
    line = pg.timing_report(pg.STARTED[0] if pg.STARTED else None)
    if line is not None:
        terminalreporter.write_line(line)
