"""Reproject without stopping the stories: fresh tables filled in short transactions, one short switch."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine import Actor, Engine
from engine.events import BotAuthored
from engine.projection import online
from engine.projection.projector import VERSION
from engine.store import NewEvent, Stamp, append, stream_version
from tests.conftest import dump_world, story


def _schema_names(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    finally:
        conn.close()


@pytest.fixture
async def engine(db_path: Path) -> AsyncIterator[Engine]:
    """The engine on a SQLite file: what this module tests is SQLite's reproject (PostgreSQL rebuilds in one
    transaction)."""
    eng = await Engine.open(db_path)
    try:
        yield eng
    finally:
        await eng.close()


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """One event per fill transaction: a reproject of a small world spans hundreds of transactions."""
    monkeypatch.setattr(online, "BATCH_SECONDS", 0.0)
    monkeypatch.setattr(online, "READ_CHUNK", 1)
    monkeypatch.setattr(online, "SWITCH_LAG", 0)


async def _grow(engine: Engine, admin: Actor, channel: str, lines: int) -> None:
    chat = await engine.get_chat(channel)
    for i in range(lines):
        await engine.record_message(admin, channel, f"{channel}-grow-{i}", f"line {i}")
        await engine.record_reply(admin, channel, chat.host_id, f"reply {i}")


async def test_commands_are_answered_while_a_reproject_runs_and_land_in_the_new_tables(
        engine: Engine, admin: Actor, db_path: Path, small_batches: None):
    chat_id = await story(engine, admin)
    await _grow(engine, admin, "chan-1", 150)
    await engine.rewind(admin, "chan-1", messages=4)
    before = await engine.transcript(chat_id, limit=1000)

    gate, paused = asyncio.Event(), asyncio.Event()

    async def pace() -> None:  # the reproject waits here, between two of its transactions, until the test says
        paused.set()
        await gate.wait()

    rebuild = asyncio.create_task(online.rebuild(lambda fn: engine.db.write(fn, solo=True), VERSION, pace=pace))
    await paused.wait()
    answered_during = 0
    for i in range(20):
        await engine.record_message(admin, "chan-1", f"during-{i}", f"said during the reproject {i}")
        answered_during += not rebuild.done()
    gate.set()
    replayed = await rebuild

    assert answered_during == 20  # every command was answered before the reproject ended
    texts = [m.text for m in await engine.transcript(chat_id, limit=1000)]
    assert texts[:len(before)] == [m.text for m in before]
    assert texts[len(before):] == [f"said during the reproject {i}" for i in range(20)]
    assert replayed == 307 + 20
    assert (await engine.check()).clean
    assert not {n for n in _schema_names(db_path) if n.endswith((online.FRESH, online.OLD))}


async def test_a_second_reproject_swaps_the_index_names_back_and_stays_clean(engine: Engine, admin: Actor,
                                                                              db_path: Path):
    await story(engine, admin)
    await _grow(engine, admin, "chan-1", 5)
    world = dump_world(db_path)
    await engine.rebuild()
    assert "messages_by_chat__r" in _schema_names(db_path) and "messages_by_chat" not in _schema_names(db_path)
    assert dump_world(db_path) == world
    await engine.rebuild()
    assert "messages_by_chat" in _schema_names(db_path) and "messages_by_chat__r" not in _schema_names(db_path)
    assert dump_world(db_path) == world
    hits = await engine.search_memories((await engine.get_chat("chan-1")).chat_id, "nothing-matches-this")
    assert hits == []
    assert (await engine.check()).clean


async def test_leftovers_of_an_interrupted_reproject_are_dropped_at_open(admin: Actor, db_path: Path):
    engine = await Engine.open(db_path)
    await story(engine, admin)
    world = dump_world(db_path)
    await engine.db.write(online.prepare)  # a reproject that was killed after its first transaction
    await engine.db.write(lambda conn: online.fill(conn, 0))
    await engine.close()
    assert "messages__next" in _schema_names(db_path)

    engine = await Engine.open(db_path)
    try:
        assert not {n for n in _schema_names(db_path) if n.endswith((online.FRESH, online.OLD))}
        assert dump_world(db_path) == world
        assert (await engine.check()).clean
    finally:
        await engine.close()


async def test_a_failing_reproject_leaves_the_live_world_and_no_copies(engine: Engine, admin: Actor, db_path: Path,
                                                                       small_batches: None,
                                                                       monkeypatch: pytest.MonkeyPatch):
    await story(engine, admin)
    await _grow(engine, admin, "chan-1", 10)
    world = dump_world(db_path)

    def broken(conn: sqlite3.Connection, after: int, budget: float = 0.0) -> tuple[int, int, int]:
        raise RuntimeError("the disk went away")

    monkeypatch.setattr(online, "fill", broken)
    with pytest.raises(RuntimeError, match="disk went away"):
        await engine.rebuild()
    assert dump_world(db_path) == world
    assert not {n for n in _schema_names(db_path) if n.endswith((online.FRESH, online.OLD))}


def _old_style_key(name: str) -> str:
    return " ".join(name.casefold().split())


async def test_an_old_database_with_look_alike_names_is_reprojected_once_at_open(admin: Actor, db_path: Path):
    engine = await Engine.open(db_path)
    await engine.author_character(admin, "Aria", "A wandering bard.")
    await engine.author_character(admin, "Ｂram", "A quiet smith (full-width B).")

    def old_look_alike(conn: sqlite3.Connection) -> None:  # what the old decider let through
        stream = f"guild:{admin.guild_id}"
        event = BotAuthored(character_id="chr_lookalike", guild_id=admin.guild_id, name="Ar\u200bia",
                            description="A second Aria.", author_id=admin.user_id)
        append(conn, stream, stream_version(conn, stream), [NewEvent(event, admin.guild_id, admin.user_id)],
               stamp=Stamp("2026-01-01T00:00:00+00:00"))

    await engine.db.write(old_look_alike)
    await engine.close()
    conn = sqlite3.connect(db_path)  # the tables as the old code left them
    with conn:
        for cid, name in conn.execute("SELECT character_id, name FROM characters").fetchall():
            conn.execute("UPDATE characters SET name_key = ? WHERE character_id = ?", (_old_style_key(name), cid))
        conn.execute("DELETE FROM projection_meta")
    conn.close()

    engine = await Engine.open(db_path)
    try:
        assert (await engine.get_character(admin.guild_id, "ARIA")).character_id != "chr_lookalike"
        assert (await engine.get_character(admin.guild_id, "Ar\u200bia")).character_id != "chr_lookalike"
        assert (await engine.get_character(admin.guild_id, "bram")).name == "Ｂram"
        assert await engine.db.read(online.stored_version) == VERSION
        assert (await engine.check()).clean
    finally:
        await engine.close()


async def test_a_solo_write_lets_the_commands_queued_before_it_commit_first(db_path: Path):
    from engine.db import Database

    db = await Database.open(db_path)
    order: list[str] = []

    def slow(conn: sqlite3.Connection) -> None:
        import time

        time.sleep(0.05)  # the writer is busy: what follows queues up
        order.append("first")

    def committed(conn: sqlite3.Connection) -> int:  # seen from another connection: only what is committed
        other = sqlite3.connect(db_path)
        try:
            return other.execute("SELECT COUNT(*) FROM marks").fetchone()[0]
        finally:
            other.close()

    try:
        await db.write(lambda conn: conn.execute("CREATE TABLE marks (x)"))
        first = asyncio.create_task(db.write(slow))
        await asyncio.sleep(0.01)
        command = asyncio.create_task(db.write(lambda conn: (order.append("command"),
                                                             conn.execute("INSERT INTO marks VALUES (1)"))))
        await asyncio.sleep(0)
        solo = asyncio.create_task(db.write(lambda conn: order.append(f"solo sees {committed(conn)} committed"),
                                            solo=True))
        await asyncio.sleep(0)
        later = asyncio.create_task(db.write(lambda conn: order.append("later")))
        await asyncio.gather(first, command, solo, later)
    finally:
        await db.close()
    assert order == ["first", "command", "solo sees 1 committed", "later"]
