"""Group commit, shared by both backends: one writer, one transaction per group, one savepoint per command.

Commands that arrive while a transaction is running wait and are then committed together, one
savepoint each, so one failing command rolls back alone and every caller is answered only after the
commit that holds its events. A lone command runs in a transaction of its own at once. A `solo`
write (a reproject's batch) takes its turn in the queue but commits in a transaction of its own, so
the commands queued before it are answered without waiting for it.

PostgreSQL aborts a whole transaction after any failed statement, so the savepoints are what lets
the other commands of a group commit; on SQLite they cost next to nothing. A `Phased` command (a story command,
decided against its own chat's version) reads and decides first and records after: a group decides all its phased
commands before recording any, so on PostgreSQL their reads run before the log's lock is taken (any other command
first records the phased ones before it, and is decided against the world they leave). A backend supplies how a
function reaches its writer connection (`_on_writer`) and how a write transaction begins (`_begin`:
SQLite's `BEGIN IMMEDIATE`, PostgreSQL's `BEGIN` plus the log's table lock).

A backend whose writers run in several processes at once may also supply an `Ordering` (PostgreSQL: a ticket chain,
engine/storage/pg_order.py), which runs a group made only of phased commands in steps (engine/storage/ordered.py); a
statement that needs the whole log held there (`NeedsLogLock`) sends the group back to the one-lock way.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import structlog

from engine.storage.port import Conn

log = structlog.get_logger(__name__)
T = TypeVar("T")
Job = Callable[[Conn], Any]


class NeedsLogLock(BaseException):  # noqa: N818 — a signal, not an error: caught by the group runner alone
    """Raised by a connection running a group under an `Ordering` when a statement needs the whole log held (it passes
    the savepoints' `except Exception`): the group is rolled back and run the one-lock way."""


class Ordering(Protocol):
    """How a backend orders writers that append at the same time (engine/storage/ordered.py runs its steps)."""

    def run(self, conn: Any, fns: list[Job], begin: Callable[[Any], None]) -> list[Any]:
        """Run a group of phased commands in one transaction, its steps ordered (NeedsLogLock: rolled back, run it
        the one-lock way)."""


class GroupCommit:
    """The writer side of a Storage: `write` (grouped) and `write_alone` over a backend's writer connection."""

    MAX_BATCH = 256  # commands committed together at most

    def __init__(self, *, group_commit: bool = True, ordering: Ordering | None = None) -> None:
        self._pending: list[tuple[Job, asyncio.Future[Any]]] = []
        self._busy = False
        self._drainer: asyncio.Task[None] | None = None
        self.group_commit = group_commit
        self.ordering = ordering

    def commands_waiting(self) -> bool:
        """Whether writes are queued for the writer (a reproject's batch ends early then; any thread may ask)."""
        return bool(self._pending)

    async def _on_writer(self, fn: Callable[[Any], T]) -> T:
        """Run `fn(conn)` whole on the writer connection's thread."""
        raise NotImplementedError

    def _begin(self, conn: Any) -> None:
        """Start a write transaction on the writer connection."""
        raise NotImplementedError

    def _wrote(self, commands: int = 1) -> None:
        """Called after every write transaction with how many commands it held (SQLite paces checkpoints here)."""

    def _refuse(self) -> None:
        """Raise before a write when the backend takes none (SQLite: a damaged file)."""

    def _fault(self, error: BaseException) -> BaseException:
        """The error a failed write raises (SQLite turns storage faults into StorageError here)."""
        return error

    async def write(self, fn: Callable[[Conn], T], *, solo: bool = False) -> T:
        """Run `fn(conn)` in a write transaction, grouped with the commands waiting beside it (alone: `solo`)."""
        self._refuse()
        if self._busy:
            future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
            self._pending.append((Solo(fn) if solo else fn, future))
            return await future
        self._busy = True
        try:
            outcome = await self._on_writer(lambda conn: run_batch(conn, [fn], self._begin, self.ordering)[0])
        finally:
            self._hand_over()
        self._wrote()
        if isinstance(outcome, Failed):
            raise self._fault(outcome.error)
        value: T = outcome
        return value

    async def write_alone(self, fn: Callable[[Conn], T]) -> T:
        """Run `fn(conn)` in a write transaction of its own (rebuild, catch-up, a copied log)."""
        self._refuse()

        def run(conn: Any) -> T:
            self._begin(conn)
            try:
                value = fn(conn)
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return value

        result = await self._on_writer(run)
        self._wrote()
        return result

    def _hand_over(self) -> None:
        """After a transaction: keep committing what queued up meanwhile, in a task of its own."""
        if self._pending and self._drainer is None:
            self._drainer = asyncio.get_running_loop().create_task(self._drain(), name="chronicle-group-commit")
        elif not self._pending:
            self._busy = False

    async def _drain(self) -> None:
        """Commit the waiting commands in groups until none wait."""
        try:
            while self._pending:
                size = self.MAX_BATCH if self.group_commit else 1
                solo = [i for i, (fn, _) in enumerate(self._pending[:size]) if isinstance(fn, Solo)]
                size = 1 if solo and solo[0] == 0 else min([size, *solo])
                batch, self._pending = self._pending[:size], self._pending[size:]
                fns = [fn for fn, _ in batch]
                try:
                    outcomes = await self._on_writer(functools.partial(run_batch, fns=fns, begin=self._begin,
                                                                         ordering=self.ordering))
                except BaseException as exc:  # the commit itself failed: nothing of the group was recorded
                    outcomes = [Failed(exc)] * len(batch)
                    if not isinstance(exc, Exception):
                        settle(batch, outcomes)
                        raise
                settle(batch, [Failed(self._fault(o.error)) if isinstance(o, Failed) else o for o in outcomes])
                self._wrote(len(batch))
        finally:
            self._drainer = None
            self._busy = False
            if self._pending:  # cancelled while commands waited: they are not left hanging
                settle(self._pending, [Failed(RuntimeError("the database is closing"))] * len(self._pending))
                self._pending = []

    async def _finish_writes(self) -> None:
        """Wait for the group being committed (before closing)."""
        if self._drainer is not None:
            await asyncio.shield(self._drainer)


class Solo:
    """A write that commits in a transaction of its own."""

    __slots__ = ("fn",)

    def __init__(self, fn: Job) -> None:
        self.fn = fn

    def __call__(self, conn: Conn) -> Any:
        return self.fn(conn)


class Phased:
    """A command in two phases: `decide(conn)` reads and decides, writing nothing, and returns the function that
    records it (appends, projects, answers); alone, both run at once."""

    __slots__ = ("decide",)

    def __init__(self, decide: Callable[[Conn], Job]) -> None:
        self.decide = decide

    def __call__(self, conn: Conn) -> Any:
        return self.decide(conn)(conn)


class Failed:
    """A command of a group that raised (its savepoint was rolled back)."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


def run_batch(conn: Any, fns: list[Job], begin: Callable[[Any], None], ordering: Ordering | None = None) -> list[Any]:
    """One transaction for a group of commands, a savepoint each; a lone command needs no savepoint. Under an
    `Ordering`, a group of phased commands only runs in its steps (the one-lock way if a statement needs it)."""
    if ordering is not None and all(isinstance(fn, Phased) for fn in fns):
        try:
            return ordering.run(conn, fns, begin)
        except NeedsLogLock as needs:  # rolled back: run it the one-lock way from the start
            log.debug("ordered_group_needs_log_lock", statement=str(needs)[:80], commands=len(fns))
    outcomes: list[Any] = []
    begin(conn)
    try:
        if len(fns) == 1:
            try:
                outcomes.append(fns[0](conn))
            except Exception as exc:
                if conn.in_transaction:  # SQLite rolls back by itself after some faults (a full disk)
                    conn.execute("ROLLBACK")
                return [Failed(exc)]
        else:
            outcomes = _run_group(conn, fns)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return outcomes


def _run_group(conn: Any, fns: list[Job]) -> list[Any]:
    """A group's commands in order, a savepoint each, the phased ones decided before any of them is recorded (any
    other command records those before it first)."""
    outcomes: list[Any] = [None] * len(fns)
    decided: list[tuple[int, Job]] = []
    for index, fn in enumerate(fns):
        if isinstance(fn, Phased):
            record = _in_savepoint(conn, fn.decide)
            if isinstance(record, Failed):
                outcomes[index] = record
            else:
                decided.append((index, record))
            continue
        _record(conn, decided, outcomes)
        outcomes[index] = _in_savepoint(conn, fn)
    _record(conn, decided, outcomes)
    return outcomes


def _record(conn: Any, decided: list[tuple[int, Job]], outcomes: list[Any]) -> None:
    """Record the decided phased commands, a savepoint each, in their order."""
    for index, record in decided:
        outcomes[index] = _in_savepoint(conn, record)
    decided.clear()


def _in_savepoint(conn: Any, fn: Job) -> Any:
    """Run one command of a group; on failure only its own changes are undone (the transaction goes on)."""
    conn.execute("SAVEPOINT command")
    try:
        value = fn(conn)
    except Exception as exc:
        if not conn.in_transaction:  # the whole transaction was rolled back (a full disk): the group fails
            raise exc from None
        conn.execute("ROLLBACK TO SAVEPOINT command")
        conn.execute("RELEASE SAVEPOINT command")
        return Failed(exc)
    conn.execute("RELEASE SAVEPOINT command")
    return value


def settle(batch: list[tuple[Job, asyncio.Future[Any]]], outcomes: list[Any]) -> None:
    """Answer each waiting caller with its command's result or error."""
    for (_, future), outcome in zip(batch, outcomes, strict=True):
        if future.done():
            continue
        if isinstance(outcome, Failed):
            future.set_exception(outcome.error)
        else:
            future.set_result(outcome)
