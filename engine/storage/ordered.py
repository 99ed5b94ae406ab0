"""A group of story commands in steps, for a backend whose writers in several processes append at the same time.

A group made only of phased commands whose second phase comes as a `Recording` runs in one transaction: decide them
all (no lock), take the backend's ordering lock, append every command's events (one statement for the group when it
can: `Recording.append_together`), let the lock go, project them (one pass over the group's events:
`project_together`), answer each, wait until every writer that appended before has ended, move the projection cursor
once, commit. The lock covers the appends alone, so other processes' groups project and answer while this one
appends. Whatever fails together is done again one command at a time, each in a savepoint: a stale append fails
its command alone; a projection or an answer that fails after the appends cannot be undone alone (savepoints nest),
so the group is rolled back and run again without that command. A lone command needs no savepoint: whatever of it
fails, its transaction is rolled back. The backend's steps (`Steps`: PostgreSQL's in engine/storage/pg_order.py)
say how the lock is taken, let go and waited for; engine/storage/group.py runs everything else. SQLite's write
transaction holds the whole log from BEGIN IMMEDIATE, so its steps do nothing (`HeldLog`): it runs a group in the
same steps for their single statement per table and single cursor move.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Protocol

from engine.storage.group import Failed, Job, Phased, _in_savepoint, _record
from engine.storage.port import Conn


class Steps(Protocol):
    """A backend's ordering lock, step by step, on its writer connection."""

    def enter(self, conn: Any) -> None:
        """A write transaction begun for an ordered group: statements that need the log held raise NeedsLogLock."""

    def leave(self, conn: Any) -> None:
        """Back to the one-lock way in the same transaction (nothing was appended yet)."""

    def take(self, conn: Any) -> None:
        """Take the ordering lock (with the next statement): the group's appends follow."""

    def let_go(self, conn: Any, first_seq: int | None) -> None:
        """After the appends: hold the group's ticket (its first seq, if it appended) to COMMIT, and release the
        ordering lock."""

    def wait(self, conn: Any, first_seq: int, last_seq: int) -> None:
        """Wait until every writer holding an earlier ticket has ended (sent with the next statement: the cursor's
        move and COMMIT)."""

    def release(self, conn: Any, *, committed: bool) -> None:
        """After the transaction ended: let the ordering lock go if it may still be held (`committed`: it was let go
        before COMMIT, which ran every statement sent before it)."""


class Recording(ABC):
    """A phased command's second phase, in the steps of an ordered group. Called whole, it is the one-lock way's
    single step (append, project with the cursor's move, answer). The `…_together` methods take the group's
    recordings (or events) at once; the first recording's are called (`append_together` here does one at a time)."""

    @abstractmethod
    def __call__(self, conn: Conn) -> Any:
        """The whole second phase, the one-lock way."""

    @abstractmethod
    def append(self, conn: Conn) -> list[Any]:
        """Append this command's events and return them (each with its `seq`)."""

    @abstractmethod
    def project(self, conn: Conn, events: list[Any]) -> None:
        """Project this command's events, leaving the projection cursor where it is."""

    @abstractmethod
    def answer(self, conn: Conn, events: list[Any]) -> Any:
        """The command's result, read once its events are projected."""

    @abstractmethod
    def settle(self, conn: Conn, last_seq: int) -> None:
        """Move the projection cursor to `last_seq`, once every earlier writer has ended."""

    @abstractmethod
    def project_together(self, conn: Conn, events: list[Any]) -> None:
        """Project the events of the whole group, in seq order."""

    def append_together(self, conn: Conn, recordings: list[Recording]) -> list[list[Any]]:
        """Append every recording's events (a failure undoes them all: they are then appended one at a time)."""
        return [recording.append(conn) for recording in recordings]


class _Redo(Exception):  # noqa: N818 — caught by `run_ordered` alone
    """A command's projection or answer failed after the group's appends: run the group again without it."""

    def __init__(self, index: int, failed: Failed) -> None:
        super().__init__(index)
        self.index, self.failed = index, failed


def run_ordered(conn: Any, fns: list[Job], begin: Callable[[Any], None], steps: Steps) -> list[Any]:
    """A group of phased commands in one transaction in `steps`, run again without any command whose projection or
    answer failed after the appends."""
    outcomes: dict[int, Any] = {}
    while live := [index for index in range(len(fns)) if index not in outcomes]:
        begin(conn)
        try:
            steps.enter(conn)
            results = _run(conn, [fns[index] for index in live], steps)
            conn.execute("COMMIT")
        except _Redo as redo:
            if conn.in_transaction:  # SQLite rolls back by itself after some faults (a full disk)
                conn.execute("ROLLBACK")
            steps.release(conn, committed=False)
            outcomes[live[redo.index]] = redo.failed
            continue
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            steps.release(conn, committed=False)
            raise
        steps.release(conn, committed=True)
        outcomes.update(zip(live, results, strict=True))
    return [outcomes[index] for index in range(len(fns))]


def _run(conn: Any, fns: list[Job], steps: Steps) -> list[Any]:
    """Decide, append under the ordering lock, project, answer, wait, move the cursor (a second phase that comes
    whole runs the one-lock way in this transaction)."""
    step = _in_savepoint if len(fns) > 1 else _alone
    outcomes: list[Any] = [None] * len(fns)
    decided: list[tuple[int, Job]] = []
    for index, fn in enumerate(fns):
        if not isinstance(fn, Phased):
            raise TypeError(f"an ordered group runs phased commands only, not {fn!r}")
        record = step(conn, fn.decide)
        if isinstance(record, Failed):
            outcomes[index] = record
        else:
            decided.append((index, record))
    if not all(isinstance(record, Recording) for _, record in decided):
        steps.leave(conn)
        _record(conn, decided, outcomes)
        return outcomes
    if not decided:
        return outcomes
    recordings: list[tuple[int, Recording]] = [(index, record) for index, record in decided
                                               if isinstance(record, Recording)]
    steps.take(conn)
    appended = _append(conn, recordings, outcomes, step)
    seqs = [event.seq for _, _, events in appended for event in events]
    steps.let_go(conn, seqs[0] if seqs else None)
    _project(conn, appended, [event for _, _, events in appended for event in events], step)
    for index, record, events in appended:
        answer = step(conn, _bound(record.answer, events))
        if isinstance(answer, Failed):
            raise _Redo(index, answer)
        outcomes[index] = answer
    if seqs:
        steps.wait(conn, seqs[0], seqs[-1])
        appended[0][1].settle(conn, seqs[-1])
    return outcomes


def _append(conn: Any, recordings: list[tuple[int, Recording]], outcomes: list[Any],
            step: Callable[[Any, Job], Any]) -> list[tuple[int, Recording, list[Any]]]:
    """Every recording's events, together in one step when there are several, else (or if that fails) one by one."""
    if len(recordings) > 1:
        first = recordings[0][1]
        together = _in_savepoint(conn, lambda c: first.append_together(c, [record for _, record in recordings]))
        if not isinstance(together, Failed):
            return [(index, record, events) for (index, record), events in zip(recordings, together, strict=True)]
    appended: list[tuple[int, Recording, list[Any]]] = []
    for index, record in recordings:
        events = step(conn, record.append)
        if isinstance(events, Failed):
            outcomes[index] = events
        else:
            appended.append((index, record, events))
    return appended


def _project(conn: Any, appended: list[tuple[int, Recording, list[Any]]], events: list[Any],
             step: Callable[[Any, Job], Any]) -> None:
    """Project the group's events in one pass when there are several commands, else (or if that fails) one command
    at a time; a command whose projection fails has the group run again without it."""
    if not events:
        return
    if len(appended) > 1:
        first = appended[0][1]
        if not isinstance(_in_savepoint(conn, lambda c: first.project_together(c, events)), Failed):
            return
    for index, record, own in appended:
        projected = step(conn, _bound(record.project, own))
        if isinstance(projected, Failed):
            raise _Redo(index, projected)


def _bound(method: Callable[[Conn, list[Any]], Any], events: list[Any]) -> Job:
    return lambda conn: method(conn, events)


def _alone(conn: Any, fn: Job) -> Any:
    """A lone command's step: a failure rolls its transaction back (`_Redo`, with nothing left to run)."""
    try:
        return fn(conn)
    except Exception as exc:
        raise _Redo(0, Failed(exc)) from None


class HeldLog:
    """The steps of a backend whose write transaction holds the whole log from BEGIN (SQLite): nothing to take, let
    go or wait for; a group still appends with one statement, projects in one pass and moves the cursor once."""

    def run(self, conn: Any, fns: list[Job], begin: Callable[[Any], None]) -> list[Any]:
        return run_ordered(conn, fns, begin, self)

    def enter(self, conn: Any) -> None:
        return None

    def leave(self, conn: Any) -> None:
        return None

    def take(self, conn: Any) -> None:
        return None

    def let_go(self, conn: Any, first_seq: int | None) -> None:
        return None

    def wait(self, conn: Any, first_seq: int, last_seq: int) -> None:
        return None

    def release(self, conn: Any, *, committed: bool) -> None:
        return None
