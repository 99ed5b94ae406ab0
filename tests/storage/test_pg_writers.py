"""Two engines on one PostgreSQL database, as two bot processes owning a block of shards each: whatever they write
at the same time, the log is gap-free in commit order (a reader of `seq > cursor` never sees a later seq commit
before an earlier one) and both see one consistent world (`check` clean)."""

from __future__ import annotations

import asyncio

import pytest

from engine import Actor, Engine
from engine.commands import RetractMessage, SayLine, SetWeather
from engine.errors import DomainError
from engine.storage.pg_conn import PgConnection, begin_write
from tests.conftest import story
from tests.pg import log_seqs, until

ADMIN = Actor(user_id="admin-1", guild_id="guild-1", display_name="Ada", is_admin=True)
WAIT = 20.0  # seconds: only a broken build gets near it


def _lock_waiters(conn: PgConnection) -> int:
    """Sessions of this database waiting for a heavyweight lock (a row, a table, a transaction)."""
    return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND wait_event_type = 'Lock'").fetchone()[0]


async def test_a_later_seq_never_commits_before_an_earlier_one_across_engines(pg_url: str):
    """Engine 1's command is held mid-transaction (after its append: its projection waits for a row another session
    locked); engine 2's command in another chat, started after, may not commit first, since its seq is later."""
    one, two = await Engine.open(pg_url), await Engine.open(pg_url)
    observer, locker = PgConnection.connect(pg_url), PgConnection.connect(pg_url)
    try:
        first = await story(one, ADMIN, "chan-a")
        await story(two, ADMIN, "chan-b")
        before = log_seqs(observer)
        locker.execute("BEGIN")
        locker.execute("SELECT 1 FROM chats WHERE chat_id = ? FOR UPDATE", (first,))
        held = asyncio.ensure_future(one.perform(SetWeather(actor=ADMIN, channel_id="chan-a", weather="rain")))
        await until(lambda: _lock_waiters(observer) >= 1, "engine 1 waiting for the locked chat row")
        later = asyncio.ensure_future(two.perform(SayLine(actor=ADMIN, channel_id="chan-b", message_id="m-b",
                                                          text="meanwhile")))
        await until(lambda: later.done() or _lock_waiters(observer) >= 2, "engine 2 waiting or done")
        seen_meanwhile = log_seqs(observer)
        locker.execute("ROLLBACK")
        await asyncio.wait_for(asyncio.gather(held, later), WAIT)
        after = log_seqs(observer)
        assert seen_meanwhile == before, "a later seq became visible while an earlier one was still uncommitted"
        assert after == sorted(after) and after[:len(before)] == before and len(after) == len(before) + 2
        assert (await one.reads.get_chat("chan-a")).weather == "rain"
        assert [m.text for m in await two.reads.transcript((await two.reads.get_chat("chan-b")).chat_id)][-1:] == [
            "meanwhile"]
        assert (await one.maintenance.check()).clean and (await two.maintenance.check()).clean
    finally:
        locker.close()
        observer.close()
        await one.close()
        await two.close()


async def test_two_engines_writing_different_chats_at_once_leave_one_consistent_world(pg_url: str):
    engines = [await Engine.open(pg_url), await Engine.open(pg_url)]
    try:
        channels = [f"chan-{e}-{c}" for e in range(2) for c in range(4)]
        for index, channel in enumerate(channels):
            await story(engines[index // 4], ADMIN, channel)

        async def talk(engine: Engine, channel: str) -> None:
            for i in range(15):
                await engine.perform(SayLine(actor=ADMIN, channel_id=channel, message_id=f"{channel}-{i}",
                                             text=f"{channel} line {i}"))

        await asyncio.gather(*(talk(engines[i // 4], ch) for i, ch in enumerate(channels)))
        for engine in engines:
            for channel in channels:
                chat = await engine.reads.get_chat(channel)
                lines = [m.text for m in await engine.reads.transcript(chat.chat_id, limit=50) if m.role == "person"]
                assert lines == [f"{channel} line {i}" for i in range(15)]
            report = await engine.maintenance.check()
            assert report.clean, report.differences
        conn = PgConnection.connect(pg_url)
        try:
            seqs = log_seqs(conn)
            position = conn.execute("SELECT position FROM projection_cursor").fetchone()[0]
        finally:
            conn.close()
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))) and position == seqs[-1]
    finally:
        for engine in engines:
            await engine.close()


async def test_a_story_command_reads_and_decides_while_another_process_holds_the_log_lock(pg_url: str):
    """The log's lock is taken with a story command's append: one its decider refuses never waits for it (were it
    taken at BEGIN, the command would wait out the lock timeout and fail as a storage fault)."""
    engine = await Engine.open(pg_url, busy_ms=3_000)
    holder = PgConnection.connect(pg_url)
    try:
        await story(engine, ADMIN, "chan-a")
        begin_write(holder)  # another process's writer, between its append and its commit
        with pytest.raises(DomainError):
            await engine.perform(RetractMessage(actor=ADMIN, channel_id="chan-a", message_id="never-said"))
    finally:
        holder.close()
        await engine.close()
