"""The reproject lock decides whose copies are whose, on both backends (tests/conftest.py runs each test on both).

A reproject holds the database's reproject lock for its whole run; a second engine on the same database (another
process, as far as the lock can tell: SQLite's flock and PostgreSQL's advisory lock are per open file / session)
leaves its copies alone, and a reproject that loses the lock stops before writing again.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from engine import Actor, Engine
from engine.commands import RecordReply, SayLine
from engine.errors import ReprojectInterrupted
from engine.projection import online
from engine.projection.projector import VERSION
from engine.storage import pg_reproject
from engine.storage.sqlite_lease import lock_path
from tests.conftest import dump_world, is_postgres, raw_connection, story


def _leftovers(location: str) -> list[str]:
    conn = raw_connection(location)
    try:
        return sorted(online.leftovers(conn))
    finally:
        conn.close()


async def _grow(engine: Engine, admin: Actor, lines: int) -> None:
    chat = await engine.reads.get_chat("chan-1")
    for i in range(lines):
        await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id=f"grow-{i}", text=f"line {i}"))
        await engine.perform(RecordReply(actor=admin, channel_id="chan-1", character_id=chat.host_id, text=f"reply {i}"))


def _take_the_lock_away(location: str) -> None:
    """What losing the lock looks like: PostgreSQL ends the lock's session; on SQLite the lock file is removed."""
    if not is_postgres(location):
        os.unlink(lock_path(Path(location)))
        return
    conn = raw_connection(location)
    try:
        holders = f"SELECT pid {pg_reproject._HOLDERS}"  # noqa: SLF001
        conn.execute(f"SELECT pg_terminate_backend(pid) FROM ({holders}) h", (pg_reproject.REPROJECT_LOCK,))
        while conn.execute(holders, (pg_reproject.REPROJECT_LOCK,)).fetchall():  # until the server let it go
            conn.execute("SELECT pg_sleep(0.01)")
    finally:
        conn.close()


@pytest.mark.parametrize("next_step", ["switch", "analyze"])
async def test_a_reproject_that_loses_its_lock_stops_before_writing_again_and_leaves_the_copies(
        engine: Engine, admin: Actor, location: str, next_step: str):
    """The lock goes after the fill's one batch; the next step is the switch (a write transaction, checked by
    `hold`), or first PostgreSQL's statistics on the lock's own connection (SQLite has no such step)."""
    await story(engine, admin)
    await _grow(engine, admin, 20)
    world = dump_world(location)
    batches = 0

    async def pace() -> None:
        nonlocal batches
        batches += 1
        if batches == 1:
            await asyncio.to_thread(_take_the_lock_away, location)

    async with engine.db.reprojecting() as turn:
        assert turn is not None
        with pytest.raises(ReprojectInterrupted, match="run it again"):
            await online.rebuild(lambda fn: engine.db.write(fn, solo=True), VERSION, drop=turn.drop, pace=pace,
                                 aside=turn.aside if next_step == "analyze" else None, hold=turn.hold)
    assert batches == 1  # stopped at the first transaction after the lock went
    assert _leftovers(location)  # not its to drop any more: the lock's next holder does
    assert dump_world(location) == world
    other = await Engine.open(location)  # the next opener takes the lock and drops them
    try:
        assert _leftovers(location) == []
        assert (await other.maintenance.check()).clean
    finally:
        await other.close()


async def test_an_engine_opening_the_database_mid_reproject_leaves_the_copies_and_the_reproject_finishes(
        engine: Engine, admin: Actor, location: str):
    await story(engine, admin)
    await _grow(engine, admin, 20)
    gate, paused = asyncio.Event(), asyncio.Event()

    async def pace() -> None:
        paused.set()
        await gate.wait()

    async with engine.db.reprojecting() as turn:
        assert turn is not None
        rebuild = asyncio.create_task(online.rebuild(lambda fn: engine.db.write(fn, solo=True), VERSION,
                                                     drop=turn.drop, pace=pace, aside=turn.aside, hold=turn.hold))
        await paused.wait()
        copies = _leftovers(location)
        for _ in range(3):
            other = await Engine.open(location)
            await other.close()
            assert _leftovers(location) == copies
        gate.set()
        assert await rebuild > 0
    assert _leftovers(location) == []
    assert (await engine.maintenance.check()).clean


async def test_postgres_a_reproject_waits_for_the_checks_running_when_it_starts(pg_url: str, admin: Actor):
    """A check holds the live tables until it ends, so a reproject could not switch meanwhile: it waits first."""
    engine = await Engine.open(pg_url)
    checking = raw_connection(pg_url)  # what `chronicle check` holds for its whole run
    try:
        await story(engine, admin)
        pg_reproject.share_lock(checking)
        with capture_logs() as logs:
            rebuild = asyncio.create_task(engine.maintenance.rebuild())
            while not any(e.get("event") == "reproject_waiting" for e in logs) and not rebuild.done():
                await asyncio.sleep(0.01)
        assert not rebuild.done()
        assert _leftovers(pg_url) == []  # it has not begun
        checking.close()
        assert await asyncio.wait_for(rebuild, 30) > 0
        assert (await engine.maintenance.check()).clean
    finally:
        checking.close()
        await engine.close()
