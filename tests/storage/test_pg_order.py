"""PostgreSQL's short ordering lock (engine/storage/pg_order.py): a group of story commands holds the log's order
around its appends alone, projects while other processes' writers append, and commits in seq order all the same."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from engine import Actor, Engine, projection, store
from engine.commands import SayLine
from engine.errors import ConcurrencyConflict, ProjectionError, StorageError
from engine.storage import open_storage
from engine.storage.group import Phased
from engine.storage.ordered import Recording
from engine.storage.pg_conn import PgConnection
from engine.storage.pg_order import ORDER_LOCK
from engine.storage.port import Conn
from engine.store import Stamp
from tests.conftest import story
from tests.pg import log_seqs, until
from tests.storage.backends import weather

ADMIN = Actor(user_id="admin-1", guild_id="guild-1", display_name="Ada", is_admin=True)
WAIT = 20.0  # seconds: only a broken build gets near it


def _waits(conn: PgConnection) -> list[str]:
    """What this database's sessions waiting for a heavyweight lock wait for ('relation', 'advisory', …)."""
    return [row[0] for row in conn.execute("SELECT wait_event FROM pg_stat_activity WHERE datname = current_database()"
                                           " AND wait_event_type = 'Lock' ORDER BY wait_event").fetchall()]


def _order_lock_held(conn: PgConnection) -> bool:
    return conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1"
                        " AND ((classid::bigint << 32) | objid::bigint) = ?", (ORDER_LOCK,)).fetchone()[0] > 0


@dataclass
class _Held:
    """Engine 1's line held in its projection (`locker` holds its chat's row), engine 2's line in another chat
    waiting for engine 1's ticket; `before`: the log's seqs before either."""

    one: Engine
    two: Engine
    observer: PgConnection
    locker: PgConnection
    first: str
    before: list[int]
    held: asyncio.Future[Any]
    later: asyncio.Future[Any]


@asynccontextmanager
async def _held(pg_url: str, first_text: str, later_text: str) -> AsyncIterator[_Held]:
    one, two = await Engine.open(pg_url), await Engine.open(pg_url)
    observer, locker = PgConnection.connect(pg_url), PgConnection.connect(pg_url)
    try:
        first = await story(one, ADMIN, "chan-a")
        await story(two, ADMIN, "chan-b")
        await two.perform(SayLine(actor=ADMIN, channel_id="chan-b", message_id="m-0", text="before"))
        before = log_seqs(observer)
        locker.execute("BEGIN")
        locker.execute("SELECT 1 FROM chats WHERE chat_id = ? FOR UPDATE", (first,))
        held = asyncio.ensure_future(one.perform(SayLine(actor=ADMIN, channel_id="chan-a", message_id="m-a",
                                                         text=first_text)))
        await until(lambda: _waits(observer) == ["transactionid"], "engine 1 waiting for the locked chat row")
        later = asyncio.ensure_future(two.perform(SayLine(actor=ADMIN, channel_id="chan-b", message_id="m-b",
                                                          text=later_text)))
        await until(lambda: _waits(observer) == ["advisory", "transactionid"], "engine 2 waiting for a ticket")
        yield _Held(one, two, observer, locker, first, before, held, later)
    finally:
        locker.close()
        observer.close()
        await one.close()
        await two.close()


async def test_a_story_command_projects_while_an_earlier_writer_is_still_projecting(pg_url: str):
    """Engine 1's line is held in its projection (a row another session locked); engine 2's line in another chat
    appends and projects meanwhile, and then waits for engine 1's ticket (an advisory lock), not for the log's table
    lock: it commits after engine 1, and the log and the world come out as if one after the other. (Engine 2 had
    committed a line before: its wait is not skipped, since engine 1 appended between.)"""
    async with _held(pg_url, "first", "meanwhile") as h:
        assert not h.later.done() and log_seqs(h.observer) == h.before
        h.locker.execute("ROLLBACK")
        await asyncio.wait_for(asyncio.gather(h.held, h.later), WAIT)
        after = log_seqs(h.observer)
        assert after == [*h.before, h.before[-1] + 1, h.before[-1] + 2]
        chats = [row[0] for row in h.observer.execute("SELECT chat_id FROM events WHERE seq > ? ORDER BY seq",
                                                      (h.before[-1],)).fetchall()]
        assert chats[0] == h.first and chats[1] != h.first  # engine 1 appended first, and committed first
        position = h.observer.execute("SELECT position FROM projection_cursor").fetchone()[0]
        assert position == after[-1] and not _order_lock_held(h.observer)
        for engine, channel, text in ((h.one, "chan-a", "first"), (h.two, "chan-b", "meanwhile")):
            chat = await engine.reads.get_chat(channel)
            assert [m.text for m in await engine.reads.transcript(chat.chat_id)][-1:] == [text]
            assert (await engine.maintenance.check()).clean


async def test_a_ticket_holder_that_is_lost_does_not_hold_up_the_later_ones(pg_url: str):
    """Engine 1's writer is terminated while its line waits in its projection: engine 2's line, waiting for engine 1's
    ticket, commits at once; engine 1's line is one storage error and leaves a hole in seq, which the cursor passes."""
    async with _held(pg_url, "lost", "kept") as h:
        h.observer.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                           " WHERE datname = current_database() AND wait_event = 'transactionid'")
        await asyncio.wait_for(h.later, WAIT)
        with pytest.raises(StorageError):
            await asyncio.wait_for(h.held, WAIT)
        h.locker.execute("ROLLBACK")
        after = log_seqs(h.observer)
        assert after == [*h.before, h.before[-1] + 2]  # engine 1's seq was rolled back with it: a hole
        assert h.observer.execute("SELECT position FROM projection_cursor").fetchone()[0] == after[-1]
        chat = await h.two.reads.get_chat("chan-b")
        assert [m.text for m in await h.two.reads.transcript(chat.chat_id)][-1:] == ["kept"]
        assert (await h.two.maintenance.check()).clean and not _order_lock_held(h.observer)


class _Line(Recording):
    """A story command of chat `name` whose second phase comes in steps: it appends a weather event at `version`,
    and its 'projection' fails when asked to (`fails`), or it reads its stream's version first, which needs the
    whole log held (`reads_version`)."""

    def __init__(self, name: str, version: int, fails: bool, reads_version: bool) -> None:
        self.name, self.version, self.fails, self.reads_version = name, version, fails, reads_version

    def __call__(self, conn: Conn) -> int:
        events = self.append(conn)
        self.project(conn, events)
        return self.answer(conn, events)

    def append(self, conn: Conn) -> list:
        at = store.stream_version(conn, f"chat:{self.name}") if self.reads_version else self.version
        return store.append(conn, f"chat:{self.name}", at, [weather(self.name, "fails" if self.fails else "rain")],
                            stamp=Stamp("now"))

    def project(self, conn: Conn, events: list) -> None:
        self.project_together(conn, events)

    def project_together(self, conn: Conn, events: list) -> None:
        if failing := [e.chat_id for e in events if e.payload.weather == "fails"]:
            raise ProjectionError(f"projecting {failing} failed")

    def answer(self, conn: Conn, events: list) -> int:
        return events[0].seq

    def settle(self, conn: Conn, last_seq: int) -> None:
        projection.settle_ordered(conn, last_seq)


def _line(name: str, version: int = 0, *, fails: bool = False, reads_version: bool = False) -> Phased:
    line = _Line(name, version, fails, reads_version)
    return Phased(lambda conn: line)


async def test_a_projection_that_fails_after_the_groups_appends_fails_alone(location: str):
    """On PostgreSQL the group is run again without it (its events were in and can't be undone alone); on both
    backends the other commands are recorded and it is not."""
    db = await open_storage(location)
    try:
        jobs = [_line("p0"), _line("p1", fails=True), _line("p2")]
        outcomes = await asyncio.gather(*(db.write(job) for job in jobs), return_exceptions=True)
        assert isinstance(outcomes[1], ProjectionError)
        events = await db.read(lambda conn: list(store.read_after(conn, 0)))
        assert [e.chat_id for e in events] == ["p0", "p2"] and [e.seq for e in events] == [outcomes[0], outcomes[2]]
    finally:
        await db.close()


async def test_the_ordering_lock_is_let_go_whatever_the_group_meets(pg_url: str):
    """A stale append fails alone; a command that needs the whole log held sends its group the one-lock way; either
    way the group commits and no session is left holding the ordering lock."""
    db = await open_storage(pg_url)
    observer = PgConnection.connect(pg_url)
    try:
        assert await db.write(_line("a")) > 0
        outcomes = await asyncio.gather(db.write(_line("b")), db.write(_line("a")), db.write(_line("c")),
                                        return_exceptions=True)
        assert isinstance(outcomes[1], ConcurrencyConflict) and not _order_lock_held(observer)
        outcomes = await asyncio.gather(db.write(_line("d")), db.write(_line("a", reads_version=True)),
                                        return_exceptions=True)
        assert all(isinstance(o, int) for o in outcomes) and not _order_lock_held(observer)
        assert await db.read(lambda conn: store.stream_version(conn, "chat:a")) == 2
        events = await db.read(lambda conn: list(store.read_after(conn, 0)))
        assert [e.chat_id for e in events] == ["a", "b", "c", "d", "a"]
    finally:
        observer.close()
        await db.close()


async def test_two_engines_writing_one_chat_at_once_record_every_line_once(pg_url: str):
    """Two processes writing the same chat (a shard changing hands): their appends meet on the chat's versions; the
    loser of each meeting is decided again, so every line is recorded once, each engine's in its order, and the
    world matches the log on both."""
    one, two = await Engine.open(pg_url), await Engine.open(pg_url)
    observer = PgConnection.connect(pg_url)
    try:
        chat_id = await story(one, ADMIN, "chan-a")
        await story(two, ADMIN, "chan-b")

        async def talk(engine: Engine, name: str) -> None:
            for i in range(10):
                await engine.perform(SayLine(actor=ADMIN, channel_id="chan-a", message_id=f"{name}-{i}",
                                             text=f"{name} {i}"))

        await asyncio.wait_for(asyncio.gather(talk(one, "one"), talk(two, "two"), *(
            two.perform(SayLine(actor=ADMIN, channel_id="chan-b", message_id=f"b-{i}", text=f"b {i}"))
            for i in range(5))), WAIT)
        texts = [m.text for m in await one.reads.transcript(chat_id, limit=100) if m.role == "person"]
        assert sorted(texts) == sorted([f"one {i}" for i in range(10)] + [f"two {i}" for i in range(10)])
        for name in ("one", "two"):
            assert [t for t in texts if t.startswith(name)] == [f"{name} {i}" for i in range(10)]
        seqs = log_seqs(observer)
        assert observer.execute("SELECT position FROM projection_cursor").fetchone()[0] == seqs[-1]
        assert (await one.maintenance.check()).clean and (await two.maintenance.check()).clean
    finally:
        observer.close()
        await one.close()
        await two.close()
