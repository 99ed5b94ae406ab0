"""`PgCursor`: one PostgreSQL statement's result, read like a sqlite3 cursor (engine/storage/pg_conn.py makes them)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg


class PgCursor:
    """The result of one statement, read like a sqlite3 cursor (no `lastrowid`: use RETURNING).

    A statement sent in pipeline mode without waiting (`PgConnection.execute`, deferred) is waited for on the first
    look at its result."""

    __slots__ = ("_cursor", "_later", "_sync")

    def __init__(self, cursor: psycopg.Cursor[Any], sync: Callable[[], None] | None = None,
                 later: Callable[[Callable[[], None]], None] | None = None) -> None:
        self._cursor = cursor
        self._sync = sync
        self._later = later

    def when_answered(self, check: Callable[[PgCursor], None]) -> None:
        """Run `check(self)` once the statement's answer is in: now if it is, else after the connection's next wait
        for the server (before a COMMIT or a savepoint's end at the latest)."""
        if self._later is None or self._sync is None or self._cursor.pgresult is not None:
            check(self)
        else:
            self._later(lambda: check(self))

    def _ready(self) -> psycopg.Cursor[Any]:
        if self._sync is not None:
            if self._cursor.pgresult is None:
                self._sync()
            self._sync = None
        return self._cursor

    @property
    def rowcount(self) -> int:
        """Rows changed by an INSERT/UPDATE/DELETE (or returned by a SELECT)."""
        return self._ready().rowcount

    @property
    def description(self) -> Any:
        """Column descriptions of a result, or None for a statement without rows."""
        return self._ready().description

    def fetchone(self) -> tuple[Any, ...] | None:
        """The next row, or None (also for a statement that returns no rows, as sqlite3 does)."""
        cursor = self._ready()
        return cursor.fetchone() if cursor.description is not None else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        """The remaining rows (empty for a statement that returns no rows)."""
        cursor = self._ready()
        return cursor.fetchall() if cursor.description is not None else []

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        """Iterate over the remaining rows."""
        cursor = self._ready()
        return iter(cursor) if cursor.description is not None else iter(())
