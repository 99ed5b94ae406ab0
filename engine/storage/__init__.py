"""Storage behind one port (engine.storage.port): SQLite (engine.db) and PostgreSQL (pg_*), chosen by location.

A location is a file path (SQLite) or a `postgresql://` URL (unix-socket URLs like
`postgresql://postgres:@/story?host=/run/pg` included).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from engine.storage.port import dialect_of

URL_SCHEMES = ("postgresql://", "postgres://")


def is_database_url(location: str | Path) -> bool:
    """Whether `location` names a PostgreSQL database rather than a SQLite file."""
    return isinstance(location, str) and location.lower().startswith(URL_SCHEMES)


# Query parameters whose value is a secret (matched without case, "-" read as "_"), and name endings that are.
SECRET_PARAMS = frozenset({"password", "passwd", "pwd", "pass", "secret", "key", "apikey", "api_key", "token",
                           "access_token", "refresh_token", "id_token", "auth", "authorization", "sig", "signature",
                           "sslpassword", "client_secret"})
SECRET_PARAM_ENDINGS = ("_password", "_secret", "_token", "_key")
MASK = "***"
_QUERY_PAIR = re.compile(r"([?&;#])([^=&;#?]+)=([^&;#]*)")
_URL_IN_TEXT = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s\"'<>`]+", re.IGNORECASE)


def _secret_param(name: str) -> bool:
    """Whether a query parameter named `name` carries a secret."""
    key = unquote_plus(name).strip().lower().replace("-", "_")
    return key in SECRET_PARAMS or key.endswith(SECRET_PARAM_ENDINGS)


def _userinfo_end(rest: str) -> int:
    """Where the user part of a URL (`rest` follows "scheme://") ends at its "@", or -1 when it has none.

    A password holding an unescaped "/", "?" or "#" (a pasted token) is still found: "user:pa/ss@host" would
    otherwise read as the host "user" on the port "pa"."""
    stop = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    slash = rest.find("/", 0, stop)
    authority = rest[:slash] if slash >= 0 else rest[:stop]
    if "@" in authority:
        return authority.rfind("@")
    port = authority.rpartition(":")[2] if ":" in authority else ""
    return rest.rfind("@") if port and not port.isdigit() and "]" not in port else -1


def redact(location: str | Path) -> str:
    """A location fit to print or log: any URL's password (user:***@host) and secret query parameters
    (password, api_key, token, sig…) replaced by ***; user, host, port and path are kept. A file path is
    returned as it is."""
    text = str(location)
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text
    end = _userinfo_end(rest)
    if end >= 0:
        name, _, password = rest[:end].partition(":")
        rest = f"{name}:{MASK}{rest[end:]}" if password else rest
    query_at = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=-1)
    if query_at >= 0:
        query = _QUERY_PAIR.sub(lambda m: f"{m[1]}{m[2]}={MASK}" if _secret_param(m[2]) else m[0], rest[query_at:])
        rest = rest[:query_at] + query
    return f"{scheme}://{rest}"


def redact_text(text: str) -> str:
    """`text` with every URL in it passed through `redact` (for error messages and log lines)."""
    if "://" not in text:
        return text
    return _URL_IN_TEXT.sub(lambda match: redact(match.group(0)), text)


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
