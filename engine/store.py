"""The event store: the sole writer and reader of the `events` table."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import structlog

from engine.errors import ConcurrencyConflict
from engine.events import Event, Recorded, load_stored

log = structlog.get_logger(__name__)

_COLUMNS = (
    "seq, stream, stream_version, kind, version, chat_id, guild_id, actor_id, payload, recorded_at, idempotency_key"
)
READ_BATCH = 2_000


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event decided by the command layer, not yet in the log."""

    payload: Event
    guild_id: str | None
    actor_id: str | None


def stream_version(conn: sqlite3.Connection, stream: str) -> int:
    """The number of events in `stream` so far (0 for a new stream)."""
    row = conn.execute("SELECT MAX(stream_version) FROM events WHERE stream = ?", (stream,)).fetchone()
    return row[0] or 0


def find_by_key(conn: sqlite3.Connection, key: str) -> Recorded | None:
    """The event recorded under an idempotency key, or None."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM events WHERE idempotency_key = ?", (key,)).fetchone()
    return None if row is None else _to_recorded(row)


def append(
    conn: sqlite3.Connection,
    stream: str,
    expected_version: int,
    events: Sequence[NewEvent],
    *,
    recorded_at: str,
    idempotency_key: str | None = None,
) -> list[Recorded]:
    """Append `events` to `stream`, which must be at `expected_version`; the caller holds the transaction."""
    recorded: list[Recorded] = []
    version = expected_version
    for index, new in enumerate(events):
        payload = new.payload
        if payload.stream() != stream:
            raise ValueError(f"{payload.kind} belongs to {payload.stream()}, not {stream}")
        version += 1
        key = idempotency_key if index == 0 else None
        body = payload.model_dump_json()
        try:
            cursor = conn.execute(
                "INSERT INTO events (stream, stream_version, kind, version, chat_id, guild_id, actor_id,"
                " payload, recorded_at, idempotency_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (stream, version, payload.kind, payload.version, payload.chat, new.guild_id, new.actor_id,
                 body, recorded_at, key),
            )
        except sqlite3.IntegrityError as exc:
            if "stream_version" in str(exc) or "events.stream" in str(exc):
                raise ConcurrencyConflict(f"{stream} moved past version {expected_version}") from exc
            raise
        recorded.append(
            Recorded(cursor.lastrowid, stream, version, payload.kind, payload.version, payload.chat,
                     new.guild_id, new.actor_id, payload, recorded_at, key)
        )
    return recorded


def last_seq(conn: sqlite3.Connection) -> int:
    """The highest seq in the log (0 when empty)."""
    return conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]


def read_after(conn: sqlite3.Connection, after: int, *, until: int | None = None) -> Iterator[Recorded]:
    """Stream the log after `after` (and up to `until`), in seq order, a batch at a time."""
    position = after
    while True:
        if until is None:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (position, READ_BATCH)
            ).fetchall()
        else:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM events WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
                (position, until, READ_BATCH),
            ).fetchall()
        if not rows:
            return
        for row in rows:
            yield _to_recorded(row)
        position = rows[-1][0]


def read_chat(conn: sqlite3.Connection, chat_id: str, *, before: int | None = None) -> list[Recorded]:
    """One chat's events in seq order (those before `before` if given)."""
    sql = f"SELECT {_COLUMNS} FROM events WHERE chat_id = ?"
    params: tuple = (chat_id,)
    if before is not None:
        sql += " AND seq < ?"
        params = (chat_id, before)
    return [_to_recorded(row) for row in conn.execute(sql + " ORDER BY seq", params)]


def read_recent(
    conn: sqlite3.Connection, *, chat_id: str | None = None, guild_id: str | None = None, limit: int = 20
) -> list[Recorded]:
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


def _to_recorded(row: Sequence) -> Recorded:
    """A stored row → Recorded, upcasting the payload to its current version."""
    payload = load_stored(row[3], row[4], row[8])
    return Recorded(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], payload, row[9], row[10])
