"""Opening the configured language model: a given OpenAI-compatible server, else the bundled demo model."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import structlog

from engine.llm.bundled import DEMO_NOTICE, BundledModelMissing, BundledModelServer, find_bundled_model
from engine.llm.openai_compat import DEFAULT_REPLY_DEADLINE, OpenAICompatibleModel
from engine.llm.port import LanguageModel

log = structlog.get_logger(__name__)


@asynccontextmanager
async def open_model(*, base_url: str | None, api_key: str, model: str, temperature: float, max_tokens: int,
                     timeout: float, max_retries: int, context_tokens: int,
                     reply_deadline: float | None = DEFAULT_REPLY_DEADLINE,
                     notice: Callable[[str], None] = print) -> AsyncIterator[LanguageModel]:
    """Yield a LanguageModel; with no base_url, start (and finally stop) the bundled demo model's server.
    `reply_deadline` (seconds) bounds a whole reply, retries and waits included."""
    server: BundledModelServer | None = None
    if base_url is None:
        if find_bundled_model() is None:
            raise BundledModelMissing()
        notice("Starting the bundled demo model…")
        server = BundledModelServer(context_tokens=context_tokens)
        await server.start()
        notice(DEMO_NOTICE)
        base_url, model = server.base_url, server.model_name
    client = OpenAICompatibleModel(base_url, api_key, model, temperature=temperature, max_tokens=max_tokens,
                                   timeout=timeout, max_retries=max_retries, reply_deadline=reply_deadline)
    log.info("language_model_ready", base_url=client.shown_url, model=model, bundled=server is not None)
    try:
        yield client
    finally:
        await client.aclose()
        if server is not None:
            await server.stop()
