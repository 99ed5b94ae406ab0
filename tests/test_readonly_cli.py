"""Commands that only read (`check`, `events`, `chats`, `export`, `card export`) never create or change a file: a
mistyped path is one line, and a database on a read-only file, folder or mount (a backup snapshot) can be read.
Each run is a real `chronicle` process (helpers of tests/test_storage_cli.py)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from engine import Actor, Engine
from engine.commands import SayLine
from tests.conftest import story
from tests.faults import read_only_file, read_only_folder, read_only_mount
from tests.test_storage_cli import _argv, assert_one_line, run, saved  # noqa: F401  (saved: a demo-data file)

GUILD = "demo-guild-7"  # demo-data's


def _readers(path: Path, out: Path) -> dict[str, list[str]]:
    """Every read-only command on `path` (exports written under `out`)."""
    chat = _first_chat(path) if path.exists() else "chat_x"
    database = ("--database", str(path))
    return {"events": _argv("events", "--all", "--json", *database), "chats": _argv("chats", *database),
            "check": _argv("check", *database),
            "export": _argv("export", "--chat", chat, "--out", str(out / "export"), *database),
            "card export": _argv("card", "export", "Aria", "--guild", GUILD, "--out", str(out / "card.json"), *database)}


def _first_chat(path: Path) -> str:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True)
    try:
        return conn.execute("SELECT chat_id FROM chats ORDER BY chat_id LIMIT 1").fetchone()[0]
    finally:
        conn.close()


def _events_in(path: Path) -> int:
    """Events in the file itself (a -wal beside it left unread)."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True)
    try:
        if conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'events'").fetchone()[0] == 0:
            return 0
        return conn.execute("SELECT count(*) FROM events").fetchone()[0]
    finally:
        conn.close()


def _state(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _all_read(runs: dict[str, object], path: Path, out: Path) -> None:
    """Every reader ran as it should on the database at `path`."""
    for command, done in runs.items():
        assert done.returncode == 0 and "Traceback" not in done.stderr, (command, done.stdout, done.stderr)
    events = [json.loads(line) for line in runs["events"].stdout.splitlines()]
    assert [e["seq"] for e in events] == list(range(1, _events_in(path) + 1))
    assert runs["check"].stdout.splitlines()[-1].endswith(": clean")
    assert (out / "card.json").exists() and len(list((out / "export").iterdir())) == 2


def test_a_mistyped_path_is_one_line_and_nothing_is_created(tmp_path: Path):
    missing = tmp_path / "typo" / "world.db"
    for command, argv in _readers(missing, tmp_path / "out").items():
        done = run(argv)
        assert_one_line(done, f"no database at {missing}; check --database")
        assert not missing.parent.exists(), command
    assert not (tmp_path / "out").exists()


def test_reading_leaves_nothing_beside_the_database(saved: Path, tmp_path: Path):  # noqa: F811
    folder = tmp_path / "live"
    folder.mkdir()
    path = folder / "world.db"
    shutil.copy(saved, path)
    before = _state(folder)
    runs = {command: run(argv) for command, argv in _readers(path, tmp_path / "out").items()}
    _all_read(runs, path, tmp_path / "out")
    assert _state(folder) == before  # no -wal, -shm or scratch copy of check left, the file unchanged


@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_read_only_file_or_folder_can_be_read(saved: Path, tmp_path: Path, what: str):  # noqa: F811
    folder = tmp_path / "snapshot"
    folder.mkdir()
    path = folder / "world.db"
    shutil.copy(saved, path)
    before = _state(folder)
    guard: AbstractContextManager[Path] = read_only_file(path) if what == "file" else read_only_folder(folder)
    with guard:
        runs = {command: run(argv) for command, argv in _readers(path, tmp_path / "out").items()}
    _all_read(runs, path, tmp_path / "out")
    assert _state(folder) == before


def test_a_read_only_mount_can_be_read(saved: Path, tmp_path: Path):  # noqa: F811
    folder = tmp_path / "mounted"
    folder.mkdir()
    path = folder / "world.db"
    shutil.copy(saved, path)
    for argv in (_argv("events", "--all", "--json", "--database", str(path)), _argv("check", "--database", str(path))):
        done = run(read_only_mount(folder, argv))
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert len(run(read_only_mount(folder, _readers(path, tmp_path)["events"])).stdout.splitlines()) == _events_in(path)


@pytest.fixture
def snapshot_with_wal(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A copy of a live database taken with its -wal and -shm (recent events only in the -wal), read-only."""
    live, folder = tmp_path / "live" / "world.db", tmp_path / "snapshot"
    folder.mkdir()

    async def write() -> int:
        engine = await Engine.open(live)
        admin = Actor(user_id="admin", guild_id="g", display_name="Ada", is_admin=True)
        await story(engine, admin)
        for i in range(40):
            await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id=f"m{i}", text=f"line {i}"))
        for suffix in ("", "-wal", "-shm"):  # while it is open: the -wal holds what the file does not yet
            shutil.copy(f"{live}{suffix}", folder / f"world.db{suffix}")
        count = len(await engine.reads.recent_events(limit=1_000))
        await engine.close()
        return count

    count = asyncio.run(write())
    assert _events_in(folder / "world.db") < count  # the file alone lacks the newest events
    with read_only_folder(folder):
        yield folder / "world.db", count


def test_a_read_only_snapshot_is_read_with_its_wal(snapshot_with_wal: tuple[Path, int]):
    path, count = snapshot_with_wal
    done = run(_argv("events", "--all", "--json", "--database", str(path)))
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["seq"] for line in done.stdout.splitlines()] == list(range(1, count + 1))
    check = run(_argv("check", "--database", str(path)))
    assert check.returncode == 0 and check.stdout.splitlines()[-1].endswith(": clean"), check.stdout + check.stderr
