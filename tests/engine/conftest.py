"""Fixtures the engine's tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from engine import Engine
from engine.llm.openai_compat import OpenAICompatibleModel
from tests.fakes.llm_server import FakeLLMServer


@asynccontextmanager
async def talking_engine(location: str | Path, fake_llm: FakeLLMServer, *, context_tokens: int, max_tokens: int,
                         timeout: float = 2.0, max_retries: int = 1, **options: Any) -> AsyncIterator[Engine]:
    """An engine on `location` talking to the fake model server through the real OpenAI SDK (`options` go to
    Engine.open); the engine and the model client are closed after."""
    model = OpenAICompatibleModel(fake_llm.base_url, "test-key", "fake-model", timeout=timeout,
                                  max_retries=max_retries, backoff=0.01, max_tokens=max_tokens)
    engine = await Engine.open(location, model=model, context_tokens=context_tokens, reply_tokens=max_tokens,
                               **options)
    try:
        yield engine
    finally:
        await engine.close()
        await model.aclose()


@pytest.fixture
async def narrated(db_path: Path, fake_llm: FakeLLMServer) -> AsyncIterator[Engine]:
    """The engine on a SQLite file, talking to the fake model server through the real OpenAI SDK (2,048 tokens of
    context, 120 a reply)."""
    async with talking_engine(db_path, fake_llm, context_tokens=2048, max_tokens=120, timeout=1.0,
                              max_retries=2) as engine:
        yield engine
