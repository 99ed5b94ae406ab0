"""The PostgreSQL adapter: `?` placeholders, sqlite3-like cursors, explicit transactions and savepoints."""

from __future__ import annotations

import psycopg
import pytest

from engine.storage.pg_conn import PgConnection, savepoint, transaction, translate, write_transaction
from engine.storage.port import when_answered
from tests.pg import round_trips


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


def test_savepoints_and_the_cursor_move_go_with_the_next_statement_in_one_round_trip(pg_conn: PgConnection):
    """Pipeline mode in a write transaction: two commands' savepoints, their reads and the cursor's move, COMMIT."""
    def group() -> None:
        with write_transaction(pg_conn):
            for n in (1, 2):
                with savepoint(pg_conn, "command"):
                    assert pg_conn.execute("SELECT ?::int", (n,)).fetchone() == (n,)
            pg_conn.execute("UPDATE projection_cursor SET position = position WHERE name = ?", ("world",))

    # BEGIN+LOCK, SAVEPOINT+SELECT, RELEASE+SAVEPOINT+SELECT, RELEASE+UPDATE+COMMIT (each statement alone: 9)
    assert round_trips(pg_conn, group) == 4
    assert not pg_conn.in_transaction


def test_deferred_writes_answer_rowcount_and_their_error_fails_the_commit(pg_conn: PgConnection):
    """`defer_writes` (a reproject's fill batch): plain writes go without waiting; a look at one waits for it, and a
    failed one makes COMMIT raise, after which the transaction rolls back whole and the connection goes on."""
    pg_conn.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)")
    with write_transaction(pg_conn):
        pg_conn.defer_writes = True
        pg_conn.execute("INSERT INTO t VALUES (1), (2)")
        assert pg_conn.execute("UPDATE t SET n = n + 10 WHERE n > ?", (0,)).rowcount == 2
    with pytest.raises(psycopg.errors.UniqueViolation), write_transaction(pg_conn):
        pg_conn.defer_writes = True
        pg_conn.execute("INSERT INTO t VALUES (3)")
        pg_conn.execute("INSERT INTO t VALUES (11)")
    assert not pg_conn.in_transaction and not pg_conn.defer_writes
    assert pg_conn.execute("SELECT n FROM t ORDER BY n").fetchall() == [(11,), (12,)]


def test_executemany_rides_the_write_transactions_pipeline(pg_conn: PgConnection):
    """A replay's consecutive lines are one `executemany`: in a write transaction it is sent with the next statement
    waited for (with `defer_writes`, a reproject's fill) or waited for once, never outside the pipeline."""
    pg_conn.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)")

    def deferred() -> None:
        with write_transaction(pg_conn):
            pg_conn.defer_writes = True
            pg_conn.executemany("INSERT INTO t VALUES (?)", [(n,) for n in range(1, 41)])
            assert pg_conn.execute("SELECT count(*) FROM t").fetchone() == (40,)

    def waited() -> None:
        with write_transaction(pg_conn):
            pg_conn.executemany("INSERT INTO t VALUES (?)", [(n,) for n in range(41, 81)])

    assert round_trips(pg_conn, deferred) == 3  # BEGIN+LOCK, the inserts+SELECT, COMMIT
    assert round_trips(pg_conn, waited) == 3  # BEGIN+LOCK, the inserts, COMMIT
    with pytest.raises(psycopg.errors.UniqueViolation), write_transaction(pg_conn):
        pg_conn.defer_writes = True
        pg_conn.executemany("INSERT INTO t VALUES (?)", [(81,), (1,)])  # its error comes with the next wait: COMMIT
    assert pg_conn.execute("SELECT count(*), max(n) FROM t").fetchone() == (80, 80)


def test_checks_of_deferred_writes_wait_for_one_answer_and_a_failed_one_stops_the_commit(pg_conn: PgConnection):
    """A reproject's fill batch checks each UPDATE's row count (`expect_one`) without waiting for it: the checks run
    when the answers are in, at the latest before COMMIT, which a failed check prevents."""
    pg_conn.execute("CREATE TABLE t (n INTEGER PRIMARY KEY, v INTEGER NOT NULL DEFAULT 0)")
    pg_conn.execute("INSERT INTO t (n) VALUES (1), (2), (3), (4), (5)")
    counted: list[int] = []

    def updates(keys: range) -> None:
        with write_transaction(pg_conn):
            pg_conn.defer_writes = True
            for n in keys:
                cursor = pg_conn.execute("UPDATE t SET v = v + 1 WHERE n = ?", (n,))
                when_answered(cursor, lambda done: counted.append(done.rowcount) or _fail_unless_one(done.rowcount))

    # BEGIN+LOCK, the updates (unless their answers were in by then), COMMIT; a look at each row count: 7
    assert round_trips(pg_conn, lambda: updates(range(1, 6))) <= 3
    assert counted == [1] * 5
    with pytest.raises(LookupError, match="0 rows"):
        updates(range(5, 8))  # 6 and 7 are not there
    assert pg_conn.execute("SELECT sum(v) FROM t").fetchone() == (5,)  # the batch with a failed check rolled back
    assert not pg_conn.in_transaction


def _fail_unless_one(rows: int) -> None:
    if rows != 1:
        raise LookupError(f"{rows} rows")


def test_large_statements_in_a_write_transaction_go_through(pg_conn: PgConnection):
    """A card or a book is a statement of megabytes; sent in pipeline mode behind a savepoint or the log's lock,
    libpq stalls (the writer waited for ever), so such a statement goes outside the pipeline."""
    pg_conn.execute("CREATE TABLE t (v TEXT)")
    big = "x" * 2_000_000
    with write_transaction(pg_conn):
        with savepoint(pg_conn, "command"):
            pg_conn.execute("INSERT INTO t VALUES (?)", (big,))
        pg_conn.executemany("INSERT INTO t VALUES (?)", [(big,), ("small",)])
        assert pg_conn.execute("SELECT count(*) FROM t").fetchone() == (3,)
    assert pg_conn.execute("SELECT sum(length(v)) FROM t").fetchone() == (2 * len(big) + 5,)
