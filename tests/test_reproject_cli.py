"""A reproject in one `chronicle` process while other processes open the same database (SQLite file or PostgreSQL).

Copies are a running reproject's work or a dead one's leftovers, and only the reproject lock tells which: openers
(`chats`, `events`, `check`, a console) leave a running reproject's copies alone, the next process opening the
database to write after a SIGKILL drops them (commands that only read never touch them), and a second reproject
waits for the first, naming it. Every run is a real subprocess. To overlap deterministically the test stops the
reproject's process (SIGSTOP) at a moment it holds no write lock, runs an opener, then lets it go on (SIGCONT):
the reproject is never mocked, only paused.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from engine.projection import online
from engine.storage import pg_reproject
from tests.conftest import raw_connection
from tests.shared import built_once
from tests.test_cli import ROOT

ENV = {"CHRONICLE_LLM_BASE_URL": "http://127.0.0.1:9/v1"}  # never start the bundled model
OPENERS = [("chats",), ("events", "--limit", "3"), ("check",), ("console",)]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHRONICLE_", "DISCORD_"))}
    return {**env, **ENV}


def chronicle(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    """Run `chronicle ARGS` to its end."""
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=ROOT, env=_env(), input=stdin,
                          capture_output=True, text=True, timeout=180, check=False)


def start_reproject(location: str, stderr: Path) -> subprocess.Popen:
    """`chronicle reproject` in the background (its stderr to a file the test can read while it runs)."""
    with stderr.open("w") as err:
        return subprocess.Popen([sys.executable, "-m", "bot.cli", "reproject", "--database", location], cwd=ROOT,
                                env=_env(), stdout=subprocess.PIPE, stderr=err, text=True)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    """Poll `condition` until it holds (a condition to reach, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.01)


def leftovers(location: str) -> list[str]:
    """The reproject copies (and old tables) in the database, whoever they belong to."""
    conn = raw_connection(location)
    try:
        return sorted(online.leftovers(conn))
    finally:
        conn.close()


def writer_free(location: str) -> bool:
    """Whether no process is inside a write transaction (the log's write lock is free) or a checkpoint right now."""
    if location.startswith("postgresql://"):
        conn = raw_connection(location)
        try:
            conn.execute("BEGIN")
            conn.execute("SET LOCAL lock_timeout = 1")
            conn.execute("LOCK TABLE events IN EXCLUSIVE MODE")
            return True
        except psycopg.errors.LockNotAvailable:
            return False
        finally:
            conn.execute("ROLLBACK")
            conn.close()
    plain = sqlite3.connect(location, timeout=0, isolation_level=None)
    try:
        plain.execute("BEGIN IMMEDIATE")
        plain.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        plain.close()


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def pause(proc: subprocess.Popen, location: str) -> None:
    """Stop the reproject's process between two of its transactions (it runs on a little between tries)."""
    for _ in range(2000):
        assert proc.poll() is None, "the reproject ended before the openers were done: make the world bigger"
        os.kill(proc.pid, signal.SIGSTOP)
        wait_for(lambda: _state(proc.pid) in ("T", "t"), "the reproject to stop")
        if writer_free(location):
            return
        os.kill(proc.pid, signal.SIGCONT)
        time.sleep(0.002)
    raise AssertionError("never found the reproject between two transactions")


def resume(proc: subprocess.Popen) -> None:
    """Let a paused reproject go on."""
    os.kill(proc.pid, signal.SIGCONT)


def _demo_world(tmp_path_factory: pytest.TempPathFactory, messages: int) -> Path:
    """This module's copy of a demo world built once for the whole run (the workers share the build)."""
    def build(folder: Path) -> None:
        done = chronicle("demo-data", "--chats", "4", "--messages", str(messages), "--database", str(folder / "world.db"))
        assert done.returncode == 0, done.stderr

    built = built_once(tmp_path_factory, f"reproject-world-{messages}", build) / "world.db"
    path = tmp_path_factory.mktemp("reproject-world") / "world.db"
    path.write_bytes(built.read_bytes())
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite world of about 9,000 events: its reproject on PostgreSQL lasts well past a few short runs between
    pauses."""
    return _demo_world(tmp_path_factory, 2000)


@pytest.fixture(scope="module")
def big_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 27,000 events for SQLite, whose reproject fills its copies in batches of up to 250 ms while its own
    process has no command waiting (other processes' commands don't count): 9,000 are done in a few pauses."""
    return _demo_world(tmp_path_factory, 6000)


@pytest.fixture(params=["sqlite", "postgres"])
def location(request: pytest.FixtureRequest, world: Path, tmp_path: Path) -> Iterator[str]:
    """The world on each backend: a copy of the file, or its log copied into a fresh PostgreSQL database."""
    if request.param == "sqlite":
        copy = tmp_path / "world.db"
        copy.write_bytes(request.getfixturevalue("big_world").read_bytes())
        yield str(copy)
        return
    url = request.getfixturevalue("pg_url")
    copied = chronicle("copy", "--from", str(world), "--to", url)
    assert copied.returncode == 0, copied.stderr
    yield url


def _reprojecting(location: str, tmp_path: Path) -> subprocess.Popen:
    proc = start_reproject(location, tmp_path / "reproject.err")
    wait_for(lambda: bool(leftovers(location)) or proc.poll() is not None, "the reproject's copies")
    assert proc.poll() is None, (tmp_path / "reproject.err").read_text()
    return proc


def _finished(proc: subprocess.Popen, tmp_path: Path, name: str = "reproject.err") -> str:
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, (tmp_path / name).read_text()
    assert "reprojected the world" in out
    return out


def test_openers_leave_a_running_reprojects_copies_alone_and_it_finishes_clean(location: str, tmp_path: Path):
    # PostgreSQL's check waits for a running reproject (test_a_postgres_check_waits_for_a_running_reproject)
    postgres = location.startswith("postgresql://")
    openers = [o for o in OPENERS if o != ("check",) or not postgres]
    # SQLite's reproject goes on by up to a 250 ms batch at each pause (it is stopped only between transactions):
    # each opener once there, or a loaded machine lets it finish before the last opener
    proc = _reprojecting(location, tmp_path)
    try:
        for opener in openers * (2 if postgres else 1):  # each while the reproject is paused mid-way
            pause(proc, location)
            copies = leftovers(location)
            assert copies, "the reproject is past its copies: make the world bigger"
            done = chronicle(*opener, "--database", location, stdin="/character list\n")
            assert done.returncode == 0, (opener, done.stdout, done.stderr)
            if opener == ("check",):  # SQLite: a snapshot of the live world against the log (copies not compared)
                assert "clean" in done.stdout
            assert leftovers(location) == copies, opener  # left alone: they are being filled
            resume(proc)
            time.sleep(0.01)  # the reproject goes on a little before the next opener (pacing, not asserted)
    finally:
        resume(proc)
    _finished(proc, tmp_path)
    assert leftovers(location) == []
    check = chronicle("check", "--database", location)
    assert check.returncode == 0 and "clean" in check.stdout, check.stdout + check.stderr


def _lock_held(location: str) -> bool:
    """Whether any process holds the database's reproject lock."""
    if location.startswith("postgresql://"):
        conn = raw_connection(location)
        try:
            return conn.execute(f"SELECT EXISTS (SELECT 1 {pg_reproject._HOLDERS})",  # noqa: SLF001
                                (pg_reproject.REPROJECT_LOCK,)).fetchone()[0]
        finally:
            conn.close()
    from engine.storage.sqlite_lease import FileLease

    lease = FileLease(Path(location))
    try:
        return not lease.try_take()
    finally:
        lease.release()


def test_a_reproject_killed_mid_way_has_its_leftovers_dropped_by_the_next_opener(location: str, tmp_path: Path):
    proc = _reprojecting(location, tmp_path)
    pause(proc, location)
    proc.kill()  # SIGKILL: nothing of the process runs again
    proc.wait()
    assert leftovers(location)
    wait_for(lambda: not _lock_held(location), "the system to release the dead process's lock")  # PostgreSQL: the
    # server notices the lost connection
    copies = leftovers(location)
    done = chronicle("chats", "--database", location)  # a command that only reads never touches them
    assert done.returncode == 0, done.stderr
    assert leftovers(location) == copies
    done = chronicle("migrate", "--database", location)  # the next process opening it to write drops them
    assert done.returncode == 0, done.stderr
    assert leftovers(location) == []
    check = chronicle("check", "--database", location)
    assert check.returncode == 0 and "clean" in check.stdout, check.stdout + check.stderr


def test_a_second_reproject_waits_for_the_first_and_names_it(location: str, tmp_path: Path):
    first = _reprojecting(location, tmp_path)
    pause(first, location)
    try:
        second = start_reproject(location, tmp_path / "second.err")
        wait_for(lambda: "reproject_waiting" in (tmp_path / "second.err").read_text() or second.poll() is not None,
                 "the second reproject to say it waits")
        waiting = (tmp_path / "second.err").read_text()
        assert second.poll() is None, waiting
        assert f"pid {first.pid}" in waiting and "a reproject is already running" in waiting
        assert len(waiting.strip().splitlines()) == 1
    finally:
        resume(first)
    _finished(first, tmp_path)
    _finished(second, tmp_path, "second.err")
    assert leftovers(location) == []
    check = chronicle("check", "--database", location)
    assert check.returncode == 0 and "clean" in check.stdout, check.stdout + check.stderr


def test_a_postgres_check_waits_for_a_running_reproject_and_compares_the_world_it_built(pg_url: str, world: Path,
                                                                                        tmp_path: Path):
    """A check holds the live tables until it ends, which a reproject's switch would wait on: they take turns."""
    copied = chronicle("copy", "--from", str(world), "--to", pg_url)
    assert copied.returncode == 0, copied.stderr
    proc = _reprojecting(pg_url, tmp_path)
    pause(proc, pg_url)
    try:
        with (tmp_path / "check.err").open("w") as err:
            check = subprocess.Popen([sys.executable, "-m", "bot.cli", "check", "--database", pg_url], cwd=ROOT,
                                     env=_env(), stdout=subprocess.PIPE, stderr=err, text=True)
        wait_for(lambda: "check_waiting" in (tmp_path / "check.err").read_text() or check.poll() is not None,
                 "the check to say it waits")
        assert check.poll() is None, (tmp_path / "check.err").read_text()
        assert f"pid {proc.pid}" in (tmp_path / "check.err").read_text()
    finally:
        resume(proc)
    _finished(proc, tmp_path)
    out, _ = check.communicate(timeout=300)
    assert check.returncode == 0 and "clean" in out, out + (tmp_path / "check.err").read_text()
