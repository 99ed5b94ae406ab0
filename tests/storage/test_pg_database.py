"""PgDatabase: whole functions run on one thread per connection, as on SQLite; the engine's write path runs on it."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from engine import queries, store
from engine.errors import ConcurrencyConflict
from engine.projection import apply_new
from engine.storage.pg_conn import PgConnection, write_transaction
from engine.storage.pg_database import PgDatabase
from engine.store import Stamp
from tests.storage.story import CHAT, build_story


async def test_writes_and_reads_run_whole_on_their_own_threads(pg_empty_url: str):
    db = await PgDatabase.open(pg_empty_url)  # migrates the empty database
    try:
        threads: list[str] = []

        def write(conn: PgConnection) -> list[int]:
            threads.append(threading.current_thread().name)
            seqs = []
            for new in build_story().events:
                with write_transaction(conn):
                    stream = new.payload.stream()
                    recorded = store.append(conn, stream, store.stream_version(conn, stream), [new],
                                                stamp=Stamp("now"))
                    apply_new(conn, recorded)
                seqs += [r.seq for r in recorded]
            return seqs

        seqs = await db.write(write)
        assert seqs == list(range(1, len(build_story().events) + 1))
        chat = await db.read(lambda conn: queries.find_chat(conn, CHAT))
        names = await db.read(lambda conn: (threading.current_thread().name, queries.count_messages(conn, CHAT)))
        assert chat is not None and chat.weather == "storm" and names[1] == 6
        assert threads[0].startswith("chronicle-pg-writer") and names[0].startswith("chronicle-pg-reader")
    finally:
        await db.close()


async def test_an_error_in_a_write_reaches_the_caller_and_the_connection_goes_on(pg_url: str):
    db = await PgDatabase.open(pg_url)
    try:
        story = build_story().events

        def append_at(version: int) -> Callable[[PgConnection], int]:
            def run(conn: PgConnection) -> int:
                with write_transaction(conn):
                    return store.append(conn, story[0].payload.stream(), version, story[:1],
                                            stamp=Stamp("now"))[0].seq
            return run

        assert await db.write(append_at(0)) == 1
        with pytest.raises(ConcurrencyConflict):
            await db.write(append_at(0))
        assert await db.write(append_at(1)) == 3  # the writer goes on; seq 2 was the rolled-back attempt
    finally:
        await db.close()
