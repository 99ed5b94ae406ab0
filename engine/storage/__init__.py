"""Storage behind one port (engine.storage.port): SQLite (engine.db) and PostgreSQL (pg_*), chosen by location.

A location is a file path (SQLite) or a `postgresql://` URL (unix-socket URLs like
`postgresql://postgres:@/story?host=/run/pg` included).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from engine.storage.port import dialect_of

URL_SCHEMES = ("postgresql://", "postgres://")


def is_database_url(location: str | Path) -> bool:
    """Whether `location` names a PostgreSQL database rather than a SQLite file."""
    return isinstance(location, str) and location.lower().startswith(URL_SCHEMES)


def redact(location: str | Path) -> str:
    """A location fit to print: a URL's password (in its user part or its query) replaced by ***."""
    if not is_database_url(location):
        return str(location)
    parts = urlsplit(str(location))
    netloc = parts.netloc
    if "@" in netloc:
        user, host = netloc.rsplit("@", 1)
        if ":" in user and user.split(":", 1)[1]:
            netloc = f"{user.split(':', 1)[0]}:***@{host}"
    query = "&".join("password=***" if pair.lower().startswith("password=") else pair
                     for pair in parts.query.split("&")) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


async def open_storage(location: str | Path, *, synchronous: Any = "NORMAL", group_commit: bool = True,
                       migrate_now: bool = True, busy_ms: int = 10_000, read_only: bool = False) -> Any:
    """The Storage for `location`, migrated: a PgDatabase for a URL, else a Database on the SQLite file
    (`busy_ms`: how long a write waits for another program's lock: SQLite's busy timeout, PostgreSQL's
    lock_timeout). `read_only` (a command that only reads): nothing is created, migrated or written, and a
    SQLite file that does not exist is StorageError "missing"."""
    if is_database_url(location):
        from engine.storage.pg_database import PgDatabase

        return await PgDatabase.open(str(location), group_commit=group_commit,
                                     migrate_now=migrate_now and not read_only, busy_ms=busy_ms)
    if read_only:
        from engine.storage.sqlite_readonly import ReadOnlyDatabase

        return await ReadOnlyDatabase.open(location, busy_ms=busy_ms)
    from engine.db import Database

    return await Database.open(location, synchronous=synchronous, group_commit=group_commit, migrate_now=migrate_now,
                               busy_ms=busy_ms)


def connect(location: str | Path, *, must_exist: bool = True, read_only: bool = False) -> Any:
    """A plain synchronous connection to `location` (maintenance: copying a log); the caller closes it. `read_only`:
    a SQLite file is opened as engine.storage.sqlite_readonly says (never created or written)."""
    if is_database_url(location):
        from engine.storage.pg_conn import PgConnection

        return PgConnection.connect(str(location), application_name="chronicle-maintenance")
    if read_only:
        from engine.storage.sqlite_readonly import connect_read_only

        return connect_read_only(Path(location))
    import sqlite3

    from engine.db import configure

    path = Path(location)
    if must_exist and not path.is_file():
        raise FileNotFoundError(f"no database file at {path}")
    conn = sqlite3.connect(path)
    configure(conn)
    return conn


@contextmanager
def snapshot(conn: Any) -> Iterator[Any]:
    """A read-only transaction in which every statement sees the database at one moment."""
    postgres = dialect_of(conn) == "postgres"
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" if postgres else "BEGIN")
    try:
        yield conn
    finally:
        conn.execute("ROLLBACK")
