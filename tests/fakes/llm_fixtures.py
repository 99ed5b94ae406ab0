"""Pytest fixtures for the fake model server; import them into a conftest."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.llm_server import FakeLLMServer


@pytest.fixture
async def fake_llm() -> AsyncIterator[FakeLLMServer]:
    """A started FakeLLMServer on a free loopback port, closed after the test."""
    async with FakeLLMServer() as server:
        yield server
