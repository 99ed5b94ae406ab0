"""A SQLite file deleted or replaced while Chronicle runs: every later write is refused with one line, nothing more
is recorded (SQLite would write on into the unlinked file, lost at exit), and a backup restored in its place is
not mixed with the old file's -wal. PostgreSQL has no file to delete."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine import Actor, Engine, StorageError, store
from engine.commands import AnswerLine, AuthorCharacter, SayLine
from engine.llm.openai_compat import OpenAICompatibleModel
from tests.conftest import story
from tests.engine.test_narrator import RecordingSink
from tests.fakes.llm_server import FakeLLMServer

GONE = "was deleted or replaced while Chronicle was running; nothing more is recorded. Restore it from a backup " \
       "or restart Chronicle."


@pytest.fixture
async def running(tmp_path: Path, fake_llm: FakeLLMServer, admin: Actor) -> AsyncIterator[tuple[Engine, Path]]:
    """An engine on a file with a story and a few lines, talking to the fake model."""
    model = OpenAICompatibleModel(fake_llm.base_url, "k", "fake-model", max_retries=0, timeout=5.0)
    path = tmp_path / "world" / "world.db"
    engine = await Engine.open(path, model=model)
    try:
        await story(engine, admin)
        for i in range(5):
            await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id=f"m{i}", text=f"line {i}"))
        yield engine, path
    finally:
        await engine.close()
        await model.aclose()


def _is_gone(error: StorageError, path: Path) -> None:
    assert error.kind == "gone" and str(error) == f"the database file {path} {GONE}"


async def test_a_deleted_file_refuses_every_later_write_and_reply(running: tuple[Engine, Path], admin: Actor,
                                                                  fake_llm: FakeLLMServer):
    engine, path = running
    before = await engine.db.read(store.last_seq)
    path.unlink()
    with pytest.raises(StorageError) as caught:
        await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id="after-1", text="never recorded"))
    _is_gone(caught.value, path)
    sink, asked = RecordingSink(), len(fake_llm.chat_requests)
    with pytest.raises(StorageError, match="deleted or replaced"):
        await engine.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="after-2", text="Anyone there?"), sink=sink)
    assert sink.calls == [] and len(fake_llm.chat_requests) == asked  # nothing generated, nothing shown
    with pytest.raises(StorageError, match="deleted or replaced"):
        await engine.perform(AuthorCharacter(actor=admin, name="Cora", description="A latecomer."))
    with pytest.raises(StorageError) as checked:  # /admin check and `chronicle check`: the line, not a traceback
        await engine.maintenance.check()
    _is_gone(checked.value, path)
    assert await engine.db.read(store.last_seq) == before  # the old file (still open) got nothing more
    assert not path.exists()  # and nothing made a new, empty one in its place


async def test_a_replaced_file_is_left_as_it_is(running: tuple[Engine, Path], admin: Actor, tmp_path: Path):
    engine, path = running
    other = tmp_path / "other.db"
    sqlite3.connect(other).close()
    os.replace(other, path)  # another file moved into its place
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(StorageError) as caught:
        await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id="after", text="never recorded"))
    _is_gone(caught.value, path)
    await engine.close()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


async def test_commands_queued_behind_a_running_write_are_refused_once_the_file_is_gone(
        running: tuple[Engine, Path], admin: Actor):
    engine, path = running
    for channel in (f"c{i}" for i in range(8)):
        await story(engine, admin, channel, guest=False)
    before = await engine.db.read(store.last_seq)
    holding, release = threading.Event(), threading.Event()

    def slow(conn: object) -> None:  # a write that holds the writer until the file is deleted
        holding.set()
        release.wait(5)

    first = asyncio.ensure_future(engine.db.write(slow))
    await asyncio.to_thread(holding.wait, 5)
    queued = [engine.perform(SayLine(actor=admin, channel_id=f"c{i}", message_id=f"q{i}", text=f"queued {i}")) for i in range(8)]
    await asyncio.sleep(0.05)  # they wait for the writer, to be committed together as one group
    path.unlink()
    release.set()
    await first
    outcomes = await asyncio.gather(*queued, return_exceptions=True)
    assert all(isinstance(o, StorageError) and o.kind == "gone" for o in outcomes), outcomes
    assert await engine.db.read(store.last_seq) == before


async def test_a_backup_restored_in_its_place_is_not_mixed_with_the_old_wal(running: tuple[Engine, Path],
                                                                            admin: Actor, tmp_path: Path):
    engine, path = running
    backup = tmp_path / "backup.db"
    source, target = sqlite3.connect(path), sqlite3.connect(backup)
    source.backup(target)
    target.close()
    source.close()
    saved = await engine.db.read(store.last_seq)
    for i in range(20):  # written after the backup: in the WAL, not yet in the file
        await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id=f"late-{i}", text=f"after the backup {i}"))
    path.unlink()
    with pytest.raises(StorageError, match="deleted or replaced"):
        await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id="refused", text="never recorded"))
    await engine.close()
    shutil.copy(backup, path)  # the admin restores the backup, as the line says
    restored = await Engine.open(path)
    try:
        assert await restored.db.read(store.last_seq) == saved  # the backup's log, not pages of the deleted file
        assert (await restored.maintenance.check()).clean
    finally:
        await restored.close()
