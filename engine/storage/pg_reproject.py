"""PostgreSQL's half of the online reproject (engine/projection/online.py): the copies live in a schema of their own.

- **prepare**: `CREATE SCHEMA chronicle_next` holding an empty copy of every projected table: the columns by
  `LIKE` (types, collations, defaults, NOT NULL, the generated tsvector of memories), then every constraint
  and index under its live name (`pg_get_constraintdef`, `pg_get_indexdef`; names are per schema, so nothing
  needs a twin name and after the switch the world has exactly the DDL its migrations made), the foreign
  keys pointing at the copies, and the grants of the live table.
- **point_at_copies**: `SET LOCAL search_path = chronicle_next, public` for one transaction, so the unchanged
  handlers' unqualified table names mean the copies, while `events`, the cursor and `projection_meta`
  (which have no copy) stay the live ones.
- **swap**: lock every live table (waiting at most `wait_ms` for the readers holding them, else nothing
  happens and the caller tries again later), move them to `chronicle_old`, the copies to `public`.
- **drop_leftovers**: `DROP SCHEMA … CASCADE` of both schemas (one transaction; PostgreSQL drops a table's
  files at commit whatever its size).

A reproject holds REPROJECT_LOCK (a session advisory lock, on a connection of its own) from prepare to drop, so
two processes sharing the database never build or drop each other's copies: a process opening the database drops
leftovers only when it can take the lock itself (the server releases it when the session ends, so a lock nobody
holds means nobody is reprojecting), and each of the reproject's transactions checks first that its session still
holds it (`hold`), so a reproject whose lock connection was lost stops before writing copies that may be someone
else's by then. `chronicle check` takes the lock shared (engine/storage/pg_check.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
import structlog

from engine.errors import EngineError, ReprojectInterrupted
from engine.storage.pg_conn import LOCK_LOG, PgConnection

log = structlog.get_logger(__name__)
LIVE, NEXT, OLD = "public", "chronicle_next", "chronicle_old"
REPROJECT_LOCK = 0x6368726F6E726570  # pg_advisory_lock key: "chronrep" in ASCII, an arbitrary constant
SWITCH_SAVEPOINT = "reproject_switch"
LOST_LOCK = ("the reproject lost its lock on the database (the connection holding it was closed); it stopped and the "
             "live world is unchanged: run it again")
_CONSTRAINT_ORDER = "CASE contype WHEN 'p' THEN 0 WHEN 'u' THEN 1 WHEN 'x' THEN 2 WHEN 'c' THEN 3 ELSE 4 END"


def quoted(name: str) -> str:
    """`name` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _scalar(conn: PgConnection, sql: str, params: Sequence[object]) -> object:
    """The first column of a statement's one row."""
    row = conn.execute(sql, params).fetchone()
    if row is None:
        raise EngineError(f"no row from {sql!r}")
    return row[-1]


def leftovers(conn: PgConnection) -> list[str]:
    """The schemas (and their tables) an interrupted reproject left behind."""
    rows = conn.execute(
        "SELECT n.nspname || coalesce('.' || c.relname, '') FROM pg_namespace n LEFT JOIN pg_class c"
        " ON c.relnamespace = n.oid AND c.relkind IN ('r', 'p') WHERE n.nspname IN (?, ?) ORDER BY 1", (NEXT, OLD))
    return [row[0] for row in rows]


def drop_leftovers(conn: PgConnection) -> int:
    """Drop both schemas of a reproject with everything in them; return how many tables went."""
    tables = sum("." in name for name in leftovers(conn))
    conn.execute(f"DROP SCHEMA IF EXISTS {NEXT}, {OLD} CASCADE")
    return tables


def prepare(conn: PgConnection, tables: Sequence[str]) -> None:
    """Create empty copies of the live `tables` (parents first) in NEXT, with their constraints, indexes and grants."""
    drop_leftovers(conn)
    conn.execute(f"SET LOCAL search_path = {LIVE}")  # definitions read as the live tables see each other
    names = list(tables)
    if _scalar(conn, "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgrelid = ANY (SELECT oid"
               " FROM pg_class WHERE relnamespace = ?::regnamespace AND relname = ANY (?))", (LIVE, names)):
        raise EngineError("a projected table has a trigger, which the reproject can't copy yet")
    constraints = conn.execute(
        f"SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
        f" WHERE conrelid = ANY (?::regclass[]) AND contype IN ('p', 'u', 'x', 'c', 'f')"
        f" ORDER BY {_CONSTRAINT_ORDER}, 1, 2", (names,)).fetchall()
    indexes = conn.execute(
        "SELECT pg_get_indexdef(i.indexrelid), i.indrelid::regclass::text FROM pg_index i"
        " WHERE i.indrelid = ANY (?::regclass[]) AND NOT EXISTS (SELECT 1 FROM pg_constraint c"
        " WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid) ORDER BY i.indexrelid", (names,)).fetchall()
    grants = conn.execute(
        "SELECT c.relname, a.privilege_type, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE"
        " quote_ident(pg_get_userbyid(a.grantee)) END, a.is_grantable FROM pg_class c, aclexplode(c.relacl) a"
        " WHERE c.oid = ANY (?::regclass[]) AND a.grantee <> c.relowner ORDER BY 1, 2, 3", (names,)).fetchall()
    script = [f"CREATE SCHEMA {NEXT}", f"SET LOCAL search_path = {NEXT}, {LIVE}"]
    script += [f"CREATE TABLE {NEXT}.{t} (LIKE {LIVE}.{t} INCLUDING DEFAULTS INCLUDING GENERATED"
               " INCLUDING IDENTITY INCLUDING STORAGE)" for t in names]
    script += [f"ALTER TABLE {NEXT}.{table} ADD CONSTRAINT {quoted(name)} {definition}"
               for table, name, definition in constraints]
    script += [_index_on_copy(definition, table) for definition, table in indexes]
    script += [f"GRANT {privilege} ON {NEXT}.{table} TO {grantee}{' WITH GRANT OPTION' if grantable else ''}"
               for table, privilege, grantee, grantable in grants]
    conn.executescript(";\n".join(script))  # sent as is: catalog text may hold `?` or `%`


def _index_on_copy(definition: str, table: str) -> str:
    live = f" ON {LIVE}.{table} "
    if live not in definition:
        raise EngineError(f"can't read the index definition {definition!r}")
    return definition.replace(live, f" ON {NEXT}.{table} ", 1)


def point_at_copies(conn: PgConnection, tables: Sequence[str], *, quick: bool) -> None:
    """Make the projected tables' names mean the copies until this transaction ends (`quick`: and commit without
    waiting for the WAL flush, a fill batch lost in a crash being a leftover copy's, dropped anyway; and send the
    handlers' plain writes without waiting for each, `PgConnection.defer_writes`)."""
    if not quick:  # the switch: no writer of any process may commit between its last events and the swap
        conn.execute(LOCK_LOG)
    commit = "set_config('synchronous_commit', 'off', true)" if quick else "NULL"
    found = _scalar(conn, f"SELECT set_config('search_path', ?, true), {commit},"
                    " (SELECT count(*) FROM pg_tables WHERE schemaname = ? AND tablename = ANY (?))",
                    (f"{NEXT}, {LIVE}", NEXT, list(tables)))
    if found != len(tables):  # never let the handlers fall through to the live tables
        raise EngineError(f"the reproject's copies are gone ({found} of {len(tables)} tables in {NEXT})")
    conn.defer_writes = quick  # a fill batch's plain writes go with the next read: one round trip for several


def swap(conn: PgConnection, tables: Sequence[str], wait_ms: int) -> bool:
    """Move the live tables to OLD and the copies into their place; False (nothing moved) when the live tables'
    readers kept them longer than `wait_ms` (the caller's transaction goes on)."""
    conn.execute(f"SAVEPOINT {SWITCH_SAVEPOINT}")
    try:
        conn.execute(f"SET LOCAL statement_timeout = {int(wait_ms)}")  # bounds the whole LOCK, all tables
        conn.execute(f"LOCK TABLE {', '.join(f'{LIVE}.{t}' for t in tables)} IN ACCESS EXCLUSIVE MODE")
    except (psycopg.errors.QueryCanceled, psycopg.errors.LockNotAvailable):
        conn.execute(f"ROLLBACK TO SAVEPOINT {SWITCH_SAVEPOINT}")
        conn.execute(f"RELEASE SAVEPOINT {SWITCH_SAVEPOINT}")
        return False
    conn.execute(f"RELEASE SAVEPOINT {SWITCH_SAVEPOINT}")
    script = ["SET LOCAL statement_timeout TO DEFAULT", "SET LOCAL search_path TO DEFAULT", f"CREATE SCHEMA {OLD}"]
    script += [f"ALTER TABLE {LIVE}.{t} SET SCHEMA {OLD}" for t in tables]
    script += [f"ALTER TABLE {NEXT}.{t} SET SCHEMA {LIVE}" for t in tables]
    conn.executescript(";\n".join([*script, f"DROP SCHEMA {NEXT}"]))
    return True


def analyze_copies(conn: PgConnection, tables: Sequence[str]) -> None:
    """Gather the planner's statistics of the copies (outside the writer's transactions: it takes no log lock)."""
    conn.execute(f"ANALYZE {', '.join(f'{NEXT}.{t}' for t in tables)}")


def try_lock(conn: PgConnection) -> bool:
    """Take REPROJECT_LOCK for this session if no other session holds it."""
    return bool(_scalar(conn, "SELECT pg_try_advisory_lock(?)", (REPROJECT_LOCK,)))


def share_lock(conn: PgConnection) -> None:
    """Take REPROJECT_LOCK shared for this session (a check: many at once, never beside a reproject), waiting for a
    running reproject, said once."""
    if _scalar(conn, "SELECT pg_try_advisory_lock_shared(?)", (REPROJECT_LOCK,)):
        return
    log.warning("check_waiting", reason="a reproject is running: the check compares the world it builds",
                holder=holder(conn))
    conn.execute("SELECT pg_advisory_lock_shared(?)", (REPROJECT_LOCK,))


def unlock(conn: PgConnection) -> None:
    """Let REPROJECT_LOCK go (closing the session would too, but the server ends a closed session a moment later)."""
    conn.execute("SELECT pg_advisory_unlock(?)", (REPROJECT_LOCK,))


def backend_pid(conn: PgConnection) -> int:
    """The server process of this session (the one `hold` looks for among REPROJECT_LOCK's holders)."""
    pid = _scalar(conn, "SELECT pg_backend_pid()", ())
    return pid if isinstance(pid, int) else int(str(pid))


# REPROJECT_LOCK as pg_locks shows a one-bigint advisory lock: its high and low 32 bits, objsubid 1
_HOLDERS = ("FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1"
            " AND (classid::bigint << 32 | objid::bigint) = ?")


def hold(conn: PgConnection, *, session: int) -> None:
    """Raise ReprojectInterrupted unless the session `session` still holds REPROJECT_LOCK (run first in each of the
    reproject's transactions: its lock lives on a connection of its own, and a lost connection lost the lock)."""
    if not _scalar(conn, f"SELECT EXISTS (SELECT 1 {_HOLDERS} AND pid = ?)", (REPROJECT_LOCK, session)):
        raise ReprojectInterrupted(LOST_LOCK)


def holder(conn: PgConnection) -> str:
    """Who holds REPROJECT_LOCK, as its session names itself ("chronicle-reproject HOST pid N"), for a waiting
    person's line."""
    row = conn.execute(f"SELECT a.application_name, a.client_addr::text FROM pg_stat_activity a"
                       f" WHERE a.pid IN (SELECT pid {_HOLDERS})", (REPROJECT_LOCK,)).fetchone()
    if row is None:
        return "another session"
    name, address = row
    return f"{name or 'a session'}{f' at {address}' if address else ''}"
