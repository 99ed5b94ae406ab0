"""A full disk: Chronicle says so, takes no new lines instead of losing them, shows nothing it can't record,
and carries on by itself once space returns (on a real 3 MB tmpfs, mounted for the test as root)."""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.console.app import Console
from engine import Actor, Engine, StorageError, store
from engine.commands import AnswerLine, SayLine
from engine.llm.openai_compat import OpenAICompatibleModel
from tests.conftest import story
from tests.engine.test_narrator import RecordingSink
from tests.fakes.llm_server import FakeLLMServer
from tests.faults import fill_up, small_file_system


@pytest.fixture
async def cramped(tmp_path: Path, fake_llm: FakeLLMServer, admin: Actor) -> AsyncIterator[tuple[Engine, Path]]:
    """An engine whose database lives on a 3 MB file system, with a story and a 1 MB ballast file to free."""
    with small_file_system(tmp_path / "small") as small:
        (small / "spare").write_bytes(b"\0" * 1_000_000)
        model = OpenAICompatibleModel(fake_llm.base_url, "k", "fake-model", max_retries=0, timeout=5.0)
        engine = await Engine.open(small / "world.db", model=model)
        try:
            await story(engine, admin)
            yield engine, small
        finally:
            await engine.close()
            await model.aclose()


async def fill_disk(engine: Engine, small: Path, leave: int = 0) -> Path:
    """Fill `small` once the WAL is folded into the database file: a checkpoint still running after the ballast
    took the rest would truncate the WAL and free its space again."""
    await engine.db.wal.fold("TRUNCATE")
    return fill_up(small, leave)


async def _until_full(engine: Engine, admin: Actor) -> tuple[list[str], dict[str, StorageError]]:
    """Record lines until the disk refuses five of them; return the acknowledged ids and the refused ones."""
    acknowledged: list[str] = []
    refused: dict[str, StorageError] = {}
    for i in range(20_000):
        try:
            await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id=f"m{i}", text=f"line {i} " + "words " * 80))
            acknowledged.append(f"m{i}")
        except StorageError as exc:
            refused[f"m{i}"] = exc
            if len(refused) == 5:
                break
    return acknowledged, refused


async def _space_back(engine: Engine) -> None:
    for _ in range(200):
        if not engine.db.full:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("Chronicle did not notice that space came back")


async def test_full_disk_refuses_new_lines_and_recovers_by_itself(cramped: tuple[Engine, Path], admin: Actor,
                                                                   fake_llm: FakeLLMServer):
    engine, small = cramped
    acknowledged, refused = await _until_full(engine, admin)
    assert acknowledged and len(refused) == 5
    assert all(e.kind == "full" and "is full" in str(e) and "\n" not in str(e) for e in refused.values())
    assert engine.db.full

    sink, asked = RecordingSink(), len(fake_llm.chat_requests)
    with pytest.raises(StorageError, match="full"):
        await engine.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="while-full", text="Is anyone there?"), sink=sink)
    assert sink.calls == [] and len(fake_llm.chat_requests) == asked  # nothing generated, nothing shown

    (small / "spare").unlink()  # an admin frees 1 MB
    await _space_back(engine)
    assert os.path.getsize(f"{small / 'world.db'}-wal") < 256 * 1024  # the WAL was folded back into the file
    said = await engine.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="after", text="We are back."), sink=RecordingSink())
    assert said.replies and said.replies[0].text.startswith("Reply")
    chat = await engine.reads.get_chat("chan-1")
    kept = {m.message_id for m in await engine.reads.transcript(chat.chat_id, limit=100_000)}
    assert set(acknowledged) <= kept and not set(refused) & kept  # acknowledged: kept; refused: not recorded
    assert (await engine.maintenance.check()).clean


async def test_a_reply_shown_when_the_disk_fills_is_withdrawn(cramped: tuple[Engine, Path], admin: Actor,
                                                              fake_llm: FakeLLMServer):
    engine, small = cramped
    fake_llm.enqueue_delay(0.5, "A reply that arrives after the disk filled up.")
    sink = RecordingSink()
    reply = asyncio.ensure_future(engine.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="just-before", text="Tell me a story."), sink=sink))
    while not sink.calls:  # the line is recorded and the reply has begun
        await asyncio.sleep(0.01)
    await fill_disk(engine, small)
    with pytest.raises(StorageError, match="full"):
        await reply
    kinds = [kind for kind, _, _ in sink.calls]
    assert kinds[0] == "begin" and kinds[-1] == "abort"  # shown, then taken back: it could not be recorded
    chat = await engine.reads.get_chat("chan-1")
    (small / "ballast").unlink()
    (small / "spare").unlink()
    await _space_back(engine)
    lines = await engine.reads.transcript(chat.chat_id)
    assert [m.text for m in lines if m.role == "character"] == []
    assert lines[-1].text == "Tell me a story."


async def test_the_console_says_one_line_per_refused_line_and_goes_on(cramped: tuple[Engine, Path],
                                                                      admin: Actor):
    engine, small = cramped
    out = io.StringIO()
    console = Console(engine, channel="full", out=out)
    await console.handle('/character create name:Mira description:"A lighthouse keeper."')
    await console.handle("/chat start character:Mira")
    await fill_disk(engine, small)
    refused = 0
    for i in range(20):  # what already-allocated space still holds goes in; then each line is refused
        events, shown = await engine.db.read(store.last_seq), len(out.getvalue())
        await console.handle(f"/memory add text:\"remember {i}\"")
        answer = out.getvalue()[shown:]
        assert answer.count("\n") == 1, answer
        if answer.startswith("error: the disk holding"):
            refused += 1
            assert await engine.db.read(store.last_seq) == events  # refused: nothing recorded
        else:
            assert answer.startswith("Remembered") and await engine.db.read(store.last_seq) == events + 1
    assert refused >= 15
    (small / "ballast").unlink()
    await _space_back(engine)
    await console.handle("/memory add text:\"remember this one\"")
    assert out.getvalue().splitlines()[-1].startswith("Remembered")
