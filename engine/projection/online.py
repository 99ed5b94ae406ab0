"""Reproject without stopping the stories: build fresh tables beside the live ones, switch over.

`rebuild()` used to replay the whole log in one write transaction, holding the write lock for the
whole replay (SQLite: 25 s at 1M events; PostgreSQL: 11.6 s at 100k, under the log's table lock): every
story waited. Now, on either backend:

1. **prepare**: create an empty copy of every projected table, with the same columns, constraints and indexes
   (SQLite: beside the live ones under a `__next` name, with the full-text indexes and their triggers, and a table of
   under KEEP_INDEXES rows its plain indexes after the fill; PostgreSQL: in a schema of their own, pg_reproject.py);
2. **fill**: replay the log into the copies in write transactions queued with the stories' own commands. A batch's
   time budget doubles from BATCH_SECONDS up to MAX_BATCH_SECONDS while no command waits for the writer, and drops
   back to BATCH_SECONDS as soon as one does; a batch applies the log a chunk of READ_CHUNK events at a time
   (`Projector.apply_all`: consecutive lines go in together) and ends after the first chunk during which a command
   starts waiting. So a command waits for one chunk and one commit at most, the copies gain on a busy log, and an
   idle database is reprojected in long transactions. The handlers are the same strict functions (plain INSERT), run
   on a connection on which their table names mean the copies (`copies`: SQLite rewrites the names in each statement,
   `RenamedTables`; PostgreSQL sets the transaction's search_path to the copies' schema, as `chronicle check` shadows
   the live tables with temporary ones: the SQL reaches the server unchanged, nothing parses it, and the log and the
   cursor, which have no copy, stay found in `public`);
3. **switch**: once the copies are nearly caught up, one short transaction applies the last events, puts the copies
   in place of the live tables (SQLite renames; PostgreSQL moves schemas, waiting at most SWITCH_WAIT_MS for readers
   of the live tables, else it tries again later), and moves the cursor;
4. **drop**: the old tables are dropped afterwards (SQLite: one slice per transaction; PostgreSQL: one DROP SCHEMA).

Readers see the old world until the switch commits and the new one after it. A crash at any point leaves the live
world as it was. Whether copies are a running reproject's or a dead one's leftovers is decided by the database's
reproject lock, never by the tables existing: the reproject holds it from prepare to drop (SQLite: an OS lock on a
file beside the database, engine/storage/sqlite_lease.py; PostgreSQL: an advisory lock,
engine/storage/pg_reproject.py), the system releases it when its process dies, and any process opening the database
drops leftovers only when it can take the lock (Engine._upgrade_projection); each of the reproject's transactions
checks first that the lock is still held (`hold`).

SQLite-specific: index and trigger names are global in an SQLite file, so a copy's indexes take the other of two
names (`x` / `x__r`) and keep it after the switch. PostgreSQL's names are per schema: the copies keep the live names.
On either backend a reproject started while another process runs one waits for it (`Storage.reprojecting`), saying
once who holds the lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import time
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any, TypeVar

import structlog

from engine import store
from engine.errors import EngineError, ReprojectInterrupted
from engine.projection.projector import CURSOR, REWIND_KIND, projector
from engine.storage.port import Conn, Cursor, dialect_of
from engine.storage.sqlite_rename import rename_tables

log = structlog.get_logger(__name__)
T = TypeVar("T")
FRESH = "__next"
OLD = "__old"
INDEX_TWIN = "__r"
FTS_TABLES = ("memories_fts", "messages_fts")
BATCH_SECONDS = 0.01  # a fill transaction's budget while commands wait for the writer (and the first one's)
MAX_BATCH_SECONDS = 0.25  # … and its most while none does (the commit of a longer one would stall a command)
READ_CHUNK = 50  # events read, decoded and applied at a time; a batch applies at least one chunk
DROP_ROWS = 1500  # rows of an old table deleted per transaction after the switch
PACE_EVENTS = 5_000  # events filled between two waits for `pace` (SQLite: the WAL checkpoint)
SWITCH_LAG = 500  # switch over once the copies are at most this many events behind
KEEP_INDEXES = 30_000  # rows: a table this big keeps its plain indexes in the fill (a build after it takes ~0.8 µs a
# row, the writer held: 0.7–1.1 s for messages_by_chat at 1M events; kept, about as much in all); else built after
SWITCH_WAIT_MS = 200  # PostgreSQL: how long the switch waits for the live tables' readers before trying later
SWITCH_ATTEMPTS = 30  # … and how many times it tries
_INDEX = re.compile(r'^\s*CREATE\s+(UNIQUE\s+)?INDEX\s+"?(\w+)"?\s+ON\s+"?(\w+)"?', re.IGNORECASE)
Write = Callable[[Callable[[Conn], Any]], Awaitable[Any]]
Waiting = Callable[[], bool]


def projected_tables() -> list[str]:
    """Every projected table, parents first, then the full-text index (SQLite's: a table of its own)."""
    return [t.name for t in projector.tables] + list(FTS_TABLES)


def _owned() -> list[str]:
    return [t.name for t in projector.tables]


def _postgres(conn: Conn) -> ModuleType | None:
    """PostgreSQL's half of the reproject when `conn` is a PostgreSQL connection, else None (imported only then)."""
    if dialect_of(conn) != "postgres":
        return None
    from engine.storage import pg_reproject

    return pg_reproject


def copies(conn: Conn, *, quick: bool = False) -> Conn | RenamedTables:
    """`conn` as the handlers see it while they write the copies (`quick`: a fill batch, which PostgreSQL
    commits without waiting for the WAL flush; SQLite's batches follow its `synchronous` setting)."""
    if (pg := _postgres(conn)) is not None:
        pg.point_at_copies(conn, _owned(), quick=quick)
        return conn
    return RenamedTables(conn)


class RenamedTables:
    """A connection on which every projected table name means its fresh copy (for the handlers)."""

    def __init__(self, conn: Conn, suffix: str = FRESH) -> None:
        self._conn = conn
        self._rewrite = _rewriter(tuple(projected_tables()), suffix)

    def execute(self, sql: str, params: Any = (), /) -> Cursor:
        """Run one statement against the copies."""
        return self._conn.execute(self._rewrite(sql), params)

    def executemany(self, sql: str, params: Any, /) -> Any:
        """Run one statement against the copies once per parameter tuple."""
        return self._conn.executemany(self._rewrite(sql), params)


def _rewriter(names: tuple[str, ...], suffix: str) -> Callable[[str], str]:
    pattern = re.compile(r"\b(" + "|".join(sorted(names, key=len, reverse=True)) + r")\b")

    @functools.lru_cache(maxsize=512)
    def rewrite(sql: str) -> str:
        return pattern.sub(lambda m: m.group(1) + suffix, sql)

    return rewrite


def twin_index_name(name: str) -> str:
    """The name a copy's index takes: the other of `name` and `name__r`."""
    return name[: -len(INDEX_TWIN)] if name.endswith(INDEX_TWIN) else name + INDEX_TWIN


def _schema(conn: Conn, kind: str, names: list[str]) -> list[tuple[str, str, str]]:
    marks = ", ".join("?" for _ in names)
    return conn.execute(f"SELECT name, tbl_name, sql FROM sqlite_master WHERE type = ? AND sql IS NOT NULL"
                        f" AND tbl_name IN ({marks}) ORDER BY rowid", (kind, *names)).fetchall()


def leftovers(conn: Conn) -> list[str]:
    """Copies and old tables left by an interrupted reproject."""
    if (pg := _postgres(conn)) is not None:
        return list(pg.leftovers(conn))
    names = [f"{t}{suffix}" for t in projected_tables() for suffix in (FRESH, OLD)]
    marks = ", ".join("?" for _ in names)
    return [row[0] for row in conn.execute(
        f"SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ({marks})", names)]


def drop_leftovers(conn: Conn) -> int:
    """Drop every leftover copy or old table (children first); return how many."""
    if (pg := _postgres(conn)) is not None:
        return int(pg.drop_leftovers(conn))
    found = set(leftovers(conn))
    order = [f"{t}{s}" for s in (FRESH, OLD) for t in reversed(projected_tables())]
    dropped = [name for name in order if name in found]
    for name in dropped:
        conn.execute(f'DROP TABLE "{name}"')
    return len(dropped)


def prepare(conn: Conn) -> None:
    """Create empty copies of the projected tables with their constraints, indexes and triggers."""
    if (pg := _postgres(conn)) is not None:
        pg.prepare(conn, _owned())
        return
    drop_leftovers(conn)
    tables = _owned()
    rename = _rewriter(tuple(projected_tables()), FRESH)
    for _, _, sql in _schema(conn, "table", tables):
        conn.execute(rename(sql))
    for name in FTS_TABLES:  # only the table's own name changes: its content table keeps its live name
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (name,)).fetchone()[0]
        conn.execute(re.sub(rf"\b{name}\b", name + FRESH, sql, count=1))
    large = {t for t in tables if (conn.execute(f'SELECT max(rowid) FROM "{t}"').fetchone()[0] or 0) >= KEEP_INDEXES}
    for name, table, sql in _schema(conn, "index", tables):
        unique, copy = _index_copy(name, table, sql)
        if unique or table in large:  # unique ones check every row as it goes in; see KEEP_INDEXES
            conn.execute(copy)
    for name, _, sql in _schema(conn, "trigger", tables):
        conn.execute(re.sub(rf'^\s*CREATE\s+TRIGGER\s+"?{name}"?', f'CREATE TRIGGER "{name}{FRESH}"',
                            rename(sql), count=1, flags=re.IGNORECASE))


def _index_copy(name: str, table: str, sql: str) -> tuple[bool, str]:
    """(whether it is unique, the statement creating it on the copy) for a live table's index."""
    match = _INDEX.match(sql)
    if match is None:
        raise RuntimeError(f"can't read the index definition of {name}")
    return bool(match.group(1)), (f'CREATE {match.group(1) or ""}INDEX "{twin_index_name(name)}" ON "{table}{FRESH}"'
                                  + sql[match.end():])


def index_copies(conn: Conn, most: int | None = None) -> int:
    """Build the copies' plain indexes that `prepare` left out (SQLite; one sorted bulk build each instead of a
    million scattered inserts), at most `most` of them; return how many were built."""
    missing = _missing_indexes(conn)[:most]
    for name, table, sql in missing:
        conn.execute(_index_copy(name, table, sql)[1])
    return len(missing)


def _missing_indexes(conn: Conn) -> list[tuple[str, str, str]]:
    """The live tables' plain indexes whose copies are not built yet (none on PostgreSQL)."""
    if _postgres(conn) is not None:
        return []
    existing = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    return [(name, table, sql) for name, table, sql in _schema(conn, "index", _owned())
            if twin_index_name(name) not in existing]


def fill(conn: Conn, after: int, budget: float | None = None, waiting: Waiting | None = None
         ) -> tuple[int, int, int, bool]:
    """Apply events after `after` to the copies for about `budget` seconds (default BATCH_SECONDS), a chunk of
    READ_CHUNK at a time, stopping after the first chunk after which `waiting()` says a command waits for the
    writer (so the copies gain on a log that commands keep growing). A chunk holding a `chat_rewound`, whose
    handler reads a chat's rows by the plain indexes, waits for them: the batch ends before it, and the next
    batches build one index each (building them all at once held the writer for as long as a whole fill
    batch's budget several times over, every command waiting) until none is missing.

    Returns (position, events applied, events still behind, whether a waiting command cut it short).
    """
    fresh = copies(conn, quick=True)
    deadline = time.perf_counter() + (BATCH_SECONDS if budget is None else budget)
    position, applied = after, 0
    while applied == 0 or time.perf_counter() < deadline:  # at least one chunk, whatever the budget
        chunk = list(store.read_after(conn, position, until=position + READ_CHUNK))
        if not chunk:
            break
        if any(event.kind == REWIND_KIND for event in chunk) and (missing := _missing_indexes(conn)):
            if not applied:
                conn.execute(_index_copy(*missing[0])[1])
            return position, applied, store.last_seq(conn) - position, False
        projector.apply_all(fresh, chunk)  # type: ignore[arg-type]
        position, applied = chunk[-1].seq, applied + len(chunk)
        if waiting is not None and waiting():
            return position, applied, store.last_seq(conn) - position, True
    return position, applied, store.last_seq(conn) - position, False


def switch(conn: Conn, after: int, version: int) -> tuple[int, int, bool]:
    """Apply the last events to the copies, then put them in place of the live tables (one transaction).

    Returns (events applied here, the copies' position, whether they are now the live tables: PostgreSQL
    does not switch when readers held the live tables longer than SWITCH_WAIT_MS).
    """
    index_copies(conn)
    fresh = copies(conn)
    applied, position = 0, after
    for batch in store.read_batches(conn, after):
        projector.apply_all(fresh, batch)  # type: ignore[arg-type]
        applied, position = applied + len(batch), batch[-1].seq
    if (pg := _postgres(conn)) is not None:
        if not pg.swap(conn, _owned(), SWITCH_WAIT_MS):
            return applied, position, False
    else:
        _rename_into_place(conn)
    conn.execute("UPDATE projection_cursor SET position = ? WHERE name = ?", (position, CURSOR))
    set_version(conn, version)
    return applied, position, True


def _rename_into_place(conn: Conn) -> None:
    """SQLite's switch: the live tables renamed away, the copies renamed into their place, triggers moved."""
    tables = _owned()
    triggers = _schema(conn, "trigger", tables)
    for name, _, _ in triggers + _schema(conn, "trigger", [f"{t}{FRESH}" for t in tables]):
        conn.execute(f'DROP TRIGGER "{name}"')
    rename_tables(conn, {name: f"{name}{OLD}" for name in projected_tables()}
                  | {f"{name}{FRESH}": name for name in projected_tables()})
    for _, _, sql in triggers:
        conn.execute(sql)


def analyze(conn: Conn) -> None:
    """Gather the copies' statistics for the query planner (PostgreSQL; SQLite's copies need none)."""
    if (pg := _postgres(conn)) is not None:
        pg.analyze_copies(conn, _owned())


def drop_some_old(conn: Conn) -> str | None:
    """Delete a slice of an old table left by a switch (children first); a table with few rows left is
    dropped. Returns what was worked on, or None when nothing is left. Run with foreign keys off (SQLite's
    `write_without_foreign_keys`): the old tables are garbage, and checking a self-referencing table row by
    row is quadratic. PostgreSQL drops its old schema whole."""
    if (pg := _postgres(conn)) is not None:
        pg.drop_leftovers(conn)
        return None
    found = set(leftovers(conn))
    for name in [f"{t}{OLD}" for t in reversed(projected_tables())]:
        if name not in found:
            continue
        if name.removesuffix(OLD) not in FTS_TABLES:
            deleted = conn.execute(f'DELETE FROM "{name}" WHERE rowid IN (SELECT rowid FROM "{name}"'
                                   f" ORDER BY rowid DESC LIMIT {DROP_ROWS})").rowcount
            if deleted == DROP_ROWS:
                return name
        conn.execute(f'DROP TABLE "{name}"')
        return name
    return None


def stored_version(conn: Conn) -> int:
    """The projection version the live tables were built with (0 when never recorded)."""
    row = conn.execute("SELECT value FROM projection_meta WHERE name = 'version'").fetchone()
    return int(row[0]) if row else 0


def set_version(conn: Conn, version: int) -> None:
    """Record the projection version the live tables now follow."""
    conn.execute("INSERT INTO projection_meta (name, value) VALUES ('version', ?)"
                 " ON CONFLICT (name) DO UPDATE SET value = excluded.value", (str(version),))


async def rebuild(write: Write, version: int, *, drop: Write | None = None,
                  pace: Callable[[], Awaitable[None]] | None = None, aside: Write | None = None,
                  hold: Callable[[Conn], None] | None = None, waiting: Waiting | None = None) -> int:
    """Reproject the world through `write` (the database's queued writer, each call one short transaction of
    its own) without a long lock; return the events replayed. `drop` runs the old tables' clean-up steps
    (default: `write`; SQLite passes one with foreign keys off); `pace` is awaited between batches (and slices); `aside`
    runs a function on a connection outside the writer's transactions (PostgreSQL: the copies' statistics
    are gathered there once they are nearly caught up, so the planner knows them from the switch on); `hold`
    runs first in each transaction and raises ReprojectInterrupted once the reproject lock is no longer held
    (nothing more is written then, not even the clean-up: the copies belong to the lock's next holder);
    `waiting` says whether a command waits for the writer (without it, every batch keeps BATCH_SECONDS)."""
    write, drop = _holding(write, hold), _holding(drop or write, hold)
    await write(prepare)
    try:
        position, total = await _fill(write, 0, pace, waiting)
        while await write(functools.partial(index_copies, most=1)):  # one index per transaction, before the switch
            pass
        if aside is not None:
            await aside(analyze)
        total += await _switch(write, position, version, pace, replayed=total, waiting=waiting)
    except BaseException:
        with contextlib.suppress(ReprojectInterrupted):
            await write(drop_leftovers)
        raise
    while await drop(drop_some_old) is not None:  # each slice's pages reach the WAL: keep it short as in the fill
        if pace is not None:
            await pace()
    return total


def _holding(write: Write, hold: Callable[[Conn], None] | None) -> Write:
    """`write`, running `hold` first in each of its transactions."""
    if hold is None:
        return write

    def held(fn: Callable[[Conn], T], conn: Conn) -> T:
        hold(conn)
        return fn(conn)

    return lambda fn: write(functools.partial(held, fn))


async def _fill(write: Write, position: int, pace: Callable[[], Awaitable[None]] | None,
                waiting: Waiting | None = None) -> tuple[int, int]:
    """Fill batches until the copies are at most SWITCH_LAG events behind; return (position, events applied).

    `pace` is awaited after the first batch and then after every PACE_EVENTS events (SQLite: waiting for the
    running WAL checkpoint after each short batch left the writer idle most of the time). Each batch's budget
    doubles while no command waited for the writer during the last one, up to MAX_BATCH_SECONDS, and falls back
    to BATCH_SECONDS once one did (or always, without `waiting`)."""
    total, behind, budget, unpaced = 0, SWITCH_LAG + 1, BATCH_SECONDS, PACE_EVENTS
    while behind > SWITCH_LAG:
        position, applied, behind, cut = await write(functools.partial(fill, after=position, budget=budget,
                                                                       waiting=waiting))
        total, unpaced = total + applied, unpaced + applied
        calm = waiting is not None and not cut and not waiting()
        budget = min(MAX_BATCH_SECONDS, max(budget * 2, BATCH_SECONDS)) if calm else BATCH_SECONDS
        if pace is not None and unpaced >= PACE_EVENTS:  # after the first batch, then every PACE_EVENTS events
            unpaced = 0
            await pace()
    return position, total


async def _switch(write: Write, position: int, version: int, pace: Callable[[], Awaitable[None]] | None, *,
                  replayed: int, waiting: Waiting | None = None) -> int:
    """Switch over, catching up again between attempts that found the live tables busy; return events applied
    (`replayed`: how many the fill applied before)."""
    total = 0
    for attempt in range(1, SWITCH_ATTEMPTS + 1):
        started = time.perf_counter()
        outcome: tuple[int, int, bool] = await write(functools.partial(switch, after=position, version=version))
        applied, position, switched = outcome
        total += applied
        switch_ms = round((time.perf_counter() - started) * 1000, 1)
        if switched:
            log.info("reproject_switched", events=replayed + total, switch_ms=switch_ms, attempt=attempt)
            return total
        log.info("reproject_switch_postponed", reason="readers hold the live tables", attempt=attempt)
        await asyncio.sleep(min(1.0, 0.05 * attempt))
        position, applied = await _fill(write, position, pace, waiting)
        total += applied
    raise EngineError(f"the reproject could not switch over: readers kept the live tables busy {SWITCH_ATTEMPTS}"
                      " times (a long transaction on the database?); the live world is unchanged, try again later")
