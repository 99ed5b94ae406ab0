"""Storage faults are one StorageError each, naming the file and the fix; a damaged file is never written."""

from __future__ import annotations

import hashlib
import multiprocessing
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from engine import Actor, Engine, StorageError, damage_report
from engine.commands import SayLine
from tests.conftest import story
from tests.faults import random_file, read_only_folder, truncate_copy


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
async def saved_world(tmp_path: Path, admin: Actor) -> Path:
    """A closed database file holding a small story (its WAL folded in)."""
    path = tmp_path / "saved" / "world.db"
    engine = await Engine.open(path)
    await story(engine, admin)
    for i in range(30):
        await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id=f"m{i}", text=f"line {i} " + "words " * 40))
    await engine.close()
    assert not Path(f"{path}-wal").exists()
    return path


def _one_line(error: StorageError, path: Path) -> str:
    text = str(error)
    assert "\n" not in text and str(path) in text
    return text


async def test_a_new_database_in_a_read_only_folder(tmp_path: Path):
    folder = tmp_path / "ro"
    folder.mkdir()
    with read_only_folder(folder):
        with pytest.raises(StorageError) as caught:
            await Engine.open(folder / "new.db")
    assert caught.value.kind == "unwritable"
    assert "can't create the database" in _one_line(caught.value, folder / "new.db")
    assert "CHRONICLE_DATABASE" in str(caught.value)


async def test_an_existing_database_in_a_read_only_folder(saved_world: Path):
    before = _digest(saved_world)
    with read_only_folder(saved_world.parent):
        with pytest.raises(StorageError) as caught:
            await Engine.open(saved_world)
    assert caught.value.kind == "unwritable"
    assert "-wal and -shm" in _one_line(caught.value, saved_world)
    assert _digest(saved_world) == before


async def test_a_folder_that_cannot_be_created(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(StorageError) as caught:
        await Engine.open(blocker / "sub" / "x.db")
    assert caught.value.kind == "no_folder"
    assert "can't create the folder" in _one_line(caught.value, blocker / "sub" / "x.db")
    parent = tmp_path / "ro"
    parent.mkdir()
    with read_only_folder(parent):
        with pytest.raises(StorageError) as caught:
            await Engine.open(parent / "sub" / "x.db")
    assert caught.value.kind == "no_folder"


async def test_random_bytes_are_not_a_database_and_stay_untouched(tmp_path: Path):
    path = random_file(tmp_path / "noise.db")
    before = _digest(path)
    with pytest.raises(StorageError) as caught:
        await Engine.open(path)
    assert caught.value.kind == "not_a_database"
    assert "is not a Chronicle database" in _one_line(caught.value, path)
    assert _digest(path) == before and not Path(f"{path}-wal").exists()
    assert damage_report(path) == [str(caught.value)]


@pytest.mark.parametrize("share", [0.1, 0.5, 0.9])
async def test_a_truncated_database_is_refused_and_never_written(saved_world: Path, tmp_path: Path, share: float):
    path = truncate_copy(saved_world, tmp_path / f"cut-{share}.db", share)
    before = _digest(path)
    with pytest.raises(StorageError) as caught:
        await Engine.open(path)
    assert caught.value.kind == "corrupt"
    assert "is damaged (cut short" in _one_line(caught.value, path)
    assert _digest(path) == before and not Path(f"{path}-wal").exists()
    assert damage_report(path) and "cut short" in damage_report(path)[0]


async def test_damage_found_during_work_stops_every_write(saved_world: Path, admin: Actor):
    conn = sqlite3.connect(saved_world)
    root, page_size = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'messages'").fetchone()[0], \
        conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with saved_world.open("r+b") as handle:  # scribble over the messages table's root page
        handle.seek((root - 1) * page_size)
        handle.write(b"\xff" * page_size)
    engine = await Engine.open(saved_world)
    try:
        chat = await engine.reads.get_chat("chan-1")
        with pytest.raises(StorageError) as caught:
            await engine.reads.transcript(chat.chat_id)
        assert caught.value.kind == "corrupt" and "chronicle check" in _one_line(caught.value, saved_world)
        events = await engine.reads.recent_events(limit=1)
        with pytest.raises(StorageError, match="damaged"):
            await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id="after", text="never recorded"))
        assert await engine.reads.recent_events(limit=1) == events
    finally:
        await engine.close()
    found = damage_report(saved_world)
    assert found and all(str(saved_world) in line for line in found)
    assert any(word in line for line in found for word in ("malformed", "page", "tree"))


async def test_a_lock_held_elsewhere_is_one_line_and_passes(saved_world: Path, admin: Actor):
    other = sqlite3.connect(saved_world, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another program holds the write lock
    try:
        with pytest.raises(StorageError) as caught:
            await Engine.open(saved_world, busy_ms=100)
        assert caught.value.kind == "locked" and "locked by another program" in _one_line(caught.value, saved_world)
    finally:
        other.execute("ROLLBACK")
    engine = await Engine.open(saved_world, busy_ms=100)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(StorageError, match="locked"):
            await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id="while-locked", text="waits, then gives up"))
        other.execute("ROLLBACK")
        said = await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id="after-lock", text="goes through"))
        assert said.text == "goes through"
    finally:
        other.close()
        await engine.close()


def _open_and_close(path: str, results: Any) -> None:
    """In a forked process: open the database (migrating it), close it, report."""
    import asyncio

    from engine.storage.sqlite import Database

    async def run() -> str:
        try:
            db = await Database.open(path)
            await db.close()
            return "ok"
        except Exception as exc:  # noqa: BLE001 — reported to the parent
            return f"{type(exc).__name__}: {exc}"

    results.put(asyncio.run(run()))


def test_two_processes_starting_on_a_new_file_at_once_both_succeed(tmp_path: Path):
    """Both switch the new file to WAL and migrate it; neither sees "database is locked" (20 rounds)."""
    context = multiprocessing.get_context("fork")
    outcomes: list[str] = []
    for round_no in range(20):
        results = context.Queue()
        path = str(tmp_path / f"race-{round_no}.db")
        starters = [context.Process(target=_open_and_close, args=(path, results)) for _ in range(2)]
        for process in starters:
            process.start()
        for process in starters:
            process.join(30)
        outcomes += [results.get(timeout=5) for _ in starters]
    assert outcomes == ["ok"] * 40, [o for o in outcomes if o != "ok"][:3]


def _mid_checkpoint(path: Path) -> sqlite3.Connection:
    """A database caught as another process's checkpoint leaves it: page 1 copied in from the WAL (naming every
    page), the pages after it not yet; the writer that holds the WAL still open."""
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("CREATE TABLE lines (text TEXT)")
    writer.executemany("INSERT INTO lines VALUES (?)", [(f"line {i} " * 20,) for i in range(2_000)])
    page_size = writer.execute("PRAGMA page_size").fetchone()[0]
    wal = Path(f"{path}-wal").read_bytes()
    frames = [wal[32 + i * (24 + page_size):32 + (i + 1) * (24 + page_size)] for i in range((len(wal) - 32)
                                                                                        // (24 + page_size))]
    page_one = [frame[24:] for frame in frames if int.from_bytes(frame[:4], "big") == 1][-1]
    with path.open("r+b") as handle:
        handle.write(page_one)
    return writer


def test_a_database_mid_checkpoint_is_not_taken_for_cut_short(tmp_path: Path):
    path = tmp_path / "busy.db"
    writer = _mid_checkpoint(path)
    try:
        pages = int.from_bytes(path.read_bytes()[28:32], "big")
        assert path.stat().st_size < pages * 4096  # page 1 names pages the file does not hold yet
        assert damage_report(path) == []
        reader = sqlite3.connect(path)
        assert reader.execute("SELECT count(*) FROM lines").fetchone() == (2_000,)  # read through the WAL
        reader.close()
    finally:
        writer.close()
