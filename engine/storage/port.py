"""The storage port: what the engine needs from a database, whichever backend holds it.

`Conn` is the DB-API subset the shared SQL (event store, projection handlers, queries) is written
against: `execute(sql, params)` with `?` placeholders, returning a cursor. `Storage` is what the
engine drives: grouped write transactions, reads, and the log's maintenance. A second backend
implements these two and nothing else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, Protocol, TypeVar

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

    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Cursor:
        """Run one statement with `?` placeholders."""


class Storage(Protocol):
    """A backend: one writer that groups commands into transactions, readers, maintenance."""

    location: str
    dialect: str

    async def write(self, fn: Callable[[Conn], T]) -> T:
        """Run `fn` in a write transaction (possibly shared with other commands, each in a savepoint)."""

    async def write_alone(self, fn: Callable[[Conn], T]) -> T:
        """Run `fn` in a write transaction of its own."""

    async def read(self, fn: Callable[[Conn], T]) -> T:
        """Run `fn` on a reader connection."""

    async def close(self) -> None:
        """Close every connection."""


def is_unique_violation(exc: BaseException, constraint: str) -> bool:
    """Whether `exc` is a UNIQUE violation naming `constraint` (a column list or a constraint name)."""
    name = type(exc).__name__
    if name not in {"IntegrityError", "UniqueViolation"}:
        return False
    return constraint in str(exc) or constraint in str(getattr(getattr(exc, "diag", None), "constraint_name", ""))


Unit = Callable[[Conn], T]
AsyncFn = Callable[[], Awaitable[T]]
