"""The projector: one handler per event kind, the tables each area owns, and the cursor.

Handlers are plain functions run inside the writer's transaction. They are strict (plain
INSERT, UPDATEs that must touch a row): applying an event twice fails loudly. Nothing here
replays the log onto live tables; `rebuild` empties them first. A kind may also have a run handler
(`on_run`), which `apply_all` hands consecutive events of its kinds at once, with the rows the one-by-one
handlers would leave (a replay reads and writes per run, not per event: PostgreSQL's round trips).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog

from engine import store
from engine.errors import ProjectionError
from engine.events import Event, Recorded
from engine.storage import pg_faults
from engine.storage.port import Conn, dialect_of, is_database_error
from engine.storage.sqlite_faults import is_fault

log = structlog.get_logger(__name__)
Handler = Callable[[Conn, Recorded[Any]], None]
RunHandler = Callable[[Conn, Sequence[Recorded[Any]], dict[Any, Any]], None]
H = TypeVar("H", bound=Handler)
R = TypeVar("R", bound=RunHandler)
CURSOR = "world"
VERSION = 6  # bump when a handler derives rows differently: every database is then reprojected once at open
REWIND_KIND = "chat_rewound"  # its handler rebuilds one chat's rows and needs the chat_id indexes


@dataclass(frozen=True, slots=True)
class OwnedTable:
    """A projected table, the module that owns it, and whether rows belong to one chat."""

    name: str
    owner: str
    chat_scoped: bool


class Projector:
    """The registry of handlers and owned tables."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}
        self._runs: dict[str, RunHandler] = {}
        self._run_reads: set[str] = set()  # the tables the run handlers keep what they read of
        self._forgets: dict[str, bool] = {}  # kind → whether its handler writes one of those tables (filled lazily)
        self._tables: list[OwnedTable] = []

    def owns(self, owner: str, *, chat: Sequence[str] = (), world: Sequence[str] = ()) -> None:
        """Declare the tables a handler module owns, parents before children."""
        for name, scoped in [(t, True) for t in chat] + [(t, False) for t in world]:
            if any(t.name == name for t in self._tables):
                raise RuntimeError(f"table {name} is already owned by another module")
            self._tables.append(OwnedTable(name, owner, scoped))

    def on(self, event_cls: type[Event]) -> Callable[[H], H]:
        """Register the handler for one event kind; a second handler for a kind is an error."""

        def register(fn: H) -> H:
            if event_cls.kind in self._handlers:
                raise RuntimeError(f"a second handler for {event_cls.kind}: {fn.__qualname__}")
            self._handlers[event_cls.kind] = fn
            return fn

        return register

    def on_run(self, *event_classes: type[Event], reads: Sequence[str]) -> Callable[[R], R]:
        """Register a handler for consecutive events of these kinds (`apply_all`), which must leave exactly the rows
        their own handlers leave one by one. It is handed a dict, keyed by chat id, in which it may keep what it read
        of the `reads` tables between runs: when an event whose handler's module owns one of them is applied, its
        chat's entry goes (every entry, for an event of no chat). A chat's rows follow from its own events alone,
        as a rewind, which rebuilds one chat from them, relies on too."""

        def register(fn: R) -> R:
            for event_cls in event_classes:
                if event_cls.kind in self._runs:
                    raise RuntimeError(f"a second run handler for {event_cls.kind}: {fn.__qualname__}")
                self._runs[event_cls.kind] = fn
            self._run_reads.update(reads)
            self._forgets.clear()
            return fn

        return register

    def _forgets_reads(self, kind: str) -> bool:
        """Whether the handler of `kind` belongs to a module that owns a table some run handler keeps reads of."""
        forgets = self._forgets.get(kind)
        if forgets is None:
            module = self._handlers[kind].__module__
            forgets = self._forgets[kind] = any(t.owner == module and t.name in self._run_reads for t in self._tables)
        return forgets

    def verify(self, kinds: Iterable[str]) -> None:
        """Fail unless every kind has exactly one handler."""
        missing = sorted(set(kinds) - set(self._handlers))
        if missing:
            raise RuntimeError(f"event kinds without a projection handler: {', '.join(missing)}")

    @property
    def tables(self) -> tuple[OwnedTable, ...]:
        """Every projected table, in creation (parent-first) order."""
        return tuple(self._tables)

    def apply(self, conn: Conn, event: Recorded) -> None:
        """Run the handler for one event (inside the caller's transaction)."""
        try:
            self._handlers[event.kind](conn, event)
        except Exception as exc:
            error = _projection_error(exc, f"{event.kind} #{event.seq}")
            if error is None:
                raise
            raise error from exc

    def apply_all(self, conn: Conn, events: Sequence[Recorded]) -> None:
        """Run the handlers of `events` in order (inside the caller's transaction); consecutive events that share a
        run handler (`on_run`) go to it together."""
        start, count = 0, len(events)
        kept: dict[RunHandler, dict[Any, Any]] = {}
        while start < count:
            kind = events[start].kind
            run, end = self._runs.get(kind), start + 1
            if run is None:
                self.apply(conn, events[start])
                if kept and self._forgets_reads(kind):
                    _forget(kept, events[start].chat_id)
            else:
                while end < count and self._runs.get(events[end].kind) is run:
                    end += 1
                self._apply_run(conn, run, events[start:end], kept.setdefault(run, {}))
            start = end

    def _apply_run(self, conn: Conn, run: RunHandler, events: Sequence[Recorded], kept: dict[Any, Any]) -> None:
        try:
            run(conn, events, kept)
        except Exception as exc:
            error = _projection_error(exc, f"{events[0].kind} #{events[0].seq}" if len(events) == 1
                                      else f"events #{events[0].seq}–#{events[-1].seq}")
            if error is None:
                raise
            raise error from exc

    def clear_all(self, conn: Conn) -> None:
        """Delete every projected row (children first)."""
        for table in reversed(self._tables):
            conn.execute(f"DELETE FROM {table.name}")

    def clear_chat(self, conn: Conn, chat_id: str) -> None:
        """Delete one chat's projected rows (children first)."""
        for table in reversed(self._tables):
            if table.chat_scoped:
                conn.execute(f"DELETE FROM {table.name} WHERE chat_id = ?", (chat_id,))


def _forget(kept: dict[RunHandler, dict[Any, Any]], chat_id: str | None) -> None:
    """Drop what the run handlers keep of one chat (of every chat when `chat_id` is None)."""
    for memo in kept.values():
        if chat_id is None:
            memo.clear()
        else:
            memo.pop(chat_id, None)


def _projection_error(exc: Exception, what: str) -> ProjectionError | None:
    """The ProjectionError a handler's exception becomes, or None when it is raised as it is (a ProjectionError
    already; a storage fault, which is not the event's; anything unexpected)."""
    if isinstance(exc, ProjectionError) or is_fault(exc) or pg_faults.is_fault(exc):
        return None
    if isinstance(exc, (KeyError, ValueError)) or is_database_error(exc):
        return ProjectionError(f"projecting {what} failed: {exc}")
    return None


projector = Projector()


_POSITION = "SELECT position FROM projection_cursor WHERE name = ?"


def position(conn: Conn) -> int:
    """The seq of the last event applied to the world tables."""
    return int(conn.execute(_POSITION, (CURSOR,)).fetchone()[0])


def position_later(conn: Conn) -> Callable[[], int]:
    """`position`, asked now and read when called: on PostgreSQL the question goes with the next statement waited for
    (a command's append), so the two cost one round trip. Ask it under the log's lock, after which only this
    transaction moves the cursor."""
    if dialect_of(conn) != "postgres":  # no round trip to save; and an unfinished SELECT would keep SQLite from
        known = position(conn)        # dropping a table on this connection for as long as the cursor lives
        return lambda: known
    cursor = conn.execute(_POSITION, (CURSOR,))
    return lambda: int(cursor.fetchall()[0][0])


def _advance(conn: Conn, seq: int) -> None:
    conn.execute("UPDATE projection_cursor SET position = ? WHERE name = ?", (seq, CURSOR))


def apply_new(conn: Conn, events: Sequence[Recorded], *, at: Callable[[], int] | None = None) -> None:
    """Project freshly appended events and advance the cursor (caller holds the transaction; `at`: the cursor's
    position asked before the append, `position_later`)."""
    if not events:
        return
    if (position(conn) if at is None else at()) != events[0].seq - 1:
        catch_up_in(conn, until=events[0].seq - 1)
    projector.apply_all(conn, events)
    _advance(conn, events[-1].seq)


def settle_ordered(conn: Conn, last_seq: int) -> None:
    """Move the cursor past a group's events, which their own transaction has projected, once every writer that
    appended before it has ended (PostgreSQL's ticket chain, engine/storage/pg_order.py). Every writer projects what
    it appends in the same transaction, so everything below them that committed is projected by then; the seqs in
    between that no event holds are appends rolled back. Sent without waiting: it goes with COMMIT."""
    _advance(conn, last_seq)


def catch_up_in(conn: Conn, *, until: int | None = None) -> int:
    """Apply the events after the cursor (caller holds the transaction); return how many."""
    count, last = 0, None
    for batch in store.read_batches(conn, position(conn), until=until):
        projector.apply_all(conn, batch)
        count, last = count + len(batch), batch[-1].seq
    if last is not None:
        _advance(conn, last)
    return count


def rebuild_in(conn: Conn) -> int:
    """Empty every projected table and replay the log from seq 1 (caller holds the transaction).

    The projected tables' plain secondary indexes are dropped first and built again once the rows
    are in (a sorted bulk build instead of a million scattered inserts: about 20% faster at 1M
    events). Unique indexes stay, so constraints are checked during the replay as always, and the
    indexes come back before the first rewind, whose handler needs them. All of it is inside the
    caller's transaction: readers never see the world without its indexes. That step is SQLite's
    only: on PostgreSQL `DROP INDEX` would lock every reader out until the rebuild commits, while
    SQLite's readers keep reading their WAL snapshot.
    """
    dropped = _drop_secondary_indexes(conn) if dialect_of(conn) == "sqlite" else []
    projector.clear_all(conn)
    _advance(conn, 0)
    count, last = 0, None
    for batch in store.read_batches(conn, 0):
        if dropped and any(event.kind == REWIND_KIND for event in batch):
            dropped = _restore_indexes(conn, dropped)
        projector.apply_all(conn, batch)
        count, last = count + len(batch), batch[-1].seq
    _restore_indexes(conn, dropped)
    if last is not None:
        _advance(conn, last)
    return count


def _drop_secondary_indexes(conn: Conn) -> list[str]:
    """Drop the non-unique indexes of the projected tables; return their CREATE statements."""
    names = [t.name for t in projector.tables]
    rows = conn.execute(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        f" AND tbl_name IN ({', '.join('?' for _ in names)}) ORDER BY name", names,
    ).fetchall()
    kept = [(name, sql) for name, sql in rows if not sql.lstrip().upper().startswith("CREATE UNIQUE")]
    for name, _ in kept:
        conn.execute(f'DROP INDEX "{name}"')
    return [sql for _, sql in kept]


def _restore_indexes(conn: Conn, statements: list[str]) -> list[str]:
    """Create the dropped indexes again; return the (now empty) list of those still missing."""
    for sql in statements:
        conn.execute(sql)
    return []


def effective_chat_events(conn: Conn, chat_id: str, before: int) -> list[Recorded]:
    """A chat's events before `before` that still count, after applying the rewinds among them."""
    kept: list[Recorded] = []
    for event in store.read_chat(conn, chat_id, before=before):
        if event.kind == "chat_rewound":
            to_seq = event.payload.to_seq  # type: ignore[attr-defined]
            while kept and kept[-1].seq > to_seq:
                kept.pop()
        else:
            kept.append(event)
    return kept


def reproject_chat(conn: Conn, chat_id: str, *, before: int, to_seq: int | None = None) -> int:
    """Rebuild one chat's rows from its effective events (≤ `to_seq`); return how many were dropped."""
    events = effective_chat_events(conn, chat_id, before)
    kept = [e for e in events if to_seq is None or e.seq <= to_seq]
    projector.clear_chat(conn, chat_id)
    projector.apply_all(conn, kept)
    return len(events) - len(kept)
