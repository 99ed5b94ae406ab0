"""Shared fixtures: the real engine on each backend (a SQLite file in tmp_path, a PostgreSQL database cloned from a
migrated template), actors, and backend-neutral table dumps.

`engine` is parametrised over BACKENDS: every test that takes it runs on SQLite and on PostgreSQL. A backend
that cannot start fails the run (tests/pg.py), it is never skipped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engine import Actor, Engine
from engine.commands import AuthorCharacter, SetPersona, StartChat
from engine.projection import projector
from engine.storage import connect, is_database_url
from engine.storage.pg_conn import begin_write as pg_begin_write
from tests import pg
from tests.fakes.llm_fixtures import fake_llm  # noqa: F401  (the loopback model server fixture)
from tests.pg import pg_conn, pg_empty_url, pg_server, pg_url  # noqa: F401  (fixtures)

GUILD = "guild-1"
BACKENDS = ("sqlite", "postgres")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Report what the PostgreSQL harness cost: server start, template, per-test database."""
    line = pg.timing_report(pg.STARTED[0] if pg.STARTED else None)
    if line is not None:
        terminalreporter.write_line(line)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A fresh SQLite database file path (for tests of SQLite itself)."""
    return tmp_path / "chronicle.db"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend under test: "sqlite" or "postgres"."""
    return request.param


@pytest.fixture
def new_location(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[[], str]]:
    """Make fresh, migrated-or-empty databases of the backend under test: a file path or a PostgreSQL URL each."""
    made: list[str] = []

    def make() -> str:
        if backend == "sqlite":
            location = str(tmp_path / f"chronicle-{len(made)}.db")
        else:
            server: pg.PgServer = request.getfixturevalue("pg_server")
            location = server.url(server.create_database(template=pg.TEMPLATE))
        made.append(location)
        return location

    yield make
    if backend == "postgres":
        server = request.getfixturevalue("pg_server")
        for location in made:
            server.drop_database(location.split("/")[3].split("?")[0])


@pytest.fixture
def location(new_location: Callable[[], str]) -> str:
    """The database of this test on the backend under test."""
    return new_location()


@pytest.fixture
async def engine(location: str) -> AsyncIterator[Engine]:
    """The real engine on a migrated database of each backend."""
    eng = await Engine.open(location)
    try:
        yield eng
    finally:
        await eng.close()


@pytest.fixture
def admin() -> Actor:
    """A server admin in GUILD."""
    return Actor(user_id="admin-1", guild_id=GUILD, display_name="Ada", is_admin=True)


@pytest.fixture
def player() -> Actor:
    """A plain member of GUILD."""
    return Actor(user_id="player-1", guild_id=GUILD, display_name="Pip")


def raw_connection(location: str | Path) -> Any:
    """A plain connection to a test database (autocommit; explicit BEGIN … COMMIT), whichever backend."""
    return connect(location)


def begin_write(conn: Any) -> None:
    """Open the backend's write transaction on a raw connection (SQLite's BEGIN IMMEDIATE, or BEGIN + the log lock)."""
    if getattr(conn, "dialect", "sqlite") == "postgres":
        pg_begin_write(conn)
    else:
        conn.execute("BEGIN IMMEDIATE")


def dump_world(location: str | Path, *, chat_id: str | None = None, chat_only: bool = False) -> dict[str, list[tuple]]:
    """Every projected table's rows, sorted (one chat's rows when `chat_id` is given)."""
    conn = raw_connection(location)
    try:
        out = {}
        for table in projector.tables:
            if chat_only and not table.chat_scoped:
                continue
            sql, params = f"SELECT * FROM {table.name}", ()
            if chat_id is not None and table.chat_scoped:
                sql, params = sql + " WHERE chat_id = ?", (chat_id,)
            out[table.name] = sorted((tuple(row) for row in conn.execute(sql, params).fetchall()), key=repr)
        return out
    finally:
        conn.close()


def count_events(location: str | Path) -> int:
    """How many events the log holds."""
    conn = raw_connection(location)
    try:
        return conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    finally:
        conn.close()


def is_postgres(location: str | Path) -> bool:
    """Whether a test database is a PostgreSQL URL."""
    return is_database_url(location)


async def story(engine: Engine, admin: Actor, channel: str = "chan-1", *, guest: bool = True) -> str:
    """A small story: two characters, a persona, a chat with a scene; returns the chat id."""
    if await engine.reads.find_chat(channel) is None:
        names = {c.name for c in await engine.reads.list_characters(admin.guild_id)}
        if "Aria" not in names:
            await engine.perform(AuthorCharacter(actor=admin, name="Aria", description="A wandering bard."))
        if "Bram" not in names:
            await engine.perform(AuthorCharacter(actor=admin, name="Bram", description="A quiet smith."))
        await engine.perform(SetPersona(actor=admin, name="Wren", description="A traveller."))
        await engine.perform(StartChat(actor=admin, channel_id=channel, character="Aria", guest="Bram" if guest else None, place="Tavern"))
    chat = await engine.reads.get_chat(channel)
    return chat.chat_id
