"""Reproject without stopping the stories (SQLite): build fresh tables beside the live ones, switch over.

`rebuild()` used to replay the whole log in one write transaction, holding SQLite's write lock for
the whole replay (25 s at 1M events): every story waited. Now:

1. **prepare**: create an empty copy of every projected table (and the memories' full-text index and
   its triggers) under a `__next` name, with the same columns, constraints and indexes;
2. **fill**: replay the log into the copies in short write transactions (about BATCH_SECONDS each), queued
   with the stories' own commands, so a command waits for one batch at most. The handlers are the
   same strict functions (plain INSERT), run on a connection wrapper that points their table names
   at the copies (`RenamedTables`);
3. **switch**: once the copies are nearly caught up, one short transaction applies the last events,
   renames the live tables away and the copies into their place, and moves the cursor;
4. **drop**: the old tables are dropped one per transaction afterwards.

Readers see the old world until the switch commits and the new one after it. A crash at any point
leaves the live world as it was; the leftovers are dropped by the next reproject (or at start-up).

SQLite-specific: index and trigger names are global in an SQLite file, so a copy's indexes take the
other of two names (`x` / `x__r`) and keep it after the switch. PostgreSQL would build the copies in
a schema of their own (search_path) and swap them with ALTER TABLE … SET SCHEMA in the switch.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any, TypeVar

import structlog

from engine import store
from engine.db import transaction
from engine.projection.projector import CURSOR, projector
from engine.storage.port import Conn, Cursor

log = structlog.get_logger(__name__)
T = TypeVar("T")
FRESH = "__next"
OLD = "__old"
INDEX_TWIN = "__r"
FTS_TABLES = ("memories_fts",)
BATCH_SECONDS = 0.01  # one fill transaction holds the write lock about this long
READ_CHUNK = 50  # events read (and decoded) at a time, so a batch ends close to its budget
DROP_ROWS = 1500  # rows of an old table deleted per transaction after the switch
SWITCH_LAG = 500  # switch over once the copies are at most this many events behind
_INDEX = re.compile(r'^\s*CREATE\s+(UNIQUE\s+)?INDEX\s+"?(\w+)"?\s+ON\s+"?(\w+)"?', re.IGNORECASE)
Write = Callable[[Callable[[Conn], Any]], Awaitable[Any]]


def projected_tables() -> list[str]:
    """Every projected table, parents first, then the full-text index."""
    return [t.name for t in projector.tables] + list(FTS_TABLES)


class RenamedTables:
    """A connection on which every projected table name means its fresh copy (for the handlers)."""

    def __init__(self, conn: Conn, suffix: str = FRESH) -> None:
        self._conn = conn
        self._rewrite = _rewriter(tuple(projected_tables()), suffix)

    def execute(self, sql: str, params: Any = (), /) -> Cursor:
        """Run one statement against the copies."""
        return self._conn.execute(self._rewrite(sql), params)


def _rewriter(names: tuple[str, ...], suffix: str) -> Callable[[str], str]:
    pattern = re.compile(r"\b(" + "|".join(sorted(names, key=len, reverse=True)) + r")\b")

    @lru_cache(maxsize=512)
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
    names = [f"{t}{suffix}" for t in projected_tables() for suffix in (FRESH, OLD)]
    marks = ", ".join("?" for _ in names)
    return [row[0] for row in conn.execute(
        f"SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ({marks})", names)]


def drop_leftovers(conn: Conn) -> int:
    """Drop every leftover copy or old table (children first); return how many."""
    found = set(leftovers(conn))
    order = [f"{t}{s}" for s in (FRESH, OLD) for t in reversed(projected_tables())]
    dropped = [name for name in order if name in found]
    for name in dropped:
        conn.execute(f'DROP TABLE "{name}"')
    return len(dropped)


def prepare(conn: Conn) -> None:
    """Create empty copies of the projected tables with their constraints, indexes and triggers."""
    drop_leftovers(conn)
    tables = [t.name for t in projector.tables]
    rename = _rewriter(tuple(projected_tables()), FRESH)
    for _, _, sql in _schema(conn, "table", tables):
        conn.execute(rename(sql))
    for name in FTS_TABLES:  # only the table's own name changes: its content table stays 'memories'
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (name,)).fetchone()[0]
        conn.execute(re.sub(rf"\b{name}\b", name + FRESH, sql, count=1))
    for name, table, sql in _schema(conn, "index", tables):
        match = _INDEX.match(sql)
        if match is None:
            raise RuntimeError(f"can't read the index definition of {name}")
        conn.execute(f'CREATE {match.group(1) or ""}INDEX "{twin_index_name(name)}" ON "{table}{FRESH}"'
                     + sql[match.end():])
    for name, _, sql in _schema(conn, "trigger", tables):
        conn.execute(re.sub(rf'^\s*CREATE\s+TRIGGER\s+"?{name}"?', f'CREATE TRIGGER "{name}{FRESH}"',
                            rename(sql), count=1, flags=re.IGNORECASE))


def fill(conn: Conn, after: int, budget: float = BATCH_SECONDS) -> tuple[int, int, int]:
    """Apply events after `after` to the copies for about `budget` seconds.

    Returns (position, events applied, events still behind).
    """
    fresh = RenamedTables(conn)
    deadline = time.perf_counter() + budget
    position, applied = after, 0
    while time.perf_counter() < deadline:
        chunk = list(store.read_after(conn, position, until=position + READ_CHUNK))
        if not chunk:
            break
        for event in chunk:
            projector.apply(fresh, event)  # type: ignore[arg-type]
        position, applied = chunk[-1].seq, applied + len(chunk)
    return position, applied, store.last_seq(conn) - position


def switch(conn: Conn, after: int, version: int) -> tuple[int, int]:
    """Apply the last events to the copies, then put them in place of the live tables (one transaction).

    Returns (events applied here, the cursor's new position).
    """
    fresh = RenamedTables(conn)
    applied, position = 0, after
    for event in store.read_after(conn, after):
        projector.apply(fresh, event)  # type: ignore[arg-type]
        applied, position = applied + 1, event.seq
    tables = [t.name for t in projector.tables]
    triggers = _schema(conn, "trigger", tables)
    for name, _, _ in triggers + _schema(conn, "trigger", [f"{t}{FRESH}" for t in tables]):
        conn.execute(f'DROP TRIGGER "{name}"')
    for name in projected_tables():
        conn.execute(f'ALTER TABLE "{name}" RENAME TO "{name}{OLD}"')
    for name in projected_tables():
        conn.execute(f'ALTER TABLE "{name}{FRESH}" RENAME TO "{name}"')
    for _, _, sql in triggers:
        conn.execute(sql)
    conn.execute("UPDATE projection_cursor SET position = ? WHERE name = ?", (position, CURSOR))
    set_version(conn, version)
    return applied, position


def drop_some_old(conn: Conn) -> str | None:
    """Delete a slice of an old table left by a switch (children first); a table with few rows left is
    dropped. Returns what was worked on, or None when nothing is left. Run with foreign keys off (see
    `unchecked`): the old tables are garbage, and checking a self-referencing table row by row is quadratic."""
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


def unchecked(fn: Callable[[Conn], T]) -> Callable[[Conn], T]:
    """`fn` in a transaction of its own with foreign keys off (for the writer's own thread, between commands)."""

    def run(conn: Conn) -> T:
        conn.execute("PRAGMA foreign_keys = OFF")
        try:
            with transaction(conn):
                return fn(conn)
        finally:
            conn.execute("PRAGMA foreign_keys = ON")

    return run


def stored_version(conn: Conn) -> int:
    """The projection version the live tables were built with (0 when never recorded)."""
    row = conn.execute("SELECT value FROM projection_meta WHERE name = 'version'").fetchone()
    return int(row[0]) if row else 0


def set_version(conn: Conn, version: int) -> None:
    """Record the projection version the live tables now follow."""
    conn.execute("INSERT INTO projection_meta (name, value) VALUES ('version', ?)"
                 " ON CONFLICT (name) DO UPDATE SET value = excluded.value", (str(version),))


async def rebuild(write: Write, version: int, *, drop: Write | None = None,
                  pace: Callable[[], Awaitable[None]] | None = None) -> int:
    """Reproject the world through `write` (the database's queued writer, each call one short transaction of
    its own) without a long lock; return the events replayed. `drop` runs the old tables' clean-up steps
    (default: `write`; the engine passes one with foreign keys off); `pace` is awaited between batches."""
    await write(prepare)
    position, total = 0, 0
    applied: int
    try:
        behind = SWITCH_LAG + 1
        while behind > SWITCH_LAG:
            position, applied, behind = await write(functools.partial(fill, after=position))
            total += applied
            if pace is not None:
                await pace()
        started = time.perf_counter()
        applied, position = await write(functools.partial(switch, after=position, version=version))
        switch_ms = round((time.perf_counter() - started) * 1000, 1)
        log.info("reproject_switched", events=total + applied, switch_ms=switch_ms)
        total += applied
    except BaseException:
        await write(drop_leftovers)
        raise
    while await (drop or write)(drop_some_old) is not None:
        pass
    return total
