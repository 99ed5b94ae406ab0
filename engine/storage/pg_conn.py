"""A psycopg 3 connection behind the small DB-API surface the engine's SQL functions use.

Projection handlers and read queries are plain synchronous functions that call
`conn.execute(sql, params)` with `?` placeholders and read the returned cursor with
`fetchone()`, `fetchall()`, `rowcount` or iteration. `PgConnection` gives them exactly that on
PostgreSQL, so the same functions run unmodified on both backends. Like the SQLite backend, one
connection belongs to one thread; transactions are explicit (BEGIN … COMMIT / ROLLBACK), with
savepoints for running several commands in one transaction.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from functools import lru_cache
from typing import Any, TypeVar

import psycopg

from engine.storage.group import NeedsLogLock
from engine.storage.pg_cursor import PgCursor

Params = Sequence[Any]
T = TypeVar("T")


@lru_cache(maxsize=2048)
def translate(sql: str) -> str:
    """`?` placeholders → `%s`, and every literal `%` → `%%` (string literals and identifiers keep their `?`)."""
    out: list[str] = []
    quote: str | None = None  # the quote character of the literal or identifier we are inside
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch == "%":
            out.append("%%")
        elif quote is not None:
            out.append(ch)
            if ch == quote:
                quote = None  # a doubled quote ('' or "") closes and reopens: same result
        elif ch in ("'", '"'):
            quote = ch
            out.append(ch)
        elif ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end == -1 else end
            out.append(sql[i:end].replace("%", "%%"))
            i = end
            continue
        elif ch == "?":
            out.append("%s")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


_ENDS = frozenset({"COMMIT", "ROLLBACK"})
_NO_WAIT = ("SAVEPOINT ", "RELEASE SAVEPOINT ", "UPDATE projection_cursor ", "SELECT position FROM projection_cursor ",
            "SELECT pg_advisory_")
_WRITES = ("INSERT ", "UPDATE ", "DELETE ")
_LOG_WRITES = ("INSERT INTO events ", "SELECT MAX(stream_version) FROM events")
LARGE = 32_768  # characters of parameters above which a statement is sent outside pipeline mode


def _large(params: Params) -> bool:
    """Whether a statement's text and bytes parameters add up to more than LARGE."""
    return sum(len(p) for p in params if isinstance(p, str | bytes)) > LARGE


def _needs_log_lock(sql: str) -> bool:
    """Whether a statement appends to the log, reads a stream's version, or reads or moves the projection cursor
    (`begin_write(late=True)`)."""
    return sql.startswith(_LOG_WRITES) or "projection_cursor" in sql


def _refused(guard: str, sql: str) -> bool:
    """Whether an ordered group's statement needs the whole log held (engine/storage/pg_order.py): under the ordering
    lock (`append`) appends do not; before or after it (`decide`) nothing may need it."""
    return _needs_log_lock(sql) and not (guard == "append" and sql.startswith("INSERT INTO events "))


def _deferred(sql: str, writes: bool) -> bool:
    """Whether a statement in a pipelined transaction is sent without waiting for its result."""
    if sql.startswith(_NO_WAIT):
        return True
    return writes and sql.lstrip().upper().startswith(_WRITES) and "RETURNING" not in sql.upper()


CONNECT_TIMEOUT = 10  # seconds a connection attempt waits for a server that does not answer
_IN_TRANSACTION = (psycopg.pq.TransactionStatus.INTRANS, psycopg.pq.TransactionStatus.INERROR,
                   psycopg.pq.TransactionStatus.ACTIVE)


def _open(url: str, application_name: str) -> psycopg.Connection[Any]:
    """A psycopg autocommit connection to `url`, with CONNECT_TIMEOUT unless the URL sets connect_timeout."""
    extra: dict[str, Any] = {} if "connect_timeout" in url else {"connect_timeout": CONNECT_TIMEOUT}
    return psycopg.connect(url, autocommit=True, application_name=application_name, **extra)


class PgConnection:
    """A psycopg connection in autocommit mode that speaks `execute(sql, params)` with `?` placeholders."""

    dialect = "postgres"  # what `engine.storage.port.dialect_of` reports for the shared SQL's few dialect hooks

    def __init__(self, raw: psycopg.Connection[Any], *, url: str | None = None,
                 application_name: str = "chronicle") -> None:
        if not raw.autocommit:
            raise ValueError("PgConnection needs an autocommit connection (transactions are explicit)")
        self.raw = raw
        self._url, self._application_name = url, application_name
        self._pipeline: AbstractContextManager[psycopg.Pipeline] | None = None
        self._sync: Callable[[], None] | None = None
        self.defer_writes = False  # until the transaction ends, also send plain INSERT/UPDATE/DELETE without waiting
        self.lock_late = False  # until the transaction ends, take the log's lock with each statement that needs it
        self._lock_next = False  # … and with the next statement whatever it is (`hold_log`)
        self.guard: str | None = None  # an ordered group's step (`_refused`): engine/storage/pg_order.py
        self.order_held = False  # whether the ordering lock may be held (pg_order)
        self.ordered_through = self.ordered_pending = 0  # the last seq of the last ordered group committed (pg_order)
        self._unsynced = False  # statements sent in pipeline mode whose answers are not read yet
        self._checks: list[Callable[[], None]] = []  # checks of those answers, run once they are read (`when_answered`)

    @classmethod
    def connect(cls, url: str, *, application_name: str = "chronicle") -> PgConnection:
        """Open a connection to `url` (`postgresql://…`, unix-socket URLs with `?host=/dir` included); a server that
        does not answer is given up on after CONNECT_TIMEOUT seconds unless the URL says otherwise."""
        return cls(_open(url, application_name), url=url, application_name=application_name)

    @property
    def closed(self) -> bool:
        """Whether the connection is closed, by us or because it was lost (a server restart, a terminated backend)."""
        return self.raw.closed

    def reconnect(self) -> None:
        """Replace a closed connection with a new one to the same URL (the old one's session state is gone)."""
        if self._url is None:
            raise psycopg.OperationalError("this connection was not opened from a URL, so it can't reconnect")
        self.raw = _open(self._url, self._application_name)
        self._pipeline, self._sync, self.defer_writes, self.lock_late, self.guard = None, None, False, False, None
        self._lock_next = self._unsynced = self.order_held = False
        self.ordered_through = self.ordered_pending = 0
        self._checks = []

    def execute(self, sql: str, params: Params = ()) -> PgCursor:
        """Run one statement with `?` placeholders; return its cursor.

        In a write transaction (pipeline mode, `pipeline`) a statement whose result nobody waits for (a savepoint's
        SAVEPOINT and RELEASE, the projection cursor's move, and the question of its position, read on the first look
        at the cursor; with `defer_writes`, any plain write) is sent with the next one that is waited for, in one round
        trip; its error, if any, is raised there."""
        if self._sync is None:
            return PgCursor(self.raw.execute(translate(sql), tuple(params)))
        if self._checks:  # a transaction or a savepoint ends: the checks of what it sent come first (or go with it)
            self._settle_checks(sql)
        if sql in _ENDS:
            self._end(sql)
            return PgCursor(self.raw.cursor())
        if self.guard is not None and _refused(self.guard, sql):
            raise NeedsLogLock(sql)
        if self.lock_late and (self._lock_next or _needs_log_lock(sql)):
            self.raw.execute(LOCK_LOG)  # sent with the statement: no round trip of its own
            self._lock_next, self._unsynced = False, True
        if _large(params):  # libpq's pipeline can stall sending a large statement: it goes outside pipeline mode
            return self._unpipelined(lambda: PgCursor(self.raw.execute(translate(sql), tuple(params))))
        cursor = self.raw.execute(translate(sql), tuple(params))
        if _deferred(sql, self.defer_writes):
            self._unsynced = True
            return PgCursor(cursor, self._synced, self._checks.append)
        self._synced()
        return PgCursor(cursor)

    def _synced(self) -> None:
        """Send what is queued and wait for every answer (raising the first error among them), then run the checks
        waiting for those answers."""
        self._unsynced = False
        if self._sync is not None:
            self._sync()
        self._run_checks()

    def _settle_checks(self, sql: str) -> None:
        """Before `sql` ends a transaction or a savepoint, run the pending checks (a failed one before COMMIT rolls
        back, as a deferred statement's error does), or drop them with what a rollback undoes."""
        if sql.startswith("ROLLBACK"):
            self._checks = []
        elif sql.startswith(("SAVEPOINT ", "RELEASE SAVEPOINT ")):
            self._synced()
        elif sql == "COMMIT":
            try:
                self._synced()
            except BaseException:
                self._end("ROLLBACK")
                raise

    def _run_checks(self) -> None:
        checks, self._checks = self._checks, []
        for check in checks:
            check()

    def pipeline(self) -> None:
        """Enter pipeline mode until the transaction's COMMIT or ROLLBACK (sent by `execute`)."""
        if self._sync is None:
            manager = self.raw.pipeline()
            self._sync = manager.__enter__().sync
            self._pipeline = manager

    def hold_log(self) -> None:
        """In a write transaction that takes the log's lock late: take it with the next statement (a command decided
        against more than its chat's version, whose reads must see the log as it will be when it appends)."""
        if self.guard is not None:
            raise NeedsLogLock("hold_log")
        if self.lock_late:
            self._lock_next = True

    def _end(self, sql: str) -> None:
        """COMMIT or ROLLBACK, then leave pipeline mode, which waits for it (one round trip; also when it fails).
        A deferred statement's error is raised by COMMIT, after rolling the transaction back, and is moot for a
        ROLLBACK."""
        manager, sync = self._pipeline, self._sync
        self._pipeline, self._sync, self.defer_writes, self.lock_late, self.guard = None, None, False, False, None
        self._lock_next = self._unsynced = False
        self._checks = []
        if manager is None or sync is None:
            self.raw.execute(sql)
            return
        first: psycopg.Error | None = None
        try:
            if sql == "ROLLBACK":
                with contextlib.suppress(psycopg.Error):
                    sync()
            self.raw.execute(sql)
        except psycopg.Error as error:  # a deferred statement's error, read while COMMIT was being sent
            first = error
        except BaseException:
            manager.__exit__(None, None, None)
            raise
        try:
            manager.__exit__(None, None, None)
        except psycopg.Error as error:  # the same error, or 'pipeline aborted' after it: the first is the cause
            if self.raw.closed:
                return
            first = first or error
        if first is None:
            return
        if self.raw.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
            self.raw.execute("ROLLBACK")  # the failed statement stopped the pipeline before COMMIT
        raise first

    def executemany(self, sql: str, params: Sequence[Params]) -> None:
        """Run one statement once per parameter tuple. In a write transaction the lot rides its pipeline: sent without
        waiting with `defer_writes` (its error, if any, raised by the next statement waited for), else waited for
        once; parameters over LARGE in all go outside pipeline mode (psycopg pipelines them by itself)."""
        def run() -> None:
            with self.raw.cursor() as cursor:
                cursor.executemany(translate(sql), params)

        if self._sync is None:
            run()
            return
        if self.guard is not None and _refused(self.guard, sql):
            raise NeedsLogLock(sql)
        if self.lock_late and _needs_log_lock(sql):
            self.raw.execute(LOCK_LOG)
        if _large([value for row in params for value in row]):
            self._unpipelined(run)
            return
        self.raw.cursor().executemany(translate(sql), params)  # the cursor lives until its results are read
        if self.defer_writes:
            self._unsynced = True
        else:
            self._synced()

    def executescript(self, script: str) -> None:
        """Run several statements at once, without parameters (PostgreSQL syntax, `%` as is)."""
        if self._sync is None:
            self.raw.execute(script)  # no parameters: psycopg sends the text unchanged, several statements allowed
            return
        self._unpipelined(lambda: self.raw.execute(script))  # several statements: the simple protocol

    def _unpipelined(self, run: Callable[[], T]) -> T:
        """Leave pipeline mode (reading every answer queued so far), `run`, and enter it again."""
        manager, self._pipeline, self._sync, self._unsynced = self._pipeline, None, None, False
        if manager is not None:
            manager.__exit__(None, None, None)
        self._run_checks()
        value = run()
        self.pipeline()
        return value

    @property
    def in_transaction(self) -> bool:
        """True between BEGIN and COMMIT/ROLLBACK (also when the transaction has failed; never on a lost connection,
        whose transaction the server has rolled back)."""
        return self.raw.info.transaction_status in _IN_TRANSACTION

    def close(self) -> None:
        """Close the connection (an open transaction is rolled back by the server)."""
        self.raw.close()

    def __enter__(self) -> PgConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def transaction(conn: PgConnection) -> Iterator[PgConnection]:
    """BEGIN … COMMIT without the log's lock (migrations, maintenance), rolling back on any exception."""
    conn.execute("BEGIN")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


LOCK_LOG = "LOCK TABLE events IN EXCLUSIVE MODE"


def begin_write(conn: PgConnection, *, late: bool = False) -> None:
    """BEGIN a write transaction and take the log's table lock, which orders the writers of every process.

    The lock is what makes seq order commit order, so that a projector reading `seq > cursor` never skips an event
    that commits later with a smaller seq: a transaction holds it from before its first append until it commits
    (the scheme of the eventsourcing library's PostgreSQL recorder), and only its holder moves the shared projection
    cursor. Plain reads are not blocked. A rolled-back append leaves a hole in seq that readers pass.

    Taken at once (as SQLite's BEGIN IMMEDIATE takes its lock), or with `late` just before each statement that
    appends to the log or reads or moves the cursor, sent with that statement in pipeline mode: what a command
    reads and decides before its append then runs while other processes hold the lock. (Taking it again when held
    costs nothing; taking it with each such statement also takes it back after a savepoint that took it first
    was rolled back, which releases it.)
    """
    try:
        conn.executescript("BEGIN" if late else f"BEGIN; {LOCK_LOG}")  # one round trip for both
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.pipeline()
    conn.lock_late = late


@contextmanager
def write_transaction(conn: PgConnection) -> Iterator[PgConnection]:
    """`begin_write` … COMMIT, rolling back on any exception (PostgreSQL's `engine.storage.sqlite.transaction`)."""
    begin_write(conn)
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


@contextmanager
def savepoint(conn: PgConnection, name: str) -> Iterator[PgConnection]:
    """SAVEPOINT … RELEASE inside a transaction; on an exception, ROLLBACK TO it (the transaction goes on)."""
    if not name.isidentifier():
        raise ValueError(f"not a savepoint name: {name!r}")
    conn.execute(f"SAVEPOINT {name}")
    try:
        yield conn
    except BaseException:
        conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
        conn.execute(f"RELEASE SAVEPOINT {name}")
        raise
    conn.execute(f"RELEASE SAVEPOINT {name}")
