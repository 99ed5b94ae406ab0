"""The storage port: what the engine needs from a database, whichever backend holds it.

`Conn` is the DB-API subset the shared SQL (event store, projection handlers, queries) is written
against: `execute(sql, params)` with `?` placeholders, returning a cursor. `Storage` is what the
engine drives: grouped write transactions, reads, and the log's maintenance. A second backend
implements these two and nothing else.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import structlog

log = structlog.get_logger(__name__)
T = TypeVar("T")


class Cursor(Protocol):
    """A statement's result."""

    @property
    def rowcount(self) -> int:
        """Rows the statement changed (-1 when not known)."""

    def fetchone(self) -> Any:
        """The next row, or None."""

    def fetchall(self) -> list[Any]:
        """Every remaining row."""

    def __iter__(self) -> Iterator[Any]:
        """Iterate over the remaining rows."""


class Conn(Protocol):
    """A connection the shared SQL runs on (inside a transaction the storage holds)."""

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open."""

    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Cursor:
        """Run one statement with `?` placeholders."""

    def executemany(self, sql: str, params: Sequence[Sequence[Any]], /) -> Any:
        """Run one statement once per parameter tuple."""


@dataclass(frozen=True)
class Reproject:
    """What a backend lends a world reproject (engine/projection/online.py `rebuild`): how the old tables are
    dropped, what to await between fill batches, a connection of its own outside the writer's transactions, and
    `hold`: run first in each of the reproject's transactions, it raises ReprojectInterrupted once the reproject
    no longer holds the database's reproject lock (so it never writes copies someone else may own by then)."""

    drop: Callable[[Callable[[Conn], Any]], Awaitable[Any]] | None = None
    pace: Callable[[], Awaitable[None]] | None = None
    aside: Callable[[Callable[[Any], Any]], Awaitable[Any]] | None = None
    hold: Callable[[Any], None] | None = None


async def take_reproject_lock(try_take: Callable[[], Awaitable[bool]], holder: Callable[[], Awaitable[str]], *,
                              wait: bool, poll: float) -> bool:
    """Take a backend's reproject lock (`try_take` never waits); with `wait`, poll until it is free, saying once
    who holds it. False when another process holds it and not `wait`."""
    if await try_take():
        return True
    if not wait:
        return False
    log.warning("reproject_waiting", reason="a reproject is already running", holder=await holder())
    while not await try_take():
        await asyncio.sleep(poll)
    return True


class Storage(Protocol):
    """A backend: one writer that groups commands into transactions, readers, maintenance."""

    location: str
    dialect: str

    async def write(self, fn: Callable[[Conn], T], *, solo: bool = False) -> T:
        """Run `fn` in a write transaction (possibly shared with other commands, each in a savepoint; `solo`:
        in its queue turn, but in a transaction of its own)."""

    async def write_alone(self, fn: Callable[[Conn], T]) -> T:
        """Run `fn` in a write transaction of its own."""

    def commands_waiting(self) -> bool:
        """Whether writes wait for the writer now (a reproject's batch gives way to them)."""

    async def read(self, fn: Callable[[Conn], T]) -> T:
        """Run `fn` on a reader connection."""

    def reprojecting(self, *, wait: bool = True) -> AbstractAsyncContextManager[Reproject | None]:
        """A world reproject's turn: one at a time across every process opening the database, held by a lock the
        system releases when its process dies (None when another holds it and `wait` is false)."""

    async def close(self) -> None:
        """Close every connection."""


def when_answered(cursor: Cursor, check: Callable[[Cursor], None]) -> None:
    """Run `check(cursor)` now, or, for a statement PostgreSQL sent without waiting (a reproject's fill batch), once its
    answer is in: a check that fails then still fails the transaction before it commits."""
    later = getattr(cursor, "when_answered", None)
    if later is None:
        check(cursor)
    else:
        later(check)


def dialect_of(conn: Any) -> str:
    """"sqlite" or "postgres": which SQL a connection speaks (the shared SQL's few dialect hooks ask this)."""
    return getattr(conn, "dialect", "sqlite")


def is_database_error(exc: BaseException) -> bool:
    """Whether `exc` was raised by a backend's database driver (sqlite3 or psycopg)."""
    if isinstance(exc, sqlite3.Error):
        return True
    psycopg = sys.modules.get("psycopg")  # loaded by any PostgreSQL connection that could have raised
    return psycopg is not None and isinstance(exc, psycopg.Error)


def is_unique_violation(exc: BaseException, constraint: str) -> bool:
    """Whether `exc` is a UNIQUE violation naming `constraint` (a column list or a constraint name)."""
    name = type(exc).__name__
    if name not in {"IntegrityError", "UniqueViolation"}:
        return False
    return constraint in str(exc) or constraint in str(getattr(getattr(exc, "diag", None), "constraint_name", ""))


Unit = Callable[[Conn], T]
AsyncFn = Callable[[], Awaitable[T]]
