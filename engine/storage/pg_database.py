"""PostgreSQL access with the SQLite backend's model: a writer and a reader connection, each on its own thread.

Every write is a plain synchronous function run whole in the writer's thread (one thread hop per
transaction), grouped with the commands waiting beside it (engine.storage.group), exactly as
`engine.storage.sqlite.Database` runs them, so the same transaction bodies, projection handlers and queries run
on either backend. A write transaction takes the log's table lock before its first append (`pg_conn.begin_write`
with `late`), so what a command reads and decides before it runs while other processes' writers hold the lock; a
group of story commands holds a shorter lock, around its appends alone (engine/storage/pg_order.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import TypeVar

import psycopg
import structlog

from engine.errors import ReprojectInterrupted, StorageError
from engine.storage import pg_reproject, redact
from engine.storage.group import GroupCommit
from engine.storage.pg_conn import LOCK_LOG, PgConnection, begin_write
from engine.storage.pg_faults import as_storage_error, classify
from engine.storage.pg_migrate import migrate
from engine.storage.pg_order import PgOrdering
from engine.storage.pg_reproject import LOST_LOCK
from engine.storage.pg_turns import take_turn
from engine.storage.port import Conn, Reproject, take_reproject_lock

log = structlog.get_logger(__name__)
T = TypeVar("T")
LOCK_POLL_SECONDS = 0.2  # how often a reproject waiting for another process's looks again


class _Worker:
    """One connection and the single thread that uses it. A connection found lost (a server restart, a terminated
    backend) is opened again before its next use (`revive`), unless it holds session state that must not vanish
    unnoticed (`revive=False`: the reproject's lock)."""

    def __init__(self, url: str, name: str, *, revive: bool = True) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"chronicle-pg-{name}")
        self._url, self._name, self._revive = url, name, revive
        self.setup: str | None = None  # a statement run on every new connection (session settings)
        self.conn: PgConnection | None = None

    async def start(self) -> None:
        """Connect from the worker's own thread."""
        def connect(_: object) -> PgConnection:
            return PgConnection.connect(self._url, application_name=f"chronicle-{self._name}")

        self.conn = await asyncio.get_running_loop().run_in_executor(self._executor, connect, None)

    def revive(self, conn: PgConnection) -> None:
        """Open a lost connection again, with its session settings (on the worker's thread); a server that can't
        be reached yet is one StorageError (nothing ran)."""
        log.warning("database_reconnecting", server=redact(self._url), connection=self._name)
        with as_storage_error(redact(self._url), opening=True):
            conn.reconnect()
        if self.setup is not None:
            conn.execute(self.setup)

    async def run(self, fn: Callable[[PgConnection], T]) -> T:
        """Run `fn(conn)` on the worker's thread (on a new connection if the last one was lost)."""
        def call(conn: PgConnection) -> T:
            if conn.closed and self._revive:
                self.revive(conn)
            return fn(conn)

        return await asyncio.get_running_loop().run_in_executor(self._executor, call, self.conn)  # type: ignore[arg-type]

    async def close(self) -> None:
        """Close the connection on its thread, then stop the thread."""
        if self.conn is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, self.conn.close)
            self.conn = None
        self._executor.shutdown(wait=True)


class PgDatabase(GroupCommit):
    """The engine's PostgreSQL database: the same `write`, `write_alone`, `read` and `close` as SQLite's `Database`.

    Storage faults become StorageError (engine/storage/pg_faults.py: one line naming the server and the fix). A
    lost connection fails what was running on it, which is reported, never run again (a commit may have
    happened); the next use connects again, and a write transaction that finds its connection lost before
    anything of it ran simply begins on the new one.
    """

    dialect = "postgres"

    def __init__(self, writer: _Worker, reader: _Worker, url: str, *, group_commit: bool = True) -> None:
        super().__init__(group_commit=group_commit, ordering=PgOrdering())
        self._writer, self._reader = writer, reader
        self._gate: _Worker | None = None
        self.url = url
        self.location = redact(url)

    @classmethod
    async def open(cls, url: str, *, migrate_now: bool = True, group_commit: bool = True,
                   busy_ms: int = 10_000) -> PgDatabase:
        """Connect a writer and a reader to `url` and apply pending migrations; the writer waits at most `busy_ms`
        for a lock another program holds (lock_timeout). A storage fault is one StorageError."""
        writer, reader = _Worker(url, "writer"), _Worker(url, "reader")
        try:
            with as_storage_error(redact(url), opening=True):
                await writer.start()
                if migrate_now:
                    await writer.run(migrate)
                setup = writer.setup = f"SET lock_timeout = {int(busy_ms)}"  # after migrating: a migration may wait
                await writer.run(lambda conn: conn.execute(setup))
                await reader.start()
        except BaseException:
            await writer.close()
            await reader.close()
            raise
        return cls(writer, reader, url, group_commit=group_commit)

    async def _on_writer(self, fn: Callable[[PgConnection], T]) -> T:
        with as_storage_error(self.location):
            return await self._writer.run(fn)

    def _begin(self, conn: PgConnection) -> None:
        """BEGIN with the log's lock taken late (`begin_write`): a command's reads and decision run before it."""
        try:
            begin_write(conn, late=True)
        except psycopg.OperationalError:
            if not conn.closed:
                raise
            self._writer.revive(conn)  # lost while idle: nothing of this transaction has run, so begin it again
            begin_write(conn, late=True)

    async def write_alone(self, fn: Callable[[Conn], T]) -> T:
        """Run `fn(conn)` in a write transaction of its own holding the log's lock from its first statement (a
        catch-up, a copied log, maintenance: whatever they read of the log stays as read until they commit)."""
        def locked(conn: Conn) -> T:
            conn.execute(LOCK_LOG)
            return fn(conn)

        return await super().write_alone(locked)

    def _fault(self, error: BaseException) -> BaseException:
        """The error a failed command raises: storage faults become StorageError."""
        return classify(error, self.location) or error

    async def read(self, fn: Callable[[PgConnection], T]) -> T:
        """Run `fn(conn)` on the reader's thread (a consistent snapshot per statement); a read that loses its
        connection runs once more on a new one (it changes nothing)."""
        def once_more(conn: PgConnection) -> T:
            try:
                return fn(conn)
            except psycopg.OperationalError:
                if not conn.closed:
                    raise
                self._reader.revive(conn)
                return fn(conn)

        with as_storage_error(self.location):
            return await self._reader.run(once_more)

    async def take_turn(self, key: int, spacing: float) -> None:
        """Wait until `spacing` seconds have passed since any process on this database last took turn `key`."""
        with as_storage_error(self.location):
            if self._gate is None:
                gate = _Worker(self.url, "turns")
                await gate.start()
                self._gate = gate
            await self._gate.run(lambda conn: take_turn(conn, key, spacing))

    @asynccontextmanager
    async def reprojecting(self, *, wait: bool = True) -> AsyncIterator[Reproject | None]:
        """Hold the reproject lock, across processes, on a connection of its own for the duration (None when
        another process holds it and not `wait`); the reproject may run work on that connection, outside the
        writer's transactions (`aside`), and checks in each of its transactions that the lock is still held
        (`hold`: a lost lock connection lost the lock). Closing it releases the lock, as a crash would."""
        side = _Worker(self.url, f"reproject {socket.gethostname()[:30]} pid {os.getpid()}", revive=False)
        held = False
        try:
            with as_storage_error(self.location):
                await side.start()

                async def holder() -> str:
                    return await side.run(pg_reproject.holder)

                held = await take_reproject_lock(lambda: side.run(pg_reproject.try_lock), holder, wait=wait,
                                                 poll=LOCK_POLL_SECONDS)
                session = await side.run(pg_reproject.backend_pid) if held else 0
            yield Reproject(aside=self._aside(side), hold=functools.partial(pg_reproject.hold, session=session)
                            ) if held else None
        finally:
            if held and side.conn is not None and not side.conn.closed:  # at once: the server ends a closed
                with contextlib.suppress(psycopg.Error):                # session's locks a moment later
                    await side.run(pg_reproject.unlock)
            await side.close()

    def _aside(self, side: _Worker) -> Callable[[Callable[[PgConnection], T]], Awaitable[T]]:
        async def run(fn: Callable[[PgConnection], T]) -> T:
            try:
                with as_storage_error(self.location):
                    return await side.run(fn)
            except StorageError:
                if side.conn is None or not side.conn.closed:
                    raise
                raise ReprojectInterrupted(LOST_LOCK) from None  # the lock lived on that connection

        return run

    async def close(self) -> None:
        """Finish the group being committed, then close every connection."""
        await self._finish_writes()
        if self._gate is not None:
            await self._gate.close()
        await self._reader.close()
        await self._writer.close()
