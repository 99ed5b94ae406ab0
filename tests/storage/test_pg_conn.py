"""The PostgreSQL adapter: `?` placeholders, sqlite3-like cursors, explicit transactions and savepoints."""

from __future__ import annotations

import psycopg
import pytest

from engine.storage.pg_conn import PgConnection, savepoint, transaction, translate


@pytest.mark.parametrize(("sql", "expected"), [
    ("SELECT a FROM t WHERE b = ? AND c = ?", "SELECT a FROM t WHERE b = %s AND c = %s"),
    ("SELECT '?', \"col?\" FROM t WHERE x = ?", "SELECT '?', \"col?\" FROM t WHERE x = %s"),
    ("SELECT 'it''s ?' WHERE x LIKE ? ESCAPE '\\'", "SELECT 'it''s ?' WHERE x LIKE %s ESCAPE '\\'"),
    ("SELECT 100 % 7, '5%' -- why? 9%\nWHERE x = ?", "SELECT 100 %% 7, '5%%' -- why? 9%%\nWHERE x = %s"),
])
def test_placeholders_are_translated_outside_literals_and_percent_is_escaped(sql: str, expected: str):
    assert translate(sql) == expected


def test_queries_read_like_sqlite_cursors(pg_conn: PgConnection):
    pg_conn.execute("CREATE TEMP TABLE t (k TEXT PRIMARY KEY, n INTEGER)")
    inserted = pg_conn.execute("INSERT INTO t (k, n) VALUES (?, ?), (?, ?)", ("a", 1, "50%", 2))
    assert inserted.rowcount == 2 and inserted.fetchone() is None and inserted.fetchall() == []
    assert pg_conn.execute("SELECT n FROM t WHERE k LIKE ? ESCAPE '\\'", ("50\\%",)).fetchone() == (2,)
    assert pg_conn.execute("SELECT k FROM t WHERE k = '?' OR n > ? ORDER BY k", (0,)).fetchall() == [("50%",), ("a",)]
    assert [row for row in pg_conn.execute("SELECT n, 100 % 7 FROM t ORDER BY n")] == [(1, 2), (2, 2)]
    assert pg_conn.execute("UPDATE t SET n = n + 1 WHERE k = ?", ("none",)).rowcount == 0


def test_a_transaction_commits_or_rolls_back_whole(pg_conn: PgConnection):
    pg_conn.execute("CREATE TABLE t (n INTEGER)")
    with transaction(pg_conn):
        pg_conn.execute("INSERT INTO t VALUES (1)")
        assert pg_conn.in_transaction
    with pytest.raises(RuntimeError), transaction(pg_conn):
        pg_conn.execute("INSERT INTO t VALUES (2)")
        raise RuntimeError("the command failed")
    assert not pg_conn.in_transaction
    assert pg_conn.execute("SELECT n FROM t").fetchall() == [(1,)]


def test_a_failed_savepoint_undoes_only_its_own_command(pg_conn: PgConnection):
    """Group commit: several commands in one transaction, one savepoint each; a failing one does not abort the rest."""
    pg_conn.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)")
    with transaction(pg_conn):
        with savepoint(pg_conn, "cmd_1"):
            pg_conn.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(psycopg.errors.UniqueViolation), savepoint(pg_conn, "cmd_2"):
            pg_conn.execute("INSERT INTO t VALUES (2)")
            pg_conn.execute("INSERT INTO t VALUES (1)")
        with savepoint(pg_conn, "cmd_3"):
            pg_conn.execute("INSERT INTO t VALUES (3)")
    assert pg_conn.execute("SELECT n FROM t ORDER BY n").fetchall() == [(1,), (3,)]


def test_the_adapter_needs_an_autocommit_connection(pg_url: str):
    raw = psycopg.connect(pg_url)
    try:
        with pytest.raises(ValueError, match="autocommit"):
            PgConnection(raw)
    finally:
        raw.close()
