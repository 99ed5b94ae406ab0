"""Fixtures for bot tests: the loopback fake Discord, the fake model, and Chronicle's real bot on both."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.discord.client import ChronicleBot
from engine import Engine
from engine.llm.openai_compat import OpenAICompatibleModel
from tests.fakes.discord import FakeChannel, FakeDiscord, FakeMember, FakeMessage, InteractionRecord
from tests.fakes.discord.fixtures import fake_discord, fake_discord_world, run_bot
from tests.fakes.llm_server import FakeLLMServer

__all__ = ["fake_discord", "fake_discord_world", "Chronicle", "chronicle", "button_id"]


@dataclass
class Chronicle:
    """Chronicle's bot running in-process against FakeDiscord and the fake model, with test helpers."""

    fd: FakeDiscord
    llm: FakeLLMServer
    bot: ChronicleBot
    engine: Engine
    db_path: Path

    @property
    def channel(self) -> FakeChannel:
        """The default world's channel."""
        return self.fd.world.channel

    async def command(self, member: FakeMember, path: str, options: dict[str, Any] | None = None, *,
                      channel: FakeChannel | None = None, bypass: bool = False,
                      timeout: float = 10.0) -> InteractionRecord:
        """Run a slash command and wait until it is answered (a defer filled in, and queued work done)."""
        record = await self.fd.invoke_command(channel or self.channel, member, path, options,
                                              bypass_permissions=bypass)
        await record.wait_done(timeout)
        await self.settle()
        return record

    async def settle(self, rounds: int = 3) -> None:
        """Let gateway events reach the bot and its channel queues drain."""
        quiet = 0
        while quiet < rounds:
            await asyncio.sleep(0.02)
            if self.bot.working:
                quiet = 0
                await self.bot.join_work()
            else:
                quiet += 1

    def hook_messages(self, channel: FakeChannel | None = None) -> list[FakeMessage]:
        """Messages posted through webhooks (character replies) in a channel."""
        return [m for m in self.fd.messages_in(channel or self.channel)
                if m.webhook_id is not None and m.webhook_id != self.fd.application_id]

    async def say(self, member: FakeMember, text: str, *, channel: FakeChannel | None = None,
                  replies: int = 1, timeout: float = 10.0) -> FakeMessage:
        """A person posts a line; wait for `replies` new character messages and for the bot to settle."""
        target = channel or self.channel
        before = len(self.hook_messages(target))
        sent = await self.fd.user_says(target, member, text)
        if replies:
            await self.fd.wait_for(lambda: len(self.hook_messages(target)) >= before + replies, timeout)
        await self.settle()
        return sent

    async def start_story(self, *, guest: bool = False) -> None:
        """Ada authors Aria (and Bram), sets a persona and starts a chat in #general."""
        w = self.fd.world
        await self.command(w.admin, "character create", {"name": "Aria", "description": "A wandering bard.",
                                                         "avatar_url": "https://example.invalid/aria.png"})
        if guest:
            await self.command(w.admin, "character create", {"name": "Bram", "description": "A quiet smith."})
        await self.command(w.admin, "persona set", {"name": "Wren", "description": "A traveller."})
        options = {"character": "Aria", **({"guest": "Bram"} if guest else {})}
        record = await self.command(w.admin, "chat start", options)
        assert any("story begins" in t for t in record.texts), record.texts


def button_id(message: FakeMessage, mode: str) -> str:
    """The custom id of a reply button ("regenerate" or "continue") on a posted message."""
    ids = [c.get("custom_id", "") for row in message.components for c in row.get("components", [row])]
    return next(i for i in ids if i.startswith(f"chronicle:reply:{mode}"))


@contextlib.asynccontextmanager
async def start_chronicle(fd: FakeDiscord, llm: FakeLLMServer, db_path: Path, *,
                          settle: bool = True, **engine_options: Any) -> AsyncIterator[Chronicle]:
    """Open the engine on `db_path` with the fake model (and `engine_options`) and run the real bot against `fd`
    (with `settle`, wait until its start-up work, the backfill included, is done)."""
    model = OpenAICompatibleModel(llm.base_url, "test-key", "fake-model", max_retries=0, timeout=5.0)
    engine = await Engine.open(db_path, model=model, **engine_options)
    bot = ChronicleBot(engine, sync_guild_ids=[fd.world.guild.id], stream_interval=0.05, guild_ready_timeout=0.05)
    try:
        async with run_bot(fd, bot, timeout=10.0):
            harness = Chronicle(fd, llm, bot, engine, db_path)
            if settle:
                await harness.settle()
            yield harness
    finally:
        await engine.close()
        await model.aclose()


@pytest.fixture
async def chronicle(fake_discord: FakeDiscord, fake_llm: FakeLLMServer, tmp_path: Path) -> AsyncIterator[Chronicle]:
    """Chronicle's real bot, in-process, on a fresh database."""
    async with start_chronicle(fake_discord, fake_llm, tmp_path / "chronicle.db") as harness:
        yield harness
