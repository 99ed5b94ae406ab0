"""Opening the configured language model: a given OpenAI-compatible server, else the bundled demo model."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import structlog

from engine.llm.bundled import DEMO_NOTICE, BundledModelMissing, BundledModelServer, find_bundled_model
from engine.llm.counting import vocabulary_counter
from engine.llm.openai_compat import DEFAULT_REPLY_DEADLINE, OpenAICompatibleModel
from engine.llm.port import LanguageModel
from engine.narrator.tokens import TokenCounter

log = structlog.get_logger(__name__)


@asynccontextmanager
async def open_model(*, base_url: str | None, api_key: str, model: str, temperature: float, max_tokens: int,
                     timeout: float, max_retries: int, context_tokens: int,
                     reply_deadline: float | None = DEFAULT_REPLY_DEADLINE,
                     notice: Callable[[str], None] = print) -> AsyncIterator[LanguageModel]:
    """Yield a LanguageModel; with no base_url, start (and finally stop) the bundled demo model's server.
    `reply_deadline` (seconds) bounds a whole reply, retries and waits included."""
    server: BundledModelServer | None = None
    counter: TokenCounter | None = None
    if base_url is None:
        if find_bundled_model() is None:
            raise BundledModelMissing()
        notice("Starting the bundled demo model…")
        server = BundledModelServer(context_tokens=context_tokens)
        await server.start()
        notice(DEMO_NOTICE)
        base_url, model = server.base_url, server.model_name
        counter = await _bundled_counter(server)
    client = OpenAICompatibleModel(base_url, api_key, model, temperature=temperature, max_tokens=max_tokens,
                                   timeout=timeout, max_retries=max_retries, reply_deadline=reply_deadline,
                                   counter=counter)
    log.info("language_model_ready", base_url=client.shown_url, model=model, bundled=server is not None)
    try:
        yield client
    finally:
        await client.aclose()
        if server is not None:
            await server.stop()


async def _bundled_counter(server: BundledModelServer) -> TokenCounter | None:
    """An exact counter over the bundled model's own vocabulary (None, and counts measured instead, if it fails)."""
    try:
        return await asyncio.to_thread(vocabulary_counter, str(server.model_path), server.model_name)
    except Exception as exc:  # noqa: BLE001 — the server still counts through its tokenize endpoint
        log.warning("bundled_tokenizer_unavailable", error=repr(exc))
        return None
