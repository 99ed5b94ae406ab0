"""Fixtures the engine's tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine import Engine
from engine.llm.openai_compat import OpenAICompatibleModel
from tests.fakes.llm_server import FakeLLMServer


@pytest.fixture
async def narrated(db_path: Path, fake_llm: FakeLLMServer) -> AsyncIterator[Engine]:
    """The engine on a SQLite file, talking to the fake model server through the real OpenAI SDK (2,048 tokens of
    context, 120 a reply)."""
    model = OpenAICompatibleModel(fake_llm.base_url, "test-key", "fake-model", timeout=1.0, max_retries=2,
                                  backoff=0.01, max_tokens=120)
    engine = await Engine.open(db_path, model=model, context_tokens=2048, reply_tokens=120)
    try:
        yield engine
    finally:
        await engine.close()
        await model.aclose()
