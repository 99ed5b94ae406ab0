"""OpenAICompatibleModel against the loopback fake model server."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Sequence

import pytest
from structlog.testing import capture_logs

from engine.errors import NarratorUnavailable
from engine.llm.openai_compat import OpenAICompatibleModel
from engine.llm.port import ChatMessage, LanguageModel, TextChunk
from tests.fakes.llm_server import FakeLLMServer, split_text

SECRET = "sk-test-secret-do-not-log"
MESSAGES = [
    ChatMessage("system", "You are Mira, a tavern keeper."),
    ChatMessage("user", "Hello, who runs this place?"),
]


def make_model(base_url: str, **overrides: float) -> OpenAICompatibleModel:
    """A client with test-sized timeouts and backoff."""
    options = {"temperature": 0.5, "max_tokens": 64, "timeout": 2.0, "max_retries": 2, "backoff": 0.01}
    options.update(overrides)
    return OpenAICompatibleModel(base_url, SECRET, "fake-model", **options)  # type: ignore[arg-type]


async def collect(model: OpenAICompatibleModel, stop: Sequence[str] = (), **kwargs: int) -> list[TextChunk]:
    """Every chunk of one streamed reply."""
    chunks = []
    async for chunk in model.stream(MESSAGES, stop=stop, **kwargs):
        chunks.append(chunk)
    return chunks


def text_of(chunks: list[TextChunk]) -> str:
    """The concatenated text of ``chunks``."""
    return "".join(chunk.text for chunk in chunks)


def closed_port() -> int:
    """A loopback port that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def model(fake_llm: FakeLLMServer) -> AsyncIterator[OpenAICompatibleModel]:
    """A client pointed at the fake server."""
    client = make_model(fake_llm.base_url)
    yield client
    await client.aclose()


def test_satisfies_the_port(model: OpenAICompatibleModel) -> None:
    assert isinstance(model, LanguageModel)


async def test_chunks_arrive_in_order_and_concatenate(fake_llm: FakeLLMServer, model: OpenAICompatibleModel) -> None:
    fake_llm.enqueue_text("Hello there, traveller. Sit by the fire.", chunks=4)

    chunks = await collect(model)

    assert [c.text for c in chunks[:-1]] == split_text("Hello there, traveller. Sit by the fire.", 4)
    assert text_of(chunks) == "Hello there, traveller. Sit by the fire."
    assert chunks[-1].finish_reason == "stop"
    assert all(c.finish_reason is None for c in chunks[:-1])
    assert all(c.text for c in chunks[:-1]), "empty deltas are skipped"


async def test_default_reply_is_built_from_the_request(model: OpenAICompatibleModel) -> None:
    chunks = await collect(model)

    assert text_of(chunks) == "Reply 1 to Hello, who runs this place?."
    assert len(chunks) > 2


async def test_request_carries_model_messages_and_options(
    fake_llm: FakeLLMServer, model: OpenAICompatibleModel
) -> None:
    stops = ["\nUser:", "\nMira:", "<|im_end|>", "###", "\n\n\n", "THE END"]

    await collect(model, stop=stops)
    await collect(model, max_tokens=12)

    first, second = fake_llm.chat_requests
    assert first["model"] == "fake-model"
    assert first["messages"] == [{"role": m.role, "content": m.content} for m in MESSAGES]
    assert first["temperature"] == 0.5
    assert first["max_tokens"] == 64
    assert first["stream"] is True
    assert first["stop"] == stops[:4]
    assert second["max_tokens"] == 12
    assert "stop" not in second


async def test_stop_string_cuts_the_text(fake_llm: FakeLLMServer, model: OpenAICompatibleModel) -> None:
    fake_llm.enqueue_text("I pour you an ale.\nUser: thanks\nMira: welcome", chunks=1)

    chunks = await collect(model, stop=["\nUser:"])

    assert text_of(chunks) == "I pour you an ale."
    assert chunks[-1].finish_reason == "stop"


@pytest.mark.parametrize("pieces", [2, 3, 5, 8, 13, 21, 60])
async def test_stop_string_split_across_chunks_still_cuts(
    fake_llm: FakeLLMServer, model: OpenAICompatibleModel, pieces: int
) -> None:
    text = "The door creaks open.<|user|>I walk in and order."
    fake_llm.enqueue_text(text, chunks=pieces)

    chunks = await collect(model, stop=["<|user|>"])

    assert text_of(chunks) == "The door creaks open."
    assert chunks[-1].finish_reason == "stop"


async def test_stop_strings_beyond_the_server_limit_are_enforced(
    fake_llm: FakeLLMServer, model: OpenAICompatibleModel
) -> None:
    fake_llm.enqueue_text("One. Two. Three. FIFTH then more", chunks=6)

    chunks = await collect(model, stop=["AAA", "BBB", "CCC", "DDD", "FIFTH"])

    assert text_of(chunks) == "One. Two. Three. "
    assert fake_llm.chat_requests[0]["stop"] == ["AAA", "BBB", "CCC", "DDD"]


async def test_length_finish_reason_passes_through(fake_llm: FakeLLMServer, model: OpenAICompatibleModel) -> None:
    fake_llm.enqueue_text("A long answer that was cut", chunks=3, finish_reason="length")

    chunks = await collect(model)

    assert chunks[-1].finish_reason == "length"
    assert text_of(chunks) == "A long answer that was cut"


async def test_rate_limit_is_retried(fake_llm: FakeLLMServer, model: OpenAICompatibleModel) -> None:
    fake_llm.enqueue_error(429, "slow down")
    fake_llm.enqueue_text("Welcome back.", chunks=2)

    with capture_logs() as logs:
        chunks = await collect(model)

    assert text_of(chunks) == "Welcome back."
    assert len(fake_llm.chat_requests) == 2
    retries = [entry for entry in logs if entry["event"] == "llm_retry"]
    assert len(retries) == 1 and "429" in retries[0]["reason"]
    assert SECRET not in repr(logs)


async def test_server_error_on_every_try_gives_up(fake_llm: FakeLLMServer, model: OpenAICompatibleModel) -> None:
    for _ in range(3):
        fake_llm.enqueue_error(500, "model crashed")

    with pytest.raises(NarratorUnavailable) as caught:
        await collect(model)

    assert caught.value.attempts == 3  # max_retries + 1
    assert len(fake_llm.chat_requests) == 3
    assert "returned 500" in caught.value.reason
    assert fake_llm.base_url in caught.value.reason


async def test_slow_server_times_out(fake_llm: FakeLLMServer) -> None:
    model = make_model(fake_llm.base_url, timeout=0.2, max_retries=1)
    fake_llm.enqueue_delay(2.0)
    fake_llm.enqueue_delay(2.0)

    with pytest.raises(NarratorUnavailable) as caught:
        await collect(model)
    await model.aclose()

    assert caught.value.attempts == 2
    assert "timed out" in caught.value.reason


async def test_slow_first_try_then_success(fake_llm: FakeLLMServer) -> None:
    model = make_model(fake_llm.base_url, timeout=0.2, max_retries=1)
    fake_llm.enqueue_delay(2.0)

    chunks = await collect(model)
    await model.aclose()

    assert text_of(chunks) == "Reply 2 to Hello, who runs this place?."


async def test_unauthorized_is_not_retried(fake_llm: FakeLLMServer, model: OpenAICompatibleModel) -> None:
    fake_llm.enqueue_error(401, "Invalid API key provided")

    with pytest.raises(NarratorUnavailable) as caught:
        await collect(model)

    assert caught.value.attempts == 1
    assert len(fake_llm.chat_requests) == 1
    assert "401" in caught.value.reason and "Invalid API key provided" in caught.value.reason
    assert SECRET not in str(caught.value)


async def test_unknown_model_names_the_server_message(fake_llm: FakeLLMServer, model: OpenAICompatibleModel) -> None:
    fake_llm.enqueue_error(404, "model 'fake-model' not found, try pulling it first")

    with pytest.raises(NarratorUnavailable) as caught:
        await collect(model)

    assert caught.value.attempts == 1
    assert "404" in caught.value.reason and "not found" in caught.value.reason


async def test_connection_refused_gives_up() -> None:
    base_url = f"http://127.0.0.1:{closed_port()}/v1"
    model = make_model(base_url, max_retries=1)

    with pytest.raises(NarratorUnavailable) as caught:
        await collect(model)
    await model.aclose()

    assert caught.value.attempts == 2
    assert caught.value.reason == f"could not connect to the model server at {base_url}"


async def test_dropped_before_any_text_is_retried(fake_llm: FakeLLMServer, model: OpenAICompatibleModel) -> None:
    fake_llm.enqueue_text("never sent", chunks=3, break_after=0)
    fake_llm.enqueue_text("Second try works.", chunks=3)

    chunks = await collect(model)

    assert text_of(chunks) == "Second try works."
    assert len(fake_llm.chat_requests) == 2


async def test_dropped_after_text_fails_without_duplicating(
    fake_llm: FakeLLMServer, model: OpenAICompatibleModel
) -> None:
    fake_llm.enqueue_text("The bard begins a long song about dragons.", chunks=6, break_after=3)
    received: list[str] = []

    with pytest.raises(NarratorUnavailable) as caught:
        async for chunk in model.stream(MESSAGES):
            received.append(chunk.text)

    assert received and "The bard begins a long song about dragons.".startswith("".join(received))
    assert len(fake_llm.chat_requests) == 1
    assert "middle of a reply" in caught.value.reason


async def test_caller_may_stop_reading_early(fake_llm: FakeLLMServer, model: OpenAICompatibleModel) -> None:
    fake_llm.enqueue_text("First part. Second part. Third part.", chunks=3)

    stream = model.stream(MESSAGES)
    first = await anext(stream)
    await stream.aclose()
    chunks = await collect(model)

    assert first.text == "First part. "
    assert text_of(chunks).startswith("Reply 2 to")


async def test_a_malformed_chunk_before_any_text_is_retried(fake_llm: FakeLLMServer,
                                                             model: OpenAICompatibleModel) -> None:
    fake_llm.enqueue_malformed("Never shown.", after=0)
    fake_llm.enqueue_text("The second try reads fine.", chunks=2)

    with capture_logs() as logs:
        chunks = await collect(model)

    assert text_of(chunks) == "The second try reads fine."
    retries = [entry for entry in logs if entry["event"] == "llm_retry"]
    assert len(retries) == 1 and "malformed" in retries[0]["reason"]


async def test_malformed_chunks_on_every_try_give_the_friendly_error(fake_llm: FakeLLMServer,
                                                                     model: OpenAICompatibleModel) -> None:
    for _ in range(3):
        fake_llm.enqueue_malformed("Never shown.", after=0)

    with pytest.raises(NarratorUnavailable) as caught:
        await collect(model)

    assert caught.value.attempts == 3 and "malformed" in caught.value.reason


async def test_a_malformed_chunk_after_text_fails_without_duplicating(fake_llm: FakeLLMServer,
                                                                      model: OpenAICompatibleModel) -> None:
    fake_llm.enqueue_malformed("Half of a reply and then garbage.", chunks=4, after=2)
    received: list[str] = []

    with pytest.raises(NarratorUnavailable) as caught:
        async for chunk in model.stream(MESSAGES):
            received.append(chunk.text)

    assert len(fake_llm.chat_requests) == 1 and "middle of a reply" in caught.value.reason
