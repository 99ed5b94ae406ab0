"""The two event-store backends behind one small interface, so one contract suite runs on both."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from engine import store
from engine.events import WeatherSet
from engine.storage import pg_conn
from engine.storage import sqlite as db
from engine.store import NewEvent


@dataclass
class Backend:
    """How to open a connection, run a transaction and reach the event store on one backend."""

    name: str
    _open: Callable[[], Any]
    transaction: Callable[[Any], AbstractContextManager[Any]]
    store: ModuleType
    integrity_error: type[Exception]
    opened: list[Any] = field(default_factory=list)

    def connect(self) -> Any:
        """A new connection (closed by `close_all`)."""
        conn = self._open()
        self.opened.append(conn)
        return conn

    def close_all(self) -> None:
        """Close every connection this backend opened."""
        for conn in self.opened:
            conn.close()


def sqlite_backend(path: Path) -> Backend:
    """The SQLite event store (engine.store) on a migrated file."""

    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(path, check_same_thread=False)
        db.configure(conn)
        return conn

    first = connect()
    db.migrate(first)
    first.close()
    return Backend("sqlite", connect, db.transaction, store, sqlite3.IntegrityError)


def postgres_backend(url: str) -> Backend:
    """The same event store (engine.store) on a migrated PostgreSQL database, in its write transactions."""
    import psycopg

    return Backend("postgres", lambda: pg_conn.PgConnection.connect(url), pg_conn.write_transaction, store,
                   psycopg.IntegrityError)


def weather(chat_id: str, text: str = "rain") -> NewEvent:
    """A small chat event for store tests (the store never projects it)."""
    return NewEvent(WeatherSet(chat_id=chat_id, weather=text), "guild-1", "user-1")
