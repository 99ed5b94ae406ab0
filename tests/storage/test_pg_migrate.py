"""PostgreSQL migrations: recorded, applied once, safe to start from two processes at once, same tables as SQLite."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from engine.storage.pg_conn import PgConnection
from engine.storage.pg_migrate import migrate, migrate_url, migrations_dir
from engine.storage.sqlite import migrate as migrate_sqlite

# Where the backends differ on purpose: SQLite's FTS5 machinery versus PostgreSQL's tsvector column, and the
# identify turns that only processes sharing a PostgreSQL database need (engine/storage/pg_turns.py).
SQLITE_ONLY = {("memories", "scope")}
POSTGRES_ONLY = {("memories", "search"), ("messages", "search"), ("events", "command_id"), ("events", "cause"), ("chats", "started_at"),
                 ("turns", "key"), ("turns", "taken_at")}


def _columns_pg(url: str) -> set[tuple[str, str]]:
    with PgConnection.connect(url) as conn:
        return set(conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"
        ).fetchall())


def _columns_sqlite(path: Path) -> set[tuple[str, str]]:
    conn = sqlite3.connect(path)
    conn.isolation_level = None
    try:
        migrate_sqlite(conn)
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                              " AND name NOT LIKE 'memories_fts%' AND name NOT LIKE 'messages_fts%'"
                                              " AND name NOT LIKE 'sqlite_%'")]
        return {(t, r[1]) for t in tables for r in conn.execute(f"PRAGMA table_xinfo({t})")}
    finally:
        conn.close()


def test_a_new_database_gets_every_migration_once(pg_empty_url: str):
    names = sorted(p.name for p in migrations_dir().glob("*.sql"))
    assert migrate_url(pg_empty_url) == names
    assert migrate_url(pg_empty_url) == []
    with PgConnection.connect(pg_empty_url) as conn:
        recorded = conn.execute("SELECT version, name FROM schema_migrations ORDER BY version").fetchall()
        assert [name for _, name in recorded] == names
        assert conn.execute("SELECT name, position FROM projection_cursor").fetchall() == [("world", 0)]


def test_the_tables_and_columns_are_sqlites_plus_the_new_write_model(pg_url: str, tmp_path: Path):
    """Projection handlers and queries address the same names on both backends."""
    sqlite_columns = _columns_sqlite(tmp_path / "chronicle.db") - SQLITE_ONLY
    pg_columns = _columns_pg(pg_url)
    assert pg_columns - sqlite_columns <= POSTGRES_ONLY | {("schema_migrations", "applied_at")}
    assert sqlite_columns - pg_columns == set()


def test_two_processes_migrating_a_new_database_at_once_both_succeed(pg_empty_url: str):
    results: list[list[str]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def run() -> None:
        with PgConnection.connect(pg_empty_url) as conn:
            barrier.wait()
            try:
                results.append(migrate(conn))
            except BaseException as exc:  # noqa: BLE001  (reported below)
                errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(len(applied) for applied in results) == [0, 0, len(list(migrations_dir().glob("*.sql")))]


def test_a_failing_migration_leaves_no_trace_and_is_retried_next_time(pg_empty_url: str, tmp_path: Path):
    (tmp_path / "0001_good.sql").write_text("CREATE TABLE good (n INTEGER);")
    (tmp_path / "0002_bad.sql").write_text("CREATE TABLE half (n INTEGER); SELECT no_such_function();")
    with pytest.raises(Exception, match="no_such_function"):
        migrate_url(pg_empty_url, tmp_path)
    with PgConnection.connect(pg_empty_url) as conn:
        assert conn.execute("SELECT to_regclass('good') IS NOT NULL, to_regclass('half') IS NULL").fetchone() == (
            True, True)
        assert conn.execute("SELECT version FROM schema_migrations").fetchall() == [(1,)]
    (tmp_path / "0002_bad.sql").write_text("CREATE TABLE half (n INTEGER);")
    assert migrate_url(pg_empty_url, tmp_path) == ["0002_bad.sql"]


def test_a_badly_named_migration_is_refused(pg_empty_url: str, tmp_path: Path):
    (tmp_path / "1_oops.sql").write_text("SELECT 1;")
    with pytest.raises(RuntimeError, match="0001_name.sql"):
        migrate_url(pg_empty_url, tmp_path)
