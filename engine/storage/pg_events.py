"""The event store on PostgreSQL: the same functions as engine/store.py, through a PgConnection.

Appends take `LOCK TABLE events IN EXCLUSIVE MODE` first (the scheme of the eventsourcing
library's PostgreSQL recorder): appending transactions run one at a time, so seq order is commit
order and a projector reading `seq > cursor` never skips an event that commits later with a
smaller seq. Plain reads are not blocked by the lock. A rolled-back append leaves a hole in seq
that readers pass. The seq comes back from `INSERT … RETURNING seq`; there is no `lastrowid`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
import structlog

from engine.errors import ConcurrencyConflict
from engine.events import Recorded, load_stored
from engine.storage.pg_conn import PgConnection
from engine.store import NewEvent, Stamp

log = structlog.get_logger(__name__)

COLUMNS = (
    "seq, stream, stream_version, kind, version, chat_id, guild_id, actor_id, payload, recorded_at, idempotency_key"
)
READ_BATCH = 2_000
STREAM_VERSION_CONSTRAINT = "events_stream_version_key"
IDEMPOTENCY_CONSTRAINT = "events_idempotency_key_key"
_INSERT = (
    "INSERT INTO events (stream, stream_version, kind, version, chat_id, guild_id, actor_id, payload,"
    " recorded_at, idempotency_key, command_id, cause) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq"
)


def lock_log(conn: PgConnection) -> None:
    """Make this transaction the log's only appender until it ends (readers are not blocked)."""
    conn.execute("LOCK TABLE events IN EXCLUSIVE MODE")


def stream_version(conn: PgConnection, stream: str) -> int:
    """The number of events in `stream` so far (0 for a new stream)."""
    row = conn.execute("SELECT MAX(stream_version) FROM events WHERE stream = ?", (stream,)).fetchone()
    return 0 if row is None or row[0] is None else row[0]


def find_by_key(conn: PgConnection, key: str) -> Recorded | None:
    """The event recorded under an idempotency key, or None."""
    row = conn.execute(f"SELECT {COLUMNS} FROM events WHERE idempotency_key = ?", (key,)).fetchone()
    return None if row is None else to_recorded(row)


def append(
    conn: PgConnection,
    stream: str,
    expected_version: int,
    events: Sequence[NewEvent],
    *,
    stamp: Stamp,
    idempotency_key: str | None = None,
) -> list[Recorded]:
    """Append `events` to `stream`, which must be at `expected_version`; the caller holds the transaction.

    A stale `expected_version` (or an idempotency key already recorded) raises ConcurrencyConflict;
    like any failed statement on PostgreSQL it aborts the transaction (or the savepoint) around it.
    """
    if not conn.in_transaction:
        raise RuntimeError("append needs the caller's transaction (BEGIN first)")
    for new in events:
        if new.payload.stream() != stream:
            raise ValueError(f"{new.payload.kind} belongs to {new.payload.stream()}, not {stream}")
    lock_log(conn)
    recorded: list[Recorded] = []
    for index, new in enumerate(events):
        payload, version = new.payload, expected_version + index + 1
        key = idempotency_key if index == 0 else None
        try:
            row = conn.execute(_INSERT, (
                stream, version, payload.kind, payload.version, payload.chat, new.guild_id, new.actor_id,
                payload.model_dump_json(), stamp.recorded_at, key, stamp.command_id, stamp.cause,
            )).fetchone()
        except psycopg.errors.UniqueViolation as exc:
            conflict = _conflict(exc, stream, expected_version, key)
            if conflict is None:
                raise
            raise conflict from exc
        if row is None:
            raise RuntimeError("INSERT … RETURNING seq returned no row")
        recorded.append(Recorded(row[0], stream, version, payload.kind, payload.version, payload.chat,
                                 new.guild_id, new.actor_id, payload, stamp.recorded_at, key, stamp.command_id,
                                 stamp.cause))
    return recorded


def _conflict(exc: psycopg.errors.UniqueViolation, stream: str, expected: int,
              key: str | None) -> ConcurrencyConflict | None:
    """The ConcurrencyConflict for a tripped UNIQUE constraint of the log, or None for any other."""
    constraint = exc.diag.constraint_name
    if constraint == STREAM_VERSION_CONSTRAINT:
        log.info("append_conflict", stream=stream, expected_version=expected)
        return ConcurrencyConflict(f"{stream} moved past version {expected}")
    if constraint == IDEMPOTENCY_CONSTRAINT:
        log.info("append_duplicate_key", stream=stream, key=key)
        return ConcurrencyConflict(f"idempotency key {key} was recorded by another writer")
    return None


def last_seq(conn: PgConnection) -> int:
    """The highest seq in the log (0 when empty)."""
    return int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0])  # type: ignore[index]


def read_after(conn: PgConnection, after: int, *, until: int | None = None) -> Iterator[Recorded]:
    """Stream the log after `after` (and up to `until`), in seq order, a batch at a time (holes are passed)."""
    position = after
    while True:
        if until is None:
            rows = conn.execute(f"SELECT {COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                                (position, READ_BATCH)).fetchall()
        else:
            rows = conn.execute(f"SELECT {COLUMNS} FROM events WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
                                (position, until, READ_BATCH)).fetchall()
        if not rows:
            return
        for row in rows:
            yield to_recorded(row)
        position = rows[-1][0]


def read_chat(conn: PgConnection, chat_id: str, *, before: int | None = None) -> list[Recorded]:
    """One chat's events in seq order (those before `before` if given)."""
    sql = f"SELECT {COLUMNS} FROM events WHERE chat_id = ?"
    params: tuple[Any, ...] = (chat_id,)
    if before is not None:
        sql, params = sql + " AND seq < ?", (chat_id, before)
    return [to_recorded(row) for row in conn.execute(sql + " ORDER BY seq", params)]


def read_recent(conn: PgConnection, *, chat_id: str | None = None, guild_id: str | None = None,
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
    rows = conn.execute(f"SELECT {COLUMNS} FROM events {clause} ORDER BY seq DESC LIMIT ?", (*params, limit))
    return [to_recorded(row) for row in rows][::-1]


def to_recorded(row: Sequence[Any]) -> Recorded:
    """A stored row → Recorded, upcasting the payload to its current version."""
    payload = load_stored(row[3], row[4], row[8])
    return Recorded(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], payload, row[9], row[10])
