"""Group commit on both backends: one transaction per group, one savepoint per command.

On PostgreSQL a failed statement aborts the whole transaction, so without the savepoints one conflicting
command would take every command of its group down with it.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from engine import Actor, Engine, StorageError, projection, store
from engine.commands import RetractMessage, SayLine
from engine.errors import ConcurrencyConflict, DomainError
from engine.storage import open_storage
from engine.storage.group import Phased
from engine.storage.ordered import Recording
from engine.storage.pg_conn import PgConnection, begin_write
from engine.storage.port import Conn
from engine.store import Stamp
from tests.conftest import story
from tests.faults import fill_up, small_file_system
from tests.storage.backends import weather

COMMANDS = 40
WAIT = 20.0  # seconds: only a broken build gets near it
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


def _phased(name: str, trace: list[str], *, refuse: bool = False) -> Phased:
    """A story command of chat `name`: its decision reads what the command decided against the world wrote (a plain
    read: no log lock); recording it appends one event."""
    def decide(conn: Conn):  # noqa: ANN202
        seen = conn.execute("SELECT COUNT(*) FROM events WHERE stream = 'chat:w'").fetchone()[0]  # as a decider reads
        trace.append(f"decide {name} (w at {seen})")
        if refuse:
            raise DomainError(f"{name} is refused")

        def record(conn: Conn) -> int:
            seq = store.append(conn, f"chat:{name}", 0, [weather(name)], stamp=Stamp("now"))[0].seq
            trace.append(f"record {name}")
            return seq
        return record
    return Phased(decide)


async def test_a_group_decides_its_story_commands_before_recording_any(location: str):
    """A group decides every phased command first, then records them in order; a command decided against the world
    (not phased) first records those before it, and the phased ones after it are decided against what it wrote. A
    refused decision fails alone."""
    db = await open_storage(location)
    try:
        trace: list[str] = []

        def whole(conn: Conn) -> int:
            trace.append(f"whole (p1 at {store.stream_version(conn, 'chat:p1')})")
            return store.append(conn, "chat:w", 0, [weather("w")], stamp=Stamp("now"))[0].seq

        jobs = [lambda conn: 0, _phased("p1", trace), _phased("p2", trace, refuse=True), _phased("p3", trace), whole,
                _phased("p4", trace), _phased("p5", trace)]
        outcomes = await asyncio.gather(*(db.write(job) for job in jobs), return_exceptions=True)
        assert trace == ["decide p1 (w at 0)", "decide p2 (w at 0)", "decide p3 (w at 0)", "record p1", "record p3",
                         "whole (p1 at 1)", "decide p4 (w at 1)", "decide p5 (w at 1)", "record p4", "record p5"]
        assert isinstance(outcomes[2], DomainError)
        seqs = [o for i, o in enumerate(outcomes) if i not in (0, 2)]
        events = await db.read(lambda conn: list(store.read_after(conn, 0)))
        assert [e.seq for e in events] == seqs and [e.chat_id for e in events] == ["p1", "p3", "w", "p4", "p5"]
    finally:
        await db.close()


async def test_a_groups_story_commands_are_decided_while_another_process_holds_the_log_lock(pg_url: str):
    """On PostgreSQL the log's lock comes with a group's first append: every story command of the group has read and
    decided by then, while another process's writer holds it."""
    db = await open_storage(pg_url)
    holder, observer = PgConnection.connect(pg_url), PgConnection.connect(pg_url)
    try:
        trace: list[str] = []
        begin_write(holder)
        writes = asyncio.gather(*(db.write(job) for job in [lambda conn: 0, *(_phased(f"p{i}", trace)
                                                                           for i in range(5))]))
        deadline = time.monotonic() + WAIT
        while observer.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                               " AND wait_event_type = 'Lock'").fetchone()[0] == 0:
            assert time.monotonic() < deadline, "the group never waited for the log's lock"
            await asyncio.sleep(0.01)
        assert trace == [f"decide p{i} (w at 0)" for i in range(5)]  # all decided, none recorded yet
        holder.execute("ROLLBACK")
        seqs = (await asyncio.wait_for(writes, WAIT))[1:]
        assert trace[5:] == [f"record p{i}" for i in range(5)] and seqs == sorted(seqs)
    finally:
        holder.close()
        observer.close()
        await db.close()


async def test_a_group_of_lines_with_a_repeat_and_a_refusal_records_each_once(engine: Engine):
    """Lines in eight chats at once, with a repeated message id (a gateway resend) and a line refused by its decider
    in the same group: the group appends and projects the others together; the repeat answers with the first
    recording, the refused line records nothing, and the world matches its log."""
    admin = Actor(user_id="admin-1", guild_id="guild-1", display_name="Ada", is_admin=True)
    channels = [f"chan-{i}" for i in range(8)]
    for channel in channels:
        await story(engine, admin, channel)
    first = await engine.perform(SayLine(actor=admin, channel_id="chan-0", message_id="m-first", text="hello"))
    lines = [SayLine(actor=admin, channel_id=channel, message_id=f"m-{channel}", text=f"in {channel}")
             for channel in channels[1:]]
    repeat = SayLine(actor=admin, channel_id="chan-0", message_id="m-first", text="hello")
    refused = RetractMessage(actor=admin, channel_id="chan-0", message_id="never-said")
    outcomes = await asyncio.gather(*(engine.perform(c) for c in [*lines, repeat, refused]), return_exceptions=True)
    assert isinstance(outcomes[-1], DomainError)
    assert outcomes[-2] == first
    for channel, outcome in zip(channels[1:], outcomes, strict=False):
        chat = await engine.reads.get_chat(channel)
        assert [m.text for m in await engine.reads.transcript(chat.chat_id)][-1:] == [f"in {channel}"]
        assert outcome.text == f"in {channel}"
    chat0 = await engine.reads.get_chat("chan-0")
    assert [m.text for m in await engine.reads.transcript(chat0.chat_id)].count("hello") == 1
    assert (await engine.maintenance.check()).clean


class _Bulky(Recording):
    """A story command in the group's steps whose events (400 chats × 20) outgrow a nearly full disk."""

    def __call__(self, conn: Conn) -> int:
        return self.answer(conn, self.append(conn))

    def append(self, conn: Conn) -> list:
        return [event for i in range(400) for event in store.append(
            conn, f"chat:c{i}", 0, [weather(f"c{i}", "x" * 60) for _ in range(20)], stamp=Stamp("now"))]

    def project(self, conn: Conn, events: list) -> None:
        return None

    def project_together(self, conn: Conn, events: list) -> None:
        return None

    def answer(self, conn: Conn, events: list) -> int:
        return len(events)

    def settle(self, conn: Conn, last_seq: int) -> None:
        projection.settle_ordered(conn, last_seq)


async def test_a_lone_story_command_on_a_full_disk_is_one_disk_full_error_and_leaves_nothing(tmp_path: Path):
    """SQLite runs a group's steps too: a lone command that fills the disk fails with the disk-full error, records
    nothing, and the writer takes the next command once there is room."""
    with small_file_system(tmp_path / "small") as small:
        db = await open_storage(str(small / "world.db"))
        try:
            await db.wal.fold("TRUNCATE")
            ballast = fill_up(small, 200_000)
            with pytest.raises(StorageError, match="full"):
                await db.write(Phased(lambda conn: _Bulky()))
            assert await db.read(store.last_seq) == 0
            ballast.unlink()
            assert await db.write(_phased("after", [])) == 1
        finally:
            await db.close()
