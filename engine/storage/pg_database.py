"""PostgreSQL access with the SQLite backend's model: a writer and a reader connection, each on its own thread.

Every write is a plain synchronous function run whole in the writer's thread (one thread hop per
transaction), grouped with the commands waiting beside it (engine.storage.group), exactly as
`engine.db.Database` runs them, so the same transaction bodies, projection handlers and queries run
on either backend. A write transaction takes the log's table lock first (`pg_conn.begin_write`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import TypeVar

from engine.storage import pg_reproject, redact
from engine.storage.group import GroupCommit
from engine.storage.pg_conn import PgConnection, begin_write
from engine.storage.pg_migrate import migrate
from engine.storage.pg_turns import take_turn
from engine.storage.port import Reproject

T = TypeVar("T")
LOCK_POLL_SECONDS = 0.2  # how often a reproject waiting for another process's looks again


class _Worker:
    """One connection and the single thread that uses it."""

    def __init__(self, url: str, name: str) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"chronicle-pg-{name}")
        self._url, self._name = url, name
        self.conn: PgConnection | None = None

    async def start(self) -> None:
        """Connect from the worker's own thread."""
        name = f"chronicle-{self._name}"
        self.conn = await self.run(lambda _: PgConnection.connect(self._url, application_name=name))

    async def run(self, fn: Callable[[PgConnection], T]) -> T:
        """Run `fn(conn)` on the worker's thread."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, self.conn)  # type: ignore[arg-type]

    async def close(self) -> None:
        """Close the connection on its thread, then stop the thread."""
        if self.conn is not None:
            await self.run(lambda conn: conn.close())
            self.conn = None
        self._executor.shutdown(wait=True)


class PgDatabase(GroupCommit):
    """The engine's PostgreSQL database: the same `write`, `write_alone`, `read` and `close` as `engine.db.Database`."""

    dialect = "postgres"

    def __init__(self, writer: _Worker, reader: _Worker, url: str, *, group_commit: bool = True) -> None:
        super().__init__(group_commit=group_commit)
        self._writer, self._reader = writer, reader
        self._gate: _Worker | None = None
        self.url = url
        self.location = redact(url)

    @classmethod
    async def open(cls, url: str, *, migrate_now: bool = True, group_commit: bool = True) -> PgDatabase:
        """Connect a writer and a reader to `url` and apply pending migrations."""
        writer, reader = _Worker(url, "writer"), _Worker(url, "reader")
        try:
            await writer.start()
            if migrate_now:
                await writer.run(migrate)
            await reader.start()
        except BaseException:
            await writer.close()
            await reader.close()
            raise
        return cls(writer, reader, url, group_commit=group_commit)

    async def _on_writer(self, fn: Callable[[PgConnection], T]) -> T:
        return await self._writer.run(fn)

    def _begin(self, conn: PgConnection) -> None:
        begin_write(conn)

    async def read(self, fn: Callable[[PgConnection], T]) -> T:
        """Run `fn(conn)` on the reader's thread (a consistent snapshot per statement)."""
        return await self._reader.run(fn)

    async def take_turn(self, key: int, spacing: float) -> None:
        """Wait until `spacing` seconds have passed since any process on this database last took turn `key`."""
        if self._gate is None:
            self._gate = _Worker(self.url, "turns")
            await self._gate.start()
        await self._gate.run(lambda conn: take_turn(conn, key, spacing))

    @asynccontextmanager
    async def reprojecting(self, *, wait: bool = True) -> AsyncIterator[Reproject | None]:
        """Hold the reproject lock, across processes, on a connection of its own for the duration (None when
        another process holds it and not `wait`); the reproject may run work on that connection, outside the
        writer's transactions (`aside`). Closing it releases the lock, as a crash would."""
        side = _Worker(self.url, "reproject")
        try:
            await side.start()
            held = await side.run(pg_reproject.try_lock)
            while not held and wait:
                await asyncio.sleep(LOCK_POLL_SECONDS)
                held = await side.run(pg_reproject.try_lock)
            yield Reproject(aside=side.run) if held else None
        finally:
            await side.close()

    async def close(self) -> None:
        """Finish the group being committed, then close every connection."""
        await self._finish_writes()
        if self._gate is not None:
            await self._gate.close()
        await self._reader.close()
        await self._writer.close()
