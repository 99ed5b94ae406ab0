"""The event store: the sole writer and reader of the `events` table, on either backend.

The SQL here is the portable subset both backends run (`INSERT … RETURNING`, no SQLite-only
functions). A caller holds the write transaction (the backend's: SQLite's BEGIN IMMEDIATE, or
PostgreSQL's BEGIN plus the log's table lock, so seq order is commit order on both); `append`
checks the stream's expected version for real: the first event is written at
`expected_version + 1`, so a stale decision trips `UNIQUE(stream, stream_version)` and becomes a
ConcurrencyConflict, as does an idempotency key another writer recorded first.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from engine.errors import ConcurrencyConflict
from engine.events import Event, Recorded, load_stored
from engine.storage.port import Conn, dialect_of, is_unique_violation

log = structlog.get_logger(__name__)

_COLUMNS = ("seq, stream, stream_version, kind, version, chat_id, guild_id, actor_id, payload, recorded_at,"
            " idempotency_key, command_id, cause")
READ_BATCH = 2_000
APPEND_ROWS = 1_000  # events in one `append_many` statement at most (12 parameters each; PostgreSQL allows 65,535)


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event decided by the command layer, not yet in the log."""

    payload: Event
    guild_id: str | None
    actor_id: str | None


@dataclass(frozen=True, slots=True)
class Stamp:
    """What every event of one command shares: when, which command, and what caused it."""

    recorded_at: str
    command_id: str | None = None
    cause: str | None = None


def hold_log(conn: Conn) -> None:
    """Take the log's write lock now, before anything is read (SQLite holds it from BEGIN IMMEDIATE; PostgreSQL's
    writer takes it late, with the first append, unless asked here: engine/storage/pg_conn.py)."""
    take = getattr(conn, "hold_log", None)
    if take is not None:
        take()


def stream_version(conn: Conn, stream: str) -> int:
    """The number of events in `stream` so far (0 for a new stream)."""
    row = conn.execute("SELECT MAX(stream_version) FROM events WHERE stream = ?", (stream,)).fetchone()
    return row[0] or 0


def find_by_key(conn: Conn, key: str) -> Recorded | None:
    """The event recorded under an idempotency key, or None."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM events WHERE idempotency_key = ?", (key,)).fetchone()
    return None if row is None else _to_recorded(row)


def read_command(conn: Conn, first: Recorded) -> list[Recorded]:
    """Every event of the command whose first event is `first`, in order (its stream's next versions)."""
    rows = conn.execute(f"SELECT {_COLUMNS} FROM events WHERE stream = ? AND stream_version >= ?"
                        " ORDER BY stream_version LIMIT ?", (first.stream, first.stream_version, COMMAND_MAX))
    out = []
    for row in rows:
        event = _to_recorded(row)
        if not _same_command(event, first):
            break
        out.append(event)
    return out


COMMAND_MAX = 256  # no command appends more events than this to one stream


def _same_command(event: Recorded, other: Recorded) -> bool:
    """Whether two events of one stream were written by one command (legacy events: by one time stamp)."""
    if event.command_id is not None or other.command_id is not None:
        return event.command_id == other.command_id
    return event.recorded_at == other.recorded_at


_INSERT = ("INSERT INTO events (stream, stream_version, kind, version, chat_id, guild_id, actor_id, payload,"
           " recorded_at, idempotency_key, command_id, cause) VALUES ")
_ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_APPEND = f"{_INSERT}{_ROW} RETURNING seq"


def _params(stream: str, version: int, new: NewEvent, stamp: Stamp, key: str | None) -> tuple[Any, ...]:
    payload = new.payload
    return (stream, version, payload.kind, payload.version, payload.chat, new.guild_id, new.actor_id,
            payload.model_dump_json(), stamp.recorded_at, key, stamp.command_id, stamp.cause)


def _recorded(seq: int, stream: str, version: int, new: NewEvent, stamp: Stamp, key: str | None) -> Recorded:
    payload = new.payload
    return Recorded(seq, stream, version, payload.kind, payload.version, payload.chat, new.guild_id, new.actor_id,
                    payload, stamp.recorded_at, key, stamp.command_id, stamp.cause)


def append(conn: Conn, stream: str, expected_version: int, events: Sequence[NewEvent], *, stamp: Stamp,
           idempotency_key: str | None = None) -> list[Recorded]:
    """Append `events` to `stream`, which must be at `expected_version`; the caller holds the transaction.

    A stale `expected_version`, or an idempotency key already recorded, raises ConcurrencyConflict;
    on PostgreSQL, like any failed statement, it also aborts the transaction (or savepoint) around it.
    """
    if not conn.in_transaction:
        raise RuntimeError("append needs the caller's write transaction (BEGIN first)")
    recorded: list[Recorded] = []
    version = expected_version
    for index, new in enumerate(events):
        if new.payload.stream() != stream:
            raise ValueError(f"{new.payload.kind} belongs to {new.payload.stream()}, not {stream}")
        version += 1
        key = idempotency_key if index == 0 else None
        try:
            row = _params(stream, version, new, stamp, key)
            seq = conn.execute(_APPEND, row).fetchone()[0]
        except Exception as exc:
            if is_unique_violation(exc, "stream_version") or is_unique_violation(exc, "events.stream"):
                log.info("append_conflict", stream=stream, expected_version=expected_version)
                raise ConcurrencyConflict(f"{stream} moved past version {expected_version}") from exc
            if is_unique_violation(exc, "idempotency_key"):
                log.info("append_duplicate_key", stream=stream, key=key)
                raise ConcurrencyConflict(f"idempotency key {key} was recorded by another writer") from exc
            raise
        recorded.append(_recorded(seq, stream, version, new, stamp, key))
    return recorded


@dataclass(frozen=True, slots=True)
class Appending:
    """One command's events for `append_many`: its stream, the version it was decided at, its stamp and key."""

    stream: str
    expected_version: int
    events: Sequence[NewEvent]
    stamp: Stamp
    idempotency_key: str | None = None


def append_many(conn: Conn, commands: Sequence[Appending]) -> list[list[Recorded]]:
    """Append several commands' events with one statement, each command's to its stream at its expected version, in
    the order given; return each command's recorded events. A stale version or a key already recorded anywhere in
    the lot raises ConcurrencyConflict after the other rows went in: the caller rolls back (a savepoint) and appends
    the commands one at a time to find which (`append`)."""
    if not conn.in_transaction:
        raise RuntimeError("append_many needs the caller's write transaction (BEGIN first)")
    rows: list[tuple[str, int, NewEvent, Stamp, str | None]] = []
    for command in commands:
        for index, new in enumerate(command.events):
            if new.payload.stream() != command.stream:
                raise ValueError(f"{new.payload.kind} belongs to {new.payload.stream()}, not {command.stream}")
            rows.append((command.stream, command.expected_version + index + 1, new, command.stamp,
                         command.idempotency_key if index == 0 else None))
    returned: list[tuple[int, str, int]] = []
    for start in range(0, len(rows), APPEND_ROWS):  # one statement, unless the lot is very large
        chunk = rows[start:start + APPEND_ROWS]
        sql = f"{_INSERT}{', '.join([_ROW] * len(chunk))} ON CONFLICT DO NOTHING RETURNING seq, stream, stream_version"
        returned += conn.execute(sql, [value for row in chunk for value in _params(*row)]).fetchall()
    if len(returned) != len(rows):
        log.info("append_many_conflict", commands=len(commands), rows=len(rows), appended=len(returned))
        raise ConcurrencyConflict(f"{len(rows) - len(returned)} of {len(rows)} events met a stale version or key")
    seqs = {(stream, version): seq for seq, stream, version in returned}
    recorded = iter([_recorded(seqs[row[0], row[1]], *row) for row in rows])
    return [[next(recorded) for _ in command.events] for command in commands]


def last_seq(conn: Conn) -> int:
    """The highest seq in the log (0 when empty)."""
    return int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0])


def chat_last_seq(conn: Conn, chat_id: str, *, at_most: int | None = None) -> int:
    """The seq of a chat's newest event (at or before `at_most` when given; 0 when none)."""
    if at_most is None:
        row = conn.execute("SELECT MAX(seq) FROM events WHERE chat_id = ?", (chat_id,)).fetchone()
    else:
        row = conn.execute("SELECT MAX(seq) FROM events WHERE chat_id = ? AND seq <= ?", (chat_id, at_most)).fetchone()
    return row[0] or 0


def command_span(conn: Conn, seq: int) -> tuple[int, int]:
    """(first seq, last seq) of the command that recorded event `seq`.

    A command's events in a stream have consecutive stream versions: walk the stream's index both ways
    while the command id (for events from before command ids: the time stamp) stays the same.
    """
    row = conn.execute(f"SELECT {_COLUMNS} FROM events WHERE seq = ?", (seq,)).fetchone()
    if row is None:
        return seq, seq
    event = _to_recorded(row)
    spans = []
    for op, order in ((">", "ASC"), ("<", "DESC")):
        last = event.seq
        for neighbour in conn.execute(f"SELECT {_COLUMNS} FROM events WHERE stream = ? AND stream_version {op} ?"
                                      f" ORDER BY stream_version {order} LIMIT ?",
                                      (event.stream, event.stream_version, COMMAND_MAX)):
            other = _to_recorded(neighbour)
            if not _same_command(other, event):
                break
            last = other.seq
        spans.append(last)
    return spans[1], spans[0]


def read_after(conn: Conn, after: int, *, until: int | None = None) -> Iterator[Recorded]:
    """Stream the log after `after` (and up to `until`), in seq order, a batch at a time."""
    for batch in read_batches(conn, after, until=until):
        yield from batch


def read_batches(conn: Conn, after: int, *, until: int | None = None) -> Iterator[list[Recorded]]:
    """The log after `after` (and up to `until`), in seq order, in lists of at most READ_BATCH events."""
    position = after
    while True:
        if until is None:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                                (position, READ_BATCH)).fetchall()
        else:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM events WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
                                (position, until, READ_BATCH)).fetchall()
        if not rows:
            return
        yield [_to_recorded(row) for row in rows]
        position = rows[-1][0]


def read_chat(conn: Conn, chat_id: str, *, before: int | None = None) -> list[Recorded]:
    """One chat's events in seq order (those before `before` if given)."""
    sql = f"SELECT {_COLUMNS} FROM events WHERE chat_id = ?"
    params: tuple[Any, ...] = (chat_id,)
    if before is not None:
        sql += " AND seq < ?"
        params = (chat_id, before)
    return [_to_recorded(row) for row in conn.execute(sql + " ORDER BY seq", params)]


def read_recent(conn: Conn, *, chat_id: str | None = None, guild_id: str | None = None,
                limit: int = 20) -> list[Recorded]:
    """The newest events, newest last, optionally of one chat or one guild."""
    where, params = [], []
    if chat_id is not None:
        where.append("chat_id = ?")
        params.append(chat_id)
    if guild_id is not None:
        where.append("guild_id = ?")
        params.append(guild_id)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = conn.execute(f"SELECT {_COLUMNS} FROM events {clause} ORDER BY seq DESC LIMIT ?", (*params, limit))
    return [_to_recorded(row) for row in rows][::-1]


def read_page(conn: Conn, after: int, *, chat_id: str | None = None, limit: int = READ_BATCH) -> list[Recorded]:
    """Up to `limit` events after seq `after` (of one chat), in seq order: one page of a dump."""
    if chat_id is None:
        rows = conn.execute(f"SELECT {_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit))
    else:
        rows = conn.execute(f"SELECT {_COLUMNS} FROM events WHERE chat_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                            (chat_id, after, limit))
    return [_to_recorded(row) for row in rows]


def seq_before_newest(conn: Conn, count: int, *, chat_id: str | None = None) -> int:
    """The seq after which the newest `count` events (of one chat) begin (0 when there are no more than that)."""
    where, params = ("WHERE chat_id = ? ", (chat_id,)) if chat_id is not None else ("", ())
    row = conn.execute(f"SELECT seq FROM events {where}ORDER BY seq DESC LIMIT 1 OFFSET ?", (*params, count)).fetchone()
    return int(row[0]) if row is not None else 0


def read_rows(conn: Conn, after: int, limit: int = READ_BATCH) -> list[tuple[Any, ...]]:
    """Stored rows after `after`, as they are (payloads neither parsed nor upcast): what copying a log moves."""
    return conn.execute(f"SELECT {_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)).fetchall()


def insert_rows(conn: Conn, rows: Sequence[Sequence[Any]]) -> None:
    """Write stored rows with their own seqs into a log (copying one); the caller holds the write transaction."""
    overriding = " OVERRIDING SYSTEM VALUE" if dialect_of(conn) == "postgres" else ""  # seq is an identity there
    sql = f"INSERT INTO events ({_COLUMNS}){overriding} VALUES ({', '.join('?' for _ in _COLUMNS.split(','))})"
    conn.executemany(sql, [tuple(row) for row in rows])


def continue_seq(conn: Conn) -> None:
    """After `insert_rows`: the next append gets the seq after the highest one (PostgreSQL's identity sequence)."""
    if dialect_of(conn) == "postgres":
        conn.execute("SELECT setval(pg_get_serial_sequence('events', 'seq'), GREATEST(MAX(seq), 1),"
                     " MAX(seq) IS NOT NULL) FROM events")


def _to_recorded(row: Sequence[Any]) -> Recorded:
    """A stored row → Recorded, upcasting the payload to its current version."""
    payload = load_stored(row[3], row[4], row[8])
    return Recorded(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], payload, row[9], row[10],
                    row[11], row[12])
