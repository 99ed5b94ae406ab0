"""SQLite access: one writer connection and one reader connection, each on its own thread.

Every write is a plain function run whole in the writer's thread (one thread hop per
transaction), because awaiting each statement costs a hop per statement.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Literal, TypeVar

import aiosqlite
import structlog

from engine.errors import StorageError
from engine.storage import sqlite_faults as faults
from engine.storage.group import GroupCommit
from engine.storage.ordered import HeldLog
from engine.storage.port import Conn, Reproject, take_reproject_lock
from engine.storage.sqlite_lease import FileLease
from engine.storage.sqlite_wal import WalKeeper

log = structlog.get_logger(__name__)
T = TypeVar("T")
C = TypeVar("C", bound=Conn)
Synchronous = Literal["OFF", "NORMAL", "FULL"]
BACKSTOP_PAGES = 10_000  # the writer checkpoints by itself only if the WAL reaches this (40 MB)
CACHE_KIB = 64 * 1024  # page cache per connection: keeps a 1M-event world's hot index pages in memory
LEASE_POLL_SECONDS = 0.2  # how often a reproject waiting for another process's looks again
MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migrations_dir() -> Path:
    """The folder of numbered .sql migrations shipped beside the engine."""
    return Path(__file__).resolve().parents[2] / "migrations"


def configure(conn: sqlite3.Connection, synchronous: Synchronous = "NORMAL", busy_ms: int = 10_000) -> None:
    """Apply the connection settings every Chronicle connection uses."""
    conn.isolation_level = None  # explicit BEGIN/COMMIT only
    conn.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")
    _wal_mode(conn, busy_ms)
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.execute("PRAGMA foreign_keys = ON")
    # FILE, not MEMORY: a statement journal then stays in memory up to 64 KiB and spills to a temp
    # file past that. With MEMORY, rebuild's `DELETE FROM messages` kept a copy of every page it
    # changed in RAM (about 300 MB at 1M events).
    conn.execute("PRAGMA temp_store = FILE")
    conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")


def _wal_mode(conn: sqlite3.Connection, busy_ms: int) -> None:
    """Switch to WAL, waiting out another process doing the same: on a new file two processes starting at
    once collide here, and SQLite answers "database is locked" at once instead of calling the busy handler."""
    deadline = time.monotonic() + busy_ms / 1000
    while True:
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        except sqlite3.OperationalError as exc:
            if not faults.is_fault(exc) or "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            mode = None
        if mode == "wal" or time.monotonic() >= deadline:
            return
        time.sleep(0.01)


@contextmanager
def transaction(conn: C) -> Iterator[C]:
    """BEGIN IMMEDIATE … COMMIT, rolling back on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:  # SQLite may already have rolled back (a full disk)
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def pending_migrations(conn: sqlite3.Connection, folder: Path) -> list[tuple[int, Path]]:
    """Migrations in `folder` not yet recorded in schema_migrations, in order."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
    )
    applied = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
    found: list[tuple[int, Path]] = []
    for path in sorted(folder.glob("*.sql")):
        match = MIGRATION_NAME.match(path.name)
        if match is None:
            raise RuntimeError(f"migration file name must look like 0001_name.sql: {path.name}")
        if int(match.group(1)) not in applied:
            found.append((int(match.group(1)), path))
    return found


def migrate(conn: sqlite3.Connection, folder: Path | None = None) -> list[str]:
    """Apply pending migrations, each in its own transaction; return the names applied.

    The pending list is read again inside each migration's write transaction, so two processes
    starting on a new file at once never apply one migration twice: the second waits for the
    first's lock, then finds the migration recorded and skips it.
    """
    folder = folder or migrations_dir()
    applied: list[str] = []
    with transaction(conn):
        pending = pending_migrations(conn, folder)
    for version, path in pending:
        with transaction(conn):
            if version not in {v for v, _ in pending_migrations(conn, folder)}:
                continue
            for statement in _split_sql(path.read_text(encoding="utf-8")):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", (version, path.name))
        log.info("migration_applied", migration=path.name)
        applied.append(path.name)
    return applied


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (triggers' inner semicolons stay together)."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        if not buffer and line.strip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements


class Database(GroupCommit):
    """The engine's SQLite file: a writer and a reader connection, each on its own thread.

    Writes are grouped (engine.storage.group): one transaction per group, one savepoint per command.
    A third connection checkpoints the WAL in the background (PASSIVE, every CHECKPOINT_EVERY
    writes), so the copy of WAL pages into the database file and its fsync stay off the command
    path; the writer's own automatic checkpoint remains as a backstop at a larger WAL size.

    Storage faults become StorageError (one line naming the file and the fix); a damaged file is never
    written again by this process; a full disk is handled by the WAL keeper (engine/storage/sqlite_wal.py).
    A file deleted or replaced under the process (its path no longer names the device and inode opened) is
    noticed before every write transaction, and nothing more is written: SQLite would go on writing into the
    unlinked file, and everything since would be gone at exit.
    """

    CHECKPOINT_EVERY = 200  # commands between background checkpoints (about 1,600 WAL pages)
    dialect = "sqlite"

    def __init__(self, writer: aiosqlite.Connection, reader: aiosqlite.Connection, path: Path,
                 checkpointer: aiosqlite.Connection | None = None, *, group_commit: bool = True) -> None:
        super().__init__(group_commit=group_commit, ordering=HeldLog())
        self._writer = writer
        self._reader = reader
        self._checkpointer = checkpointer
        self.wal = WalKeeper(path, lambda fn: _run(checkpointer or writer, fn), every=self.CHECKPOINT_EVERY)
        self.damaged: StorageError | None = None
        self.path = path
        self.location = str(path)
        self._identity = faults.file_identity(path)
        self._sides = faults.side_files(path)  # the -wal and -shm opened with it

    @classmethod
    async def open(cls, path: str | Path, *, synchronous: Synchronous = "NORMAL", migrate_now: bool = True,
                   group_commit: bool = True, busy_ms: int = 10_000) -> Database:
        """Open (creating if needed) the database file and apply pending migrations. A storage fault (no
        folder, not a database, cut short, read-only, disk full, locked) is one StorageError."""
        path = Path(path)
        faults.prepare_folder(path)
        if (refused := faults.inspect_file(path)) is not None:
            raise refused
        new = not path.exists() or path.stat().st_size == 0
        opened: list[aiosqlite.Connection] = []
        try:
            writer = await _connect(path, synchronous, opened, busy_ms)
            await _run(writer, lambda conn: conn.execute(f"PRAGMA wal_autocheckpoint = {BACKSTOP_PAGES}"))
            if migrate_now:
                await _run(writer, migrate)
            reader = await _connect(path, synchronous, opened, busy_ms)
            checkpointer = await _connect(path, synchronous, opened, busy_ms)
        except BaseException as exc:
            for conn in opened:
                await conn.close()
            if (storage := faults.classify(exc, path, new=new)) is not None:
                raise storage from None
            raise
        return cls(writer, reader, path, checkpointer, group_commit=group_commit)

    async def _on_writer(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await self._call(self._writer, fn)

    def _begin(self, conn: sqlite3.Connection) -> None:
        self.still_there()  # in the writer's thread, right before each transaction (a group's too)
        conn.execute("BEGIN IMMEDIATE")

    def _wrote(self, commands: int = 1) -> None:
        """Let the WAL keeper start a background checkpoint when one is due (a group counts each of its commands,
        so the WAL stays short under load and the writer's own backstop checkpoint never stalls a commit)."""
        self.wal.wrote(commands)

    def _refuse(self) -> None:
        if self.damaged is not None:  # the file itself is looked at in the writer's thread (`_begin`), off the loop
            raise self.damaged

    def still_there(self) -> None:
        """Raise the StorageError that stops writes: a damaged file, or one deleted or replaced since it was opened
        (an os.stat of the path: about a microsecond)."""
        if self.damaged is not None:
            raise self.damaged
        try:
            now = faults.file_identity(self.path)
        except OSError:  # can't tell (a folder's permissions changed): the write itself will say what is wrong
            return
        if now != self._identity:
            self.damaged = faults.replaced(self.path)
            log.warning("database_gone", path=str(self.path), error=str(self.damaged))
            faults.drop_side_files(self._sides)
            raise self.damaged
        if None in self._sides.values():  # not made yet when it was opened
            self._sides = faults.side_files(self.path)

    def source(self) -> Path:
        """The file, for a snapshot to check, once it is known to still be the one this process opened."""
        self.still_there()
        return self.path

    def _fault(self, error: BaseException) -> BaseException:
        """The error to raise for a failure: storage faults become StorageError (and are noted)."""
        storage = faults.classify(error, self.path)
        if storage is None:
            return error
        if storage.kind in ("corrupt", "gone") and self.damaged is None:
            self.damaged = storage
            log.info("database_damaged", path=str(self.path), error=str(error))
        elif storage.kind == "full":
            self.wal.on_full()
        return storage

    async def _call(self, conn: aiosqlite.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
        """`_run`, with storage faults turned into StorageError."""
        try:
            return await _run(conn, fn)
        except (sqlite3.Error, OSError) as exc:
            error = self._fault(exc)
            if error is exc:
                raise
            raise error from exc

    async def write_without_foreign_keys(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """`fn` in a transaction of its own with foreign keys off (a reproject dropping its old tables)."""
        self.still_there()

        def run(conn: sqlite3.Connection) -> T:
            conn.execute("PRAGMA foreign_keys = OFF")
            try:
                with transaction(conn):
                    return fn(conn)
            finally:
                conn.execute("PRAGMA foreign_keys = ON")

        result = await self._on_writer(run)
        self._wrote()
        return result

    @asynccontextmanager
    async def reprojecting(self, *, wait: bool = True) -> AsyncIterator[Reproject | None]:
        """A world reproject's turn across every process opening the file: the lock on `<file>-reproject.lock`
        (engine/storage/sqlite_lease.py) held for the duration, None when another process holds it and not
        `wait`. Lent to the reproject: old tables dropped with foreign keys off, the WAL kept small between
        batches, and the lock checked in each of its transactions."""
        lease = FileLease(self.path)

        async def try_take() -> bool:  # on the loop itself: a non-blocking flock takes microseconds
            try:
                return lease.try_take()
            except OSError as exc:
                if not wait:  # can't tell whether a reproject runs: leave any copies alone
                    log.info("reproject_lock_unavailable", path=str(lease.path), error=str(exc))
                    return False
                raise StorageError(f"can't open {lease.path}, the reproject's lock beside the database "
                                   f"({exc.strerror or exc}): let Chronicle write to {lease.path.parent}",
                                   kind="unwritable", path=str(self.path)) from None

        async def holder() -> str:
            return lease.holder()

        try:
            held = await take_reproject_lock(try_take, holder, wait=wait, poll=LEASE_POLL_SECONDS)
            yield Reproject(drop=self.write_without_foreign_keys, pace=self.keep_wal_small,
                            hold=lambda _: lease.hold()) if held else None
        finally:
            lease.release()

    async def keep_wal_small(self) -> None:
        """Wait for the running checkpoint, then start the next (a reproject calls this between batches)."""
        await self.wal.keep_small()

    @property
    def full(self) -> bool:
        """Whether the disk was found full and space has not come back yet."""
        return self.wal.full

    def room(self) -> None:
        """Raise StorageError when there is no room to record a new reply, or the file is gone (checked before
        generating one)."""
        self.still_there()
        self.wal.room()

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(conn)` on the reader's thread (a consistent snapshot per statement)."""
        return await self._call(self._reader, fn)

    async def close(self) -> None:
        """Close every connection (the last one checkpoints the WAL)."""
        await self._finish_writes()
        await self.wal.stop()
        for conn in (self._checkpointer, self._reader, self._writer):
            if conn is not None:
                try:
                    await conn.close()
                except sqlite3.Error as exc:  # a full disk or a lost file: the log already says so
                    log.warning("database_close_failed", error=str(exc))


async def _connect(path: Path, synchronous: Synchronous, opened: list[aiosqlite.Connection],
                   busy_ms: int = 10_000) -> aiosqlite.Connection:
    """An aiosqlite connection with Chronicle's settings (added to `opened` for cleanup)."""
    connecting = aiosqlite.connect(path, isolation_level=None)
    try:
        conn = await connecting
    except BaseException:
        # aiosqlite stops its worker thread after a failed connect but nobody waits for it: let it finish
        # while the event loop still runs (else it reports "Event loop is closed" from its thread).
        await asyncio.to_thread(connecting._thread.join, 2.0)  # noqa: SLF001
        raise
    opened.append(conn)
    await _run(conn, lambda c: configure(c, synchronous, busy_ms))
    return conn


async def _run(conn: aiosqlite.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    """Run a whole function in an aiosqlite connection's thread (one hop, not one per statement).

    aiosqlite has no public hook for this; `_execute` and `_conn` are its stable internals
    (present since 0.17). This is the only place that touches them.
    """
    result: T = await conn._execute(lambda: fn(conn._conn))  # type: ignore[no-untyped-call]  # noqa: SLF001
    return result
