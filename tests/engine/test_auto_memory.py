"""Automatic memories on both backends: a passage that left the recent window is summarised in the background and
remembered by those who witnessed it (each only what it witnessed); the summarised-through marker survives a
reopen, a reproject and a rewind; a summary that fails or stalls records nothing and never holds a reply up."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import structlog

from engine import Actor, Engine
from engine.commands import (
    AnswerLine,
    EnterScene,
    LeaveScene,
    ListMemories,
    Reproject,
    RewindChat,
    SayLine,
    SkipTime,
)
from engine.events import MemoryWritten
from engine.events.base import load_payload
from engine.llm.openai_compat import OpenAICompatibleModel
from engine.services.memories import SUMMARY_TASK
from tests.conftest import story
from tests.fakes.llm_server import FakeLLMServer

LINES = 4  # the passage (and the recent window) of these tests


def is_summary(body: dict[str, Any]) -> bool:
    """Whether a request to the model asks for an automatic memory."""
    return body["messages"][0]["content"] == SUMMARY_TASK


def story_of(body: dict[str, Any]) -> str:
    """The lines a summary request quotes."""
    return body["messages"][-1]["content"]


def summary(body: dict[str, Any]) -> str:
    """The fake narrator's memory: says which of the quoted lines it saw."""
    quoted = story_of(body)
    seen = [f"line {i}" for i in range(40) if f"(line {i})" in quoted]
    return "Remembered: " + ", ".join(seen) + (", and the tickets." if "tickets" in quoted else ".")


@contextlib.asynccontextmanager
async def opened(location: str, fake_llm: FakeLLMServer, timeout: float = 5.0) -> AsyncIterator[Engine]:
    """The engine with automatic memories on, passages of LINES lines, the fake model writing them (a request
    that sends nothing for `timeout` seconds fails)."""
    model = OpenAICompatibleModel(fake_llm.base_url, "test-key", "fake-model", timeout=timeout, max_retries=0)
    engine = await Engine.open(location, model=model, max_concurrent_replies=1, auto_memory=True,
                               auto_memory_lines=LINES)
    try:
        yield engine
    finally:
        await engine.close()
        await model.aclose()


@pytest.fixture
async def remembering(location: str, fake_llm: FakeLLMServer) -> AsyncIterator[Engine]:
    """The engine of `opened`, the fake narrator's summaries say which lines they saw."""
    fake_llm.route(is_summary, text=summary)
    async with opened(location, fake_llm) as engine:
        yield engine


async def say(engine: Engine, admin: Actor, *numbers: int) -> None:
    for i in numbers:
        await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id=f"m{i}",
                                     text=f"We talked about the harbour for a while (line {i})."))
    await engine.memories.join()


async def auto_memories(engine: Engine, admin: Actor, character: str | None = None) -> dict[str, list[str]]:
    """Each character's automatic memories, oldest first."""
    found = await engine.perform(ListMemories(actor=admin, channel_id="chan-1", character=character))
    out: dict[str, list[str]] = {}
    for memory in sorted(found, key=lambda m: m.seq):
        if memory.source == "auto":
            out.setdefault(memory.character_name, []).append(memory.text)
    return out


async def test_a_passage_that_left_the_window_is_remembered_by_those_who_witnessed_it(
        remembering: Engine, admin: Actor, fake_llm: FakeLLMServer) -> None:
    await story(remembering, admin)
    await remembering.perform(LeaveScene(actor=admin, channel_id="chan-1", character="Bram"))
    await remembering.perform(SayLine(actor=admin, channel_id="chan-1", message_id="secret",
                                      text="Aria, the tickets are under the stairs (line 0)."))
    await remembering.perform(EnterScene(actor=admin, channel_id="chan-1", character="Bram"))
    await say(remembering, admin, 1, 2, 3, 4, 5, 6)
    assert await auto_memories(remembering, admin) == {}  # six lines: the oldest four are still in the window
    await say(remembering, admin, 7)
    assert await auto_memories(remembering, admin) == {
        "Aria": ["Remembered: line 0, line 1, line 2, line 3, and the tickets."],
        "Bram": ["Remembered: line 1, line 2, line 3."]}  # Bram was away for the first line
    await say(remembering, admin, 8, 9, 10, 11)
    memories = await auto_memories(remembering, admin, "Bram")
    assert memories["Bram"] == ["Remembered: line 1, line 2, line 3.", "Remembered: line 4, line 5, line 6, line 7."]
    assert (await remembering.maintenance.check()).clean


async def test_reopen_reproject_and_rewind_summarise_each_passage_once(location: str, admin: Actor,
                                                                     fake_llm: FakeLLMServer) -> None:
    fake_llm.route(is_summary, text=summary)
    async with opened(location, fake_llm) as first:
        await story(first, admin, guest=False)
        await say(first, admin, *range(8))
    async with opened(location, fake_llm) as reopened:
        await say(reopened, admin, 8)  # the first passage is not summarised again, and the second is not due yet
        assert await auto_memories(reopened, admin) == {"Aria": ["Remembered: line 0, line 1, line 2, line 3."]}
        await reopened.perform(Reproject(actor=admin))
        await say(reopened, admin, 9, 10, 11)
        assert await auto_memories(reopened, admin) == {"Aria": ["Remembered: line 0, line 1, line 2, line 3.",
                                                                 "Remembered: line 4, line 5, line 6, line 7."]}
        await reopened.perform(RewindChat(actor=admin, channel_id="chan-1", messages=5))  # lines 7-11 go
        assert await auto_memories(reopened, admin) == {}  # both were recorded after line 7: rewound with it
        assert (await reopened.maintenance.check()).clean
        await say(reopened, admin, 12)  # lines 0-3 are summarised again (their memory was taken back), once
        assert await auto_memories(reopened, admin) == {"Aria": ["Remembered: line 0, line 1, line 2, line 3."]}
        await say(reopened, admin, 13, 14, 15, 16)
        assert await auto_memories(reopened, admin) == {"Aria": ["Remembered: line 0, line 1, line 2, line 3.",
                                                                 "Remembered: line 4, line 5, line 6, line 12."]}
        assert (await reopened.maintenance.check()).clean


async def test_a_scene_close_or_a_time_skip_summarises_what_was_said_since(remembering: Engine,
                                                                          admin: Actor) -> None:
    await story(remembering, admin, guest=False)
    await say(remembering, admin, 0, 1, 2)
    await remembering.perform(SkipTime(actor=admin, channel_id="chan-1", by="2h", summary="Two hours pass."))
    await remembering.memories.join()
    memories = await auto_memories(remembering, admin)
    assert memories == {"Aria": ["Remembered: line 0, line 1, line 2."]}


async def answer(engine: Engine, admin: Actor, count: int) -> list[Any]:
    """`count` answered lines, each with its reply (a wait for good fails the test after 30 seconds)."""
    async with asyncio.timeout(30):
        return [await engine.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id=f"a{i}",
                                                text=f"Tell me about the harbour (line {i})."))
                for i in range(count)]


@pytest.mark.parametrize("failure", ["error", "stall"])
async def test_a_failed_summary_is_logged_and_records_nothing(remembering: Engine, admin: Actor,
                                                             fake_llm: FakeLLMServer, failure: str) -> None:
    fake_llm.route(is_summary, error=500) if failure == "error" else fake_llm.route(is_summary, stall=True)
    remembering.memories.seconds = 0.5  # a stalled summary is given up after this long
    await story(remembering, admin, guest=False)
    with structlog.testing.capture_logs() as logs:
        answered = await answer(remembering, admin, 6)
        await remembering.memories.join()
    assert all(len(result.replies) == 1 for result in answered)
    assert await auto_memories(remembering, admin) == {}
    failed = [e for e in logs if e["event"] == "auto_memory_failed"]
    assert failed and all(len(e["error_id"]) == 8 for e in failed)
    assert (await remembering.maintenance.check()).clean


async def test_a_stalled_summary_never_holds_a_reply_up(location: str, admin: Actor,
                                                        fake_llm: FakeLLMServer) -> None:
    fake_llm.route(is_summary, stall=True)  # until the server closes: far past every reply below
    async with opened(location, fake_llm, timeout=600) as engine:
        await story(engine, admin, guest=False)
        answered = await answer(engine, admin, 8)  # one reply slot, which the stalled summary must not hold
        assert all(len(result.replies) == 1 for result in answered)
        assert any(is_summary(body) for body in fake_llm.chat_requests)
        assert engine.memories.writing_for() == [answered[0].line.chat_id]
        await engine.memories.close()
        assert await auto_memories(engine, admin) == {}


def test_a_version_1_memory_reads_as_one_that_summarised_no_passage() -> None:
    stored = {"chat_id": "chat-1", "memory_id": "mem-1", "character_id": "char-1", "text": "She likes figs.",
              "importance": 5, "source": "person", "source_id": "user-1"}
    memory = load_payload("memory_written", 1, stored)
    assert isinstance(memory, MemoryWritten) and memory.text == "She likes figs."
    assert memory.from_seq is None and memory.through_seq is None
