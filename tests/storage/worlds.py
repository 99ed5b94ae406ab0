"""The story of tests/storage/story.py projected by the engine's own handlers on SQLite and on PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import engine.projection  # noqa: F401  (registers every handler)
from engine import store
from engine.projection import apply_new
from engine.storage import pg_conn
from engine.storage.pg_conn import PgConnection
from engine.storage.sqlite import configure, migrate, transaction
from engine.store import Stamp
from tests.pg import TEMPLATE, PgServer
from tests.storage.story import build_story


def project_story(conn: Any, backend_store: Any, begin: Callable[[Any], Any]) -> list[int]:
    """Append every story event and project it with the engine's handlers, one transaction each; return the seqs."""
    seqs: list[int] = []
    for new in build_story().events:
        stream = new.payload.stream()
        with begin(conn):
            recorded = backend_store.append(conn, stream, backend_store.stream_version(conn, stream), [new],
                                            stamp=Stamp(f"2026-01-01T00:00:{len(seqs) % 60:02d}"))
            apply_new(conn, recorded)
        seqs += [r.seq for r in recorded]
    return seqs


def project_on_postgres(conn: PgConnection) -> None:
    """The story on a migrated PostgreSQL database, seq n for the n-th event."""
    assert project_story(conn, store, pg_conn.write_transaction) == list(range(1, len(build_story().events) + 1))


@pytest.fixture(scope="module")
def sqlite_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    """The story projected on SQLite by engine.store and the handlers (read only)."""
    conn = sqlite3.connect(tmp_path_factory.mktemp("world") / "chronicle.db")
    configure(conn)
    migrate(conn)
    assert project_story(conn, store, transaction) == list(range(1, len(build_story().events) + 1))
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def pg_world_shared(pg_server: PgServer) -> Iterator[PgConnection]:
    """The same story projected on PostgreSQL by the same event store and handlers (read only)."""
    name = pg_server.create_database(template=TEMPLATE)
    with PgConnection.connect(pg_server.url(name)) as conn:
        project_on_postgres(conn)
        yield conn
    pg_server.drop_database(name)


@pytest.fixture
def pg_world(pg_conn: PgConnection) -> PgConnection:
    """The story projected on a PostgreSQL database of this test's own (to change it)."""
    project_on_postgres(pg_conn)
    return pg_conn
