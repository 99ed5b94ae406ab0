"""Counting tokens as the model does: the server's usage and tokenize endpoint teach the counter, an exact
tokenizer counts exactly, a prompt stays within the context by the model's own count, and the inspector says
which counter counted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import tiktoken

from engine import Actor, Engine
from engine.commands import AnswerLine, InspectPrompt, RecordReply, SayLine
from engine.llm.counting import tiktoken_counter
from engine.llm.openai_compat import OpenAICompatibleModel
from engine.llm.port import ChatMessage
from engine.narrator.prompt import Prompt
from tests.conftest import story
from tests.engine.test_narrator import RecordingSink
from tests.fakes.llm_server import FakeLLMServer

CONTEXT, REPLY = 2048, 120
LINE = ("Honestly the weekend was lovely, we walked down to the harbour and watched the boats come in while the "
        "kids ate far too much ice cream, and then it rained on the way home.")


async def _engine(db_path: Path, model: OpenAICompatibleModel) -> Engine:
    return await Engine.open(db_path, model=model, context_tokens=CONTEXT, reply_tokens=REPLY)


@pytest.fixture
async def model(fake_llm: FakeLLMServer) -> AsyncIterator[OpenAICompatibleModel]:
    """A client of the fake server, counting tokens by whatever it can learn."""
    client = OpenAICompatibleModel(fake_llm.base_url, "k", "fake-model", timeout=2.0, max_retries=0,
                                   max_tokens=REPLY)
    yield client
    await client.aclose()


async def _long_story(engine: Engine, admin: Actor, lines: int = 80) -> None:
    await story(engine, admin)
    host = (await engine.reads.get_chat("chan-1")).host_id
    for i in range(lines):
        if i % 2:
            await engine.perform(RecordReply(actor=admin, channel_id="chan-1", character_id=host, text=f"{i}. {LINE}"))
        else:
            await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id=f"l{i}", text=f"{i}. {LINE}"))


def _history_lines(prompt: Prompt) -> int:
    return len(prompt.messages) - 1


def _chars(prompt: Prompt) -> int:
    return sum(len(m.content) for m in prompt.messages)


def _fake_count(fake_llm: FakeLLMServer, prompt: Prompt) -> int:
    return fake_llm.prompt_tokens({"messages": [{"content": m.content} for m in prompt.messages]})


async def test_the_servers_usage_teaches_the_counter_and_more_lines_fit_within_the_context(
        db_path: Path, fake_llm: FakeLLMServer, model: OpenAICompatibleModel, admin: Actor):
    engine = await _engine(db_path, model)
    try:
        await _long_story(engine, admin)
        before = await engine.perform(InspectPrompt(actor=admin, channel_id="chan-1"))
        assert before.counter.startswith("estimate")
        await engine.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="q1", text=LINE),
                             sink=RecordingSink())
        assert fake_llm.requests[-1]["stream_options"] == {"include_usage": True}
        after = await engine.perform(InspectPrompt(actor=admin, channel_id="chan-1"))
        assert after.counter.startswith("usage.prompt_tokens: ") and "margin 8%" in after.counter
        assert _history_lines(after) > _history_lines(before)
        assert _chars(after) > 1.2 * _chars(before)  # the estimate over-counted this talk: a fifth more of it fits
        assert after.budget_tokens < CONTEXT - REPLY  # the margin
        assert _fake_count(fake_llm, after) <= CONTEXT - REPLY  # within the context, by the model's own count
    finally:
        await engine.close()


async def test_the_servers_tokenize_endpoint_counts_a_whole_prompt_in_one_request(
        db_path: Path, fake_llm: FakeLLMServer, model: OpenAICompatibleModel, admin: Actor):
    fake_llm.tokenizes, fake_llm.reports_usage = True, False
    engine = await _engine(db_path, model)
    try:
        await _long_story(engine, admin, lines=40)
        await engine.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="q1", text=LINE),
                             sink=RecordingSink())
        for _ in range(200):  # the measurement runs after the prompt was sent, off the reply's path
            if model.counter.kind == "measured":
                break
            await asyncio.sleep(0.01)
        assert len(fake_llm.tokenized) == 1
        sent = "\n".join(m["content"] for m in fake_llm.requests[-1]["messages"])
        assert fake_llm.tokenized[0]["content"] == sent
        prompt = await engine.perform(InspectPrompt(actor=admin, channel_id="chan-1"))
        assert prompt.counter.startswith("server /tokenize: ")
        assert _fake_count(fake_llm, prompt) <= CONTEXT - REPLY
    finally:
        await engine.close()


async def test_an_exact_tokenizer_counts_every_part_and_the_inspector_names_it(db_path: Path, fake_llm: FakeLLMServer,
                                                                                admin: Actor):
    by_byte = tiktoken.Encoding(name="bytes", pat_str=r"\w+|[^\w\s]+|\s+",
                                mergeable_ranks={bytes([b]): b for b in range(256)}, special_tokens={})
    model = OpenAICompatibleModel(fake_llm.base_url, "k", "fake-model", timeout=2.0, max_retries=0,
                                  counter=tiktoken_counter(by_byte))
    engine = await _engine(db_path, model)
    try:
        await _long_story(engine, admin, lines=6)
        prompt = await engine.perform(InspectPrompt(actor=admin, channel_id="chan-1"))
        assert prompt.counter == "tiktoken bytes (exact), margin 2%"
        history = [m.content for m in prompt.messages[1:]]
        assert dict(prompt.parts)[f"history ({len(history)} of 6 lines)"] == sum(len(h.encode()) + 6 for h in history)
        await engine.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="q1", text=LINE),
                             sink=RecordingSink())
        assert (await engine.perform(InspectPrompt(actor=admin, channel_id="chan-1"))).counter == prompt.counter
    finally:
        await engine.close()
        await model.aclose()


async def test_a_server_that_refuses_stream_options_is_asked_again_without_them(fake_llm: FakeLLMServer,
                                                                               model: OpenAICompatibleModel):
    fake_llm.enqueue_error(400, "Unrecognized request argument supplied: stream_options")
    messages = [ChatMessage("user", "Hello?")]
    first = "".join([chunk.text async for chunk in model.stream(messages)])
    second = "".join([chunk.text async for chunk in model.stream(messages)])
    assert first and second  # with max_retries=0: taking the option out is not a retry
    assert ["stream_options" in body for body in fake_llm.requests] == [True, False, False]
