"""A SQLite database opened by a command that only reads: never created, never written, readable on a read-only
file, folder or file system too (a backup snapshot).

How the file is opened depends on what may be written beside it:
- the file and its folder are writable: `mode=rw` (never creates the file) with `PRAGMA query_only`, so SQLite
  refuses every change, and as the last connection it removes the -wal and -shm files it made (`mode=ro` would
  leave them behind);
- otherwise, with the -wal file there: `mode=ro` (SQLite reads the WAL through the -shm file, read-only since 3.22);
- otherwise, or when that fails because the -shm file is missing and can't be made: `immutable=1` (nothing can
  write the file here, and there is no WAL it can read: SQLite takes no locks and makes no files).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
import structlog

from engine.errors import StorageError
from engine.storage import sqlite_faults as faults
from engine.storage.port import Reproject

log = structlog.get_logger(__name__)
T = TypeVar("T")


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)


def read_only_uris(path: Path) -> list[str]:
    """The URIs to try for reading `path`, best first (see the module's docstring)."""
    base = Path(os.path.abspath(path)).as_uri()
    if _writable(path):
        return [f"{base}?mode=rw"]
    if Path(f"{path}-wal").exists():
        return [f"{base}?mode=ro", f"{base}?immutable=1"]
    return [f"{base}?immutable=1"]


def connect_read_only(path: Path, busy_ms: int = 10_000) -> sqlite3.Connection:
    """A plain connection that can only read the existing database at `path` (the caller closes it); a missing
    file is StorageError "missing", another storage fault its StorageError."""
    path = Path(path)
    if not path.is_file():
        raise faults.missing(path)
    uris = read_only_uris(path)
    for number, uri in enumerate(uris, 1):
        try:
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
            try:
                conn.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")
                conn.execute("PRAGMA query_only = ON")
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except BaseException:
                conn.close()
                raise
        except sqlite3.Error as exc:
            if number < len(uris) and getattr(exc, "sqlite_errorname", "").startswith("SQLITE_CANTOPEN"):
                log.warning("wal_unreadable", path=str(path), detail="its -shm file is missing and can't be made "
                            "here: reading the database file without the -wal's newest changes")
                continue
            raise faults.classify(exc, path) or exc from None
        return conn
    raise faults.missing(path)  # not reached: the last URI either connects or raises


def schema_problem(conn: sqlite3.Connection, path: Path, shipped: set[int]) -> StorageError | None:
    """Why a database can't be read by this Chronicle as it is (not one of its worlds, or not migrated), or None."""
    try:
        applied = {int(row[0]) for row in conn.execute("SELECT version FROM schema_migrations")}
    except sqlite3.OperationalError:
        return StorageError(f"{path} holds no Chronicle world (an SQLite file without Chronicle's tables). Point "
                            "--database (or CHRONICLE_DATABASE) at the right file.", kind="not_a_database",
                            path=str(path))
    if missing := shipped - applied:
        return StorageError(f"the database {path} was written by an older Chronicle ({len(missing)} migration(s) not "
                            f"applied): run `chronicle migrate --database {path}` (on a copy, if this one is "
                            "read-only), then try again.", kind="outdated", path=str(path))
    return None


class ReadOnlyDatabase:
    """The Storage of a command that only reads: one reader connection on its own thread; writes are refused."""

    dialect = "sqlite"

    def __init__(self, reader: aiosqlite.Connection, path: Path) -> None:
        self._reader = reader
        self.path = path
        self.location = str(path)

    @classmethod
    async def open(cls, path: str | Path, *, busy_ms: int = 10_000) -> ReadOnlyDatabase:
        """Open an existing database for reading: a missing file, a damaged one or one this Chronicle can't read
        as it is (an older schema) is one StorageError; nothing is created or written."""
        from engine.db import _run, migrations_dir

        path = Path(path)
        if not path.is_file():
            raise faults.missing(path)
        if (refused := faults.inspect_file(path)) is not None:
            raise refused
        shipped = {int(p.name[:4]) for p in migrations_dir().glob("*.sql")}
        connecting = aiosqlite.Connection(lambda: connect_read_only(path, busy_ms), 64)
        try:
            reader = await connecting
        except BaseException:
            await asyncio.to_thread(connecting._thread.join, 2.0)  # noqa: SLF001  (as engine.db._connect)
            raise
        try:
            problem = await _run(reader, lambda conn: schema_problem(conn, path, shipped))
        except BaseException:
            await reader.close()
            raise
        if problem is not None:
            await reader.close()
            raise problem
        return cls(reader, path)

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(conn)` on the reader's thread; storage faults become StorageError."""
        from engine.db import _run

        try:
            return await _run(self._reader, fn)
        except sqlite3.Error as exc:
            raise faults.classify(exc, self.path) or exc from None

    def _refusal(self) -> StorageError:
        return StorageError(f"the database {self.path} is open for reading only here: nothing is written.",
                            kind="read_only", path=str(self.path))

    async def write(self, fn: Callable[[Any], T], *, solo: bool = False) -> T:
        """Refused: this command only reads."""
        raise self._refusal()

    async def write_alone(self, fn: Callable[[Any], T]) -> T:
        """Refused: this command only reads."""
        raise self._refusal()

    @asynccontextmanager
    async def reprojecting(self, *, wait: bool = True) -> AsyncIterator[Reproject | None]:
        """No reproject from a command that only reads."""
        yield None

    def still_there(self) -> None:
        """Nothing to watch: this process writes nothing."""

    def source(self) -> Path:
        """The file, for a snapshot to check (opened read-only by `connect_read_only`)."""
        return self.path

    async def close(self) -> None:
        """Close the reader."""
        await self._reader.close()

