"""Pytest fixtures and helpers for tests that run a real discord.py bot against FakeDiscord."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import discord
import pytest

from .server import FakeDiscord
from .world import FakeDiscordWorld

FAKE_TOKEN = "fake-bot-token"


@contextlib.asynccontextmanager
async def run_bot(fd: FakeDiscord, bot: discord.Client, *, token: str = FAKE_TOKEN,
                  timeout: float = 5.0) -> AsyncIterator[discord.Client]:
    """Start `bot` against `fd` (already patched in), wait for on_ready, and close it on exit."""
    task = asyncio.create_task(bot.start(token), name="fake-discord-bot")
    ready = asyncio.create_task(bot.wait_until_ready())
    done, _ = await asyncio.wait({task, ready}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    if ready not in done:
        ready.cancel()
        if task in done:
            task.result()  # re-raise the bot's start-up error
        task.cancel()
        raise TimeoutError("bot did not become ready against the fake Discord")
    try:
        yield bot
    finally:
        await bot.close()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, timeout=2)


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    """A started FakeDiscord with the default world (`fake_discord.world`), with discord.py pointed at it."""
    async with FakeDiscord() as fd:
        fd.add_default_world()
        with fd.patch_discord():
            yield fd


@pytest.fixture
def fake_discord_world(fake_discord: FakeDiscord) -> FakeDiscordWorld:
    """The default world of `fake_discord`."""
    return fake_discord.world
