"""Group commit on both backends: one transaction per group, one savepoint per command.

On PostgreSQL a failed statement aborts the whole transaction, so without the savepoints one conflicting
command would take every command of its group down with it.
"""

from __future__ import annotations

import asyncio

import pytest

from engine import store
from engine.errors import ConcurrencyConflict
from engine.storage import open_storage
from engine.storage.port import Conn
from engine.store import Stamp
from tests.storage.backends import weather

COMMANDS = 40
STALE = 7  # this command appends to its own chat, then to chat c0 at a version that is gone


def _command(i: int, transactions: set[str]):
    def run(conn: Conn) -> int:
        recorded = store.append(conn, f"chat:c{i}", 0, [weather(f"c{i}")], stamp=Stamp("now"))
        if i == STALE:
            store.append(conn, "chat:c0", 0, [weather("c0", "late")], stamp=Stamp("now"))
        if getattr(conn, "dialect", "sqlite") == "postgres":
            transactions.add(conn.execute("SELECT pg_current_xact_id()::text").fetchone()[0])
        return recorded[0].seq
    return run


async def test_a_conflicting_command_in_a_group_is_undone_alone(location: str):
    db = await open_storage(location)
    try:
        transactions: set[str] = set()
        outcomes = await asyncio.gather(*(db.write(_command(i, transactions)) for i in range(COMMANDS)),
                                        return_exceptions=True)
        assert isinstance(outcomes[STALE], ConcurrencyConflict)
        assert all(isinstance(o, int) for i, o in enumerate(outcomes) if i != STALE)
        events = await db.read(lambda conn: list(store.read_after(conn, 0)))
        assert sorted(e.chat_id for e in events) == sorted(f"c{i}" for i in range(COMMANDS) if i != STALE)
        assert [e.seq for e in events] == sorted(o for o in outcomes if isinstance(o, int))
        if db.dialect == "postgres":  # the 40 commands went in two transactions: the first alone, then the group
            assert len(transactions) == 2
    finally:
        await db.close()


async def test_write_alone_commits_whole_or_not_at_all(location: str):
    db = await open_storage(location)
    try:
        def half(conn: Conn) -> None:
            store.append(conn, "chat:a", 0, [weather("a")], stamp=Stamp("now"))
            raise RuntimeError("the rebuild failed half-way")

        with pytest.raises(RuntimeError, match="half-way"):
            await db.write_alone(half)
        assert await db.write_alone(lambda conn: store.append(conn, "chat:a", 0, [weather("a")],
                                                              stamp=Stamp("now"))[0].stream_version) == 1
        assert await db.read(lambda conn: store.stream_version(conn, "chat:a")) == 1
    finally:
        await db.close()
