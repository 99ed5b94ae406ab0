"""`chronicle check` on PostgreSQL: rebuild the world into scratch tables inside one transaction, diff, roll back.

One REPEATABLE READ transaction on a connection of its own sees the log and the live world at one
snapshot (an append and its projection commit together, so they agree). In it, every projected
table and the cursor get an empty temporary twin (`CREATE TEMP TABLE … (LIKE … INCLUDING ALL)`:
same columns in the same order, constraints, unique indexes, the generated tsvector). PostgreSQL
looks temporary tables up first, so the engine's own handlers, which name tables unqualified,
rebuild into the twins while reading `public.events`. Each twin is then compared with its live
table both ways (`EXCEPT`) and the transaction is rolled back: nothing is left behind, and
writers (and their table lock) are never waited for.

A check and a world reproject exclude each other (the reproject lock, shared by checks): the check holds the
live tables until it ends, and a reproject can't switch its copies in while they are held, so a long check
would wear out the switch's attempts. A check started during a reproject waits for it (saying so once) and
compares the world it built; a reproject waits for the checks running when it starts.
"""

from __future__ import annotations

from engine import projection
from engine.storage import pg_reproject, redact
from engine.storage.pg_conn import PgConnection
from engine.storage.pg_faults import as_storage_error
from engine.views import CheckReport

MAX_DIFFS_PER_TABLE = 20
CURSOR_TABLE = "projection_cursor"


def check_postgres(url: str) -> CheckReport:
    """Rebuild the world of the database at `url` from its log into scratch tables and diff every projected table."""
    tables = [t.name for t in projection.projector.tables]
    with as_storage_error(redact(url)), PgConnection.connect(url, application_name="chronicle-check") as conn:
        pg_reproject.share_lock(conn)  # held until the connection closes
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        try:
            conn.execute("SELECT 1 FROM events LIMIT 1").fetchall()  # the snapshot starts here
            for table in (CURSOR_TABLE, *tables):
                conn.execute(f"CREATE TEMP TABLE {table} (LIKE public.{table} INCLUDING ALL) ON COMMIT DROP")
            conn.execute(f"INSERT INTO pg_temp.{CURSOR_TABLE} SELECT * FROM public.{CURSOR_TABLE}")
            events = projection.rebuild_in(conn)
            differences: list[str] = []
            for table in tables:
                differences += _diff_table(conn, table)
        finally:
            conn.execute("ROLLBACK")
    return CheckReport(len(tables), events, tuple(differences))


def _diff_table(conn: PgConnection, table: str) -> list[str]:
    """Rows only in the live table, and rows only in the rebuilt one."""
    out: list[str] = []
    for label, left, right in (("only in live", "public", "pg_temp"), ("only in rebuild", "pg_temp", "public")):
        rows = conn.execute(f"SELECT * FROM {left}.{table} EXCEPT SELECT * FROM {right}.{table} LIMIT ?",
                            (MAX_DIFFS_PER_TABLE + 1,)).fetchall()
        out += [f"{table}: {label}: {row!r}" for row in rows[:MAX_DIFFS_PER_TABLE]]
        if len(rows) > MAX_DIFFS_PER_TABLE:
            out.append(f"{table}: {label}: … and more")
    return out
