"""Reproject without stopping the stories: fresh tables filled in short transactions, one short switch.

Every test that takes `engine` or `location` runs on SQLite and on PostgreSQL (tests/conftest.py); the
tests at the end are PostgreSQL's own (the switch waiting for readers, several processes sharing a database).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from engine import Actor, Engine, EngineError
from engine.commands import AuthorCharacter, RecordReply, RewindChat, SayLine
from engine.demo import fill as demo_fill
from engine.events import CharacterAuthored
from engine.projection import online
from engine.projection.projector import VERSION
from engine.storage import open_storage
from engine.storage import pg_reproject as pg
from engine.store import NewEvent, Stamp, append, stream_version
from tests.conftest import begin_write, dump_world, is_postgres, raw_connection, story


def _leftovers(location: str) -> list[str]:
    conn = raw_connection(location)
    try:
        return online.leftovers(conn)
    finally:
        conn.close()


def _schema(location: str) -> dict[str, list[Any]]:
    """What a reproject must keep or knowingly change: index names (SQLite), or PostgreSQL's whole public DDL."""
    conn = raw_connection(location)
    try:
        if not is_postgres(location):
            return {"indexes": sorted(r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'"
                                                                " AND sql IS NOT NULL"))}
        queries = {
            "columns": "SELECT table_name, ordinal_position, column_name, data_type, collation_name, is_nullable,"
                       " column_default, generation_expression FROM information_schema.columns"
                       " WHERE table_schema = 'public'",
            "constraints": "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
                           " WHERE connamespace = 'public'::regnamespace",
            "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'",
            "grants": "SELECT table_name, grantee, privilege_type FROM information_schema.role_table_grants"
                      " WHERE table_schema = 'public' AND grantee <> 'postgres'",
            "schemas": "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' ORDER BY 1",
        }
        return {name: sorted(tuple(row) for row in conn.execute(sql)) for name, sql in queries.items()}
    finally:
        conn.close()


def _run_sql(location: str, *statements: str) -> None:
    conn = raw_connection(location)
    try:
        for sql in statements:
            conn.execute(sql)
    finally:
        conn.close()


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """One event per fill transaction: a reproject of a small world spans hundreds of transactions."""
    monkeypatch.setattr(online, "BATCH_SECONDS", 0.0)
    monkeypatch.setattr(online, "READ_CHUNK", 1)
    monkeypatch.setattr(online, "SWITCH_LAG", 0)


async def _grow(engine: Engine, admin: Actor, channel: str, lines: int) -> None:
    chat = await engine.reads.get_chat(channel)
    for i in range(lines):
        await engine.perform(SayLine(actor=admin, channel_id=channel, message_id=f"{channel}-grow-{i}", text=f"line {i}"))
        await engine.perform(RecordReply(actor=admin, channel_id=channel, character_id=chat.host_id, text=f"reply {i}"))


async def test_commands_are_answered_while_a_reproject_runs_and_land_in_the_new_tables(
        engine: Engine, admin: Actor, location: str, small_batches: None):
    chat_id = await story(engine, admin)
    await _grow(engine, admin, "chan-1", 150)
    await engine.perform(RewindChat(actor=admin, channel_id="chan-1", messages=4))
    before = await engine.reads.transcript(chat_id, limit=1000)

    gate, paused = asyncio.Event(), asyncio.Event()

    async def pace() -> None:  # the reproject waits here, between two of its transactions, until the test says
        paused.set()
        await gate.wait()

    rebuild = asyncio.create_task(online.rebuild(lambda fn: engine.db.write(fn, solo=True), VERSION, pace=pace))
    await paused.wait()
    answered_during = 0
    for i in range(20):
        await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id=f"during-{i}", text=f"said during the reproject {i}"))
        answered_during += not rebuild.done()
    gate.set()
    replayed = await rebuild

    assert answered_during == 20  # every command was answered before the reproject ended
    texts = [m.text for m in await engine.reads.transcript(chat_id, limit=1000)]
    assert texts[:len(before)] == [m.text for m in before]
    assert texts[len(before):] == [f"said during the reproject {i}" for i in range(20)]
    assert replayed == 307 + 20
    assert (await engine.maintenance.check()).clean
    assert _leftovers(location) == []


async def test_person_lines_in_several_channels_keep_being_recorded_while_a_large_world_is_reprojected(
        engine: Engine, admin: Actor, location: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(online, "BATCH_SECONDS", 0.0)  # one chunk of READ_CHUNK events per fill transaction
    monkeypatch.setattr(online, "READ_CHUNK", 10)
    world = await demo_fill(engine, chats=3, messages=900, seed=11)
    assert world.events > 3000
    channels = [f"live-{i}" for i in range(3)]
    for channel in channels:
        await story(engine, admin, channel)
    person = Actor(user_id="person-1", guild_id=admin.guild_id, display_name="Wren")
    rebuild = asyncio.create_task(engine.maintenance.rebuild())
    during: dict[str, int] = dict.fromkeys(channels, 0)
    sent: dict[str, int] = dict.fromkeys(channels, 0)

    async def speak(channel: str) -> None:
        while not rebuild.done():
            await engine.perform(SayLine(actor=person, channel_id=channel, message_id=f"{channel}-{sent[channel]}", text=f"line {sent[channel]}"))
            sent[channel] += 1
            during[channel] += not rebuild.done()

    await asyncio.gather(*(speak(channel) for channel in channels))
    replayed = await rebuild

    assert replayed >= world.events
    assert all(count >= 3 for count in during.values()), during  # no channel waited for the whole reproject
    for channel in channels:
        lines = await engine.reads.transcript((await engine.reads.get_chat(channel)).chat_id, limit=10_000)
        assert [m.text for m in lines if m.role == "person"] == [f"line {i}" for i in range(sent[channel])]
    report = await engine.maintenance.check()  # the live world equals a rebuild from scratch, row for row
    assert report.clean and report.events >= world.events + sum(sent.values()), report.differences
    assert _leftovers(location) == []


async def test_a_fill_batch_ends_at_the_event_after_which_a_command_waits(engine: Engine, admin: Actor,
                                                                          monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(online, "READ_CHUNK", 7)  # a batch applies one chunk at least, whoever waits
    await story(engine, admin)
    await _grow(engine, admin, "chan-1", 30)
    await engine.db.write(online.prepare, solo=True)
    position, applied, behind, cut = await engine.db.write(
        lambda conn: online.fill(conn, 0, budget=60.0, waiting=lambda: True), solo=True)
    assert (applied, cut) == (7, True) and behind > 30
    position, applied, behind, cut = await engine.db.write(
        lambda conn: online.fill(conn, position, budget=60.0, waiting=lambda: False), solo=True)
    assert (behind, cut) == (0, False) and applied > 30  # nobody waited: the whole budget, here the whole log
    await engine.db.write(online.drop_leftovers, solo=True)


async def test_a_rewind_in_the_log_has_the_fill_build_the_copies_indexes_one_per_transaction(tmp_path: Path,
                                                                                                admin: Actor):
    """On SQLite (PostgreSQL's copies get their indexes with the tables): the rewind's handler reads by them."""
    engine = await Engine.open(tmp_path / "world.db")
    try:
        await story(engine, admin)
        await _grow(engine, admin, "chan-1", 30)
        await engine.perform(RewindChat(actor=admin, channel_id="chan-1", messages=4))
        await _grow(engine, admin, "chan-1", 5)

        def indexes(conn: Any) -> int:
            return conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'index'").fetchone()[0]

        def batch(conn: Any, after: int) -> tuple[int, int, int, int]:
            position, applied, behind, _ = online.fill(conn, after, budget=60.0, waiting=lambda: False)
            return position, applied, behind, indexes(conn)

        await engine.db.write(online.prepare, solo=True)
        built = await engine.db.read(indexes)
        position, applied, behind, now = await engine.db.write(lambda conn: batch(conn, 0), solo=True)
        assert applied > 0 and behind > 0 and now == built  # ended before the rewind's chunk, nothing built
        steps = []
        while behind:
            position, applied, behind, now = await engine.db.write(lambda c: batch(c, position), solo=True)  # noqa: B023
            steps.append((applied, now - built))
            built = now
        assert steps[-1][0] > 0 and len(steps) > 2  # then the rest of the log, once every index was there
        assert all(step == (0, 1) for step in steps[:-1]), steps  # one index and no event per transaction before
        await engine.db.write(online.drop_leftovers, solo=True)
    finally:
        await engine.close()


async def test_a_large_tables_plain_indexes_are_kept_through_the_fill(tmp_path: Path, admin: Actor,
                                                                       monkeypatch: pytest.MonkeyPatch):
    """On SQLite: a table of at least KEEP_INDEXES rows gets its copy's plain indexes when the copies are made (built
    after a 1M-event fill, messages_by_chat held the writer for most of a second); a smaller table's come after the
    fill. The reproject still ends with every index and a world equal to the log."""
    engine = await Engine.open(tmp_path / "world.db")
    try:
        await story(engine, admin)
        await _grow(engine, admin, "chan-1", 20)  # 40 lines; every other projected table holds fewer than 30 rows
        monkeypatch.setattr(online, "KEEP_INDEXES", 30)

        def indexes(conn: Any) -> set[str]:
            return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}

        live = await engine.db.read(indexes)
        await engine.db.write(online.prepare, solo=True)
        made = await engine.db.read(indexes) - live
        assert online.twin_index_name("messages_by_chat") in made
        assert online.twin_index_name("memories_by_importance") not in made
        await engine.db.write(online.drop_leftovers, solo=True)
        await engine.maintenance.rebuild()
        assert {online.twin_index_name(name) for name in ("messages_by_chat", "memories_by_importance")} <= await (
            engine.db.read(indexes))
        assert (await engine.maintenance.check()).clean
    finally:
        await engine.close()


async def test_the_wal_is_folded_between_two_slices_of_an_old_table(tmp_path: Path, admin: Actor,
                                                                     monkeypatch: pytest.MonkeyPatch):
    """On SQLite: every slice of an old table deleted after the switch goes to the WAL; with no checkpoint between
    them the WAL grew to the writer's own backstop, whose checkpoint then ran inside a slice's commit (85 ms at 100k
    events, the commands queued behind it waiting). The reproject paces its slices as it paces its fill."""
    engine = await Engine.open(tmp_path / "world.db")
    try:
        await story(engine, admin)
        await _grow(engine, admin, "chan-1", 20)
        monkeypatch.setattr(online, "DROP_ROWS", 5)
        steps: list[str] = []
        async with engine.db.reprojecting() as turn:
            assert turn is not None

            async def drop(fn: Any) -> Any:
                done = await turn.drop(fn)
                steps.append("slice" if done is not None else "last")
                return done

            async def pace() -> None:
                steps.append("pace")
                await turn.pace()

            await online.rebuild(lambda fn: engine.db.write(fn, solo=True), VERSION, drop=drop, pace=pace,
                                 hold=turn.hold)
        slices = steps[steps.index("slice"):]
        assert slices.count("slice") > 5 and slices[-1] == "last"
        assert slices[:-1] == ["slice", "pace"] * slices.count("slice")  # a checkpoint after every slice
        assert (await engine.maintenance.check()).clean
    finally:
        await engine.close()


async def test_a_reproject_with_long_batches_gives_way_to_the_stories_commands(
        tmp_path: Path, admin: Actor, monkeypatch: pytest.MonkeyPatch):
    """On SQLite (the batch policy is the backends' shared code; this world fills in a second there)."""
    engine = await Engine.open(tmp_path / "world.db")
    try:
        await _batches_give_way(engine, admin, monkeypatch)
    finally:
        await engine.close()


async def _batches_give_way(engine: Engine, admin: Actor, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(online, "BATCH_SECONDS", 30.0)  # a batch would take the whole log, were it not for commands
    monkeypatch.setattr(online, "MAX_BATCH_SECONDS", 30.0)
    monkeypatch.setattr(online, "SWITCH_LAG", 0)
    batches: list[tuple[int, bool]] = []
    fill = online.fill

    def recorded(conn: Any, after: int, budget: float | None = None, waiting: Any = None) -> Any:
        outcome = fill(conn, after, budget, waiting)
        batches.append((outcome[1], outcome[3]))
        return outcome

    monkeypatch.setattr(online, "fill", recorded)
    world = await demo_fill(engine, chats=2, messages=600, seed=3)
    await story(engine, admin, "live")
    rebuild = asyncio.create_task(engine.maintenance.rebuild())
    sent = 0
    while not rebuild.done():
        await engine.perform(SayLine(actor=admin, channel_id="live", message_id=f"live-{sent}", text=f"line {sent}"))
        sent += 1
    assert await rebuild >= world.events
    assert any(cut for _, cut in batches) and len(batches) >= 3, batches  # batches ended where a command waited
    assert (await engine.maintenance.check()).clean


async def test_a_second_reproject_keeps_the_schema_and_stays_clean(engine: Engine, admin: Actor, location: str):
    await story(engine, admin)
    await _grow(engine, admin, "chan-1", 5)
    if is_postgres(location):  # a grant someone made on a projected table outlives the reproject
        _run_sql(location, "CREATE ROLE chronicle_reader", "GRANT SELECT ON messages, chats TO chronicle_reader")
    world, schema = dump_world(location), _schema(location)
    await engine.maintenance.rebuild()
    if is_postgres(location):  # names are per schema: the copies carry the live names
        assert _schema(location) == schema and ("messages", "chronicle_reader", "SELECT") in schema["grants"]
    else:  # SQLite's index names are global: a copy's indexes take the other of two names
        assert "messages_by_chat__r" in _schema(location)["indexes"]
        assert "messages_by_chat" not in _schema(location)["indexes"]
    assert dump_world(location) == world
    await engine.maintenance.rebuild()
    assert _schema(location) == schema
    assert dump_world(location) == world
    hits = await engine.reads.search_memories((await engine.reads.get_chat("chan-1")).chat_id, "nothing-matches-this")
    assert hits == []
    assert (await engine.maintenance.check()).clean


PHASES = {  # a reproject killed after each of its transactions: what it wrote before
    "prepare": [online.prepare],
    "fill": [online.prepare, lambda conn: online.fill(conn, 0)],
    "switch": [online.prepare, lambda conn: online.switch(conn, 0, VERSION)],  # killed before dropping the old
}


@pytest.mark.parametrize("phase", PHASES)
async def test_a_reproject_interrupted_after_each_phase_leaves_the_live_world_and_its_leftovers_are_dropped(
        location: str, admin: Actor, phase: str):
    engine = await Engine.open(location)
    try:
        await story(engine, admin)
        await _grow(engine, admin, "chan-1", 10)
        for step in PHASES[phase]:
            await engine.db.write(step, solo=True)
        assert _leftovers(location)
        await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id="after-the-kill", text="said after the reproject stopped"))
        world = dump_world(location)
    finally:
        await engine.close()

    engine = await Engine.open(location)  # start-up drops the leftovers
    try:
        assert _leftovers(location) == []
        assert dump_world(location) == world
        assert (await engine.maintenance.check()).clean
        for step in PHASES[phase]:  # killed again: the next reproject drops them too
            await engine.db.write(step, solo=True)
        await engine.maintenance.rebuild()
        assert _leftovers(location) == []
        assert dump_world(location) == world
        assert (await engine.maintenance.check()).clean
    finally:
        await engine.close()


async def test_a_failing_reproject_leaves_the_live_world_and_no_copies(engine: Engine, admin: Actor, location: str,
                                                                       small_batches: None,
                                                                       monkeypatch: pytest.MonkeyPatch):
    await story(engine, admin)
    await _grow(engine, admin, "chan-1", 10)
    world = dump_world(location)

    def broken(conn: Any, after: int, budget: float | None = None, waiting: Any = None) -> tuple[int, int, int, bool]:
        raise RuntimeError("the disk went away")

    monkeypatch.setattr(online, "fill", broken)
    with pytest.raises(RuntimeError, match="disk went away"):
        await engine.maintenance.rebuild()
    assert dump_world(location) == world
    assert _leftovers(location) == []


def _old_style_key(name: str) -> str:
    return " ".join(name.casefold().split())


async def test_an_old_database_with_look_alike_names_is_reprojected_once_at_open(admin: Actor, location: str):
    engine = await Engine.open(location)
    await engine.perform(AuthorCharacter(actor=admin, name="Aria", description="A wandering bard."))
    await engine.perform(AuthorCharacter(actor=admin, name="Ｂram", description="A quiet smith (full-width B)."))

    def old_look_alike(conn: Any) -> None:  # what the old decider let through
        stream = f"guild:{admin.guild_id}"
        event = CharacterAuthored(character_id="chr_lookalike", guild_id=admin.guild_id, name="Ar\u200bia",
                            description="A second Aria.", author_id=admin.user_id)
        append(conn, stream, stream_version(conn, stream), [NewEvent(event, admin.guild_id, admin.user_id)],
               stamp=Stamp("2026-01-01T00:00:00+00:00"))

    await engine.db.write(old_look_alike)
    await engine.close()
    conn = raw_connection(location)  # the tables as the old code left them
    try:
        begin_write(conn)
        for cid, name in conn.execute("SELECT character_id, name FROM characters").fetchall():
            conn.execute("UPDATE characters SET name_key = ? WHERE character_id = ?", (_old_style_key(name), cid))
        conn.execute("DELETE FROM projection_meta")
        conn.execute("COMMIT")
    finally:
        conn.close()

    engine = await Engine.open(location)
    try:
        assert (await engine.reads.get_character(admin.guild_id, "ARIA")).character_id != "chr_lookalike"
        assert (await engine.reads.get_character(admin.guild_id, "aria")).character_id != "chr_lookalike"
        # spelled exactly, the look-alike itself is found (an admin can retire or rename it)
        assert (await engine.reads.get_character(admin.guild_id, "Ar\u200bia")).character_id == "chr_lookalike"
        assert (await engine.reads.get_character(admin.guild_id, "bram")).name == "Ｂram"
        assert await engine.db.read(online.stored_version) == VERSION
        assert (await engine.maintenance.check()).clean
    finally:
        await engine.close()


async def test_a_solo_write_lets_the_commands_queued_before_it_commit_first(location: str):
    db = await open_storage(location)
    order: list[str] = []

    def slow(conn: Any) -> None:
        time.sleep(0.05)  # the writer is busy: what follows queues up
        order.append("first")

    def committed(conn: Any) -> int:  # seen from another connection: only what is committed
        other = raw_connection(location)
        try:
            return other.execute("SELECT COUNT(*) FROM marks").fetchone()[0]
        finally:
            other.close()

    try:
        await db.write(lambda conn: conn.execute("CREATE TABLE marks (x INTEGER)"))
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


# --- PostgreSQL's own: readers holding the live tables, several processes sharing one database ---------------

async def test_postgres_switch_waits_for_a_long_reader_without_holding_the_stories(
        pg_url: str, admin: Actor, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(online, "SWITCH_WAIT_MS", 50)
    engine = await Engine.open(pg_url)
    reader = raw_connection(pg_url)
    try:
        await story(engine, admin)
        await _grow(engine, admin, "chan-1", 20)
        reader.execute("BEGIN")  # a report holding the live messages table (ACCESS SHARE) until it commits
        reader.execute("SELECT count(*) FROM messages").fetchone()
        rebuild = asyncio.create_task(engine.maintenance.rebuild())
        await asyncio.sleep(0.5)
        assert not rebuild.done()  # it could not switch: the reader still holds the live table
        started = time.perf_counter()
        await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id="during-the-wait", text="said while the switch waits"))
        assert time.perf_counter() - started < 1.0  # a switch attempt holds the stories at most SWITCH_WAIT_MS
        assert pg.NEXT in {name.split(".")[0] for name in _leftovers(pg_url)}
        reader.execute("COMMIT")
        await asyncio.wait_for(rebuild, 10)
        assert _leftovers(pg_url) == []
        assert "said while the switch waits" in [m.text for m in await engine.reads.transcript((await engine.reads.get_chat("chan-1")).chat_id, limit=100)]
        assert (await engine.maintenance.check()).clean
    finally:
        reader.close()
        await engine.close()


async def test_postgres_copies_of_a_reproject_running_in_another_process_are_not_leftovers(pg_url: str,
                                                                                          admin: Actor):
    engine = await Engine.open(pg_url)
    await story(engine, admin)
    await engine.close()
    other = raw_connection(pg_url)  # another process, in the middle of its reproject
    try:
        assert pg.try_lock(other)
        begin_write(other)
        online.prepare(other)
        other.execute("COMMIT")
        engine = await Engine.open(pg_url)
        await engine.close()
        assert f"{pg.NEXT}.messages" in _leftovers(pg_url)  # left alone: they are still being filled
    finally:
        other.close()  # the other process dies: its lock goes with it
    engine = await Engine.open(pg_url)
    try:
        assert _leftovers(pg_url) == []
        assert (await engine.maintenance.check()).clean
    finally:
        await engine.close()


async def test_postgres_a_reproject_waits_for_one_running_in_another_process(pg_url: str, admin: Actor):
    first, second = await Engine.open(pg_url), await Engine.open(pg_url)
    try:
        await story(first, admin)
        async with first.db.reprojecting() as turn:
            assert turn is not None
            waiting = asyncio.create_task(second.maintenance.rebuild())
            await asyncio.sleep(0.5)
            assert not waiting.done()
        assert await asyncio.wait_for(waiting, 10) > 0
        assert (await second.maintenance.check()).clean
    finally:
        await first.close()
        await second.close()


def test_postgres_the_tables_a_reproject_copies_are_every_table_of_the_world_migrations():
    """A table added to the world by a migration must be a projected table, or the reproject would not copy it."""
    from engine.projection import projector
    from engine.storage.pg_migrate import migrations_dir

    text = "\n".join(path.read_text() for path in migrations_dir().glob("*.sql"))
    created = {line.split()[2] for line in text.splitlines() if line.startswith("CREATE TABLE ")}
    not_projected = {"events", "projection_cursor", "turns", "projection_meta"}
    assert created - not_projected == {t.name for t in projector.tables}


async def test_postgres_a_fill_whose_copies_are_gone_fails_instead_of_writing_the_live_tables(pg_url: str,
                                                                                             admin: Actor):
    engine = await Engine.open(pg_url)
    try:
        await story(engine, admin)
        world = dump_world(pg_url)
        await engine.db.write(online.prepare, solo=True)
        _run_sql(pg_url, f"DROP SCHEMA {pg.NEXT} CASCADE")  # someone dropped them behind the reproject's back
        with pytest.raises(EngineError, match="copies are gone"):
            await engine.db.write(lambda conn: online.fill(conn, 0), solo=True)
        assert dump_world(pg_url) == world
    finally:
        await engine.close()
