"""The fakes' fault tools work against the real clients: failing and held Discord routes, redelivered gateway
events, and a model stream that waits for a gate or breaks with a malformed event."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import discord
import pytest

from engine.errors import NarratorUnavailable
from engine.llm.openai_compat import OpenAICompatibleModel
from engine.llm.port import ChatMessage
from tests.bot.test_fake_discord import ProbeBot
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord.faults import CHANNEL_HISTORY, WEBHOOK_MESSAGE
from tests.fakes.discord.fixtures import run_bot
from tests.fakes.llm_server import FakeLLMServer


@pytest.fixture
async def probe(fake_discord: FakeDiscord) -> AsyncIterator[ProbeBot]:
    """A minimal discord.py bot connected to the fake Discord."""
    bot = ProbeBot(fake_discord.world.guild.id)
    async with run_bot(fake_discord, bot):
        yield bot


async def test_a_failed_route_fails_as_often_as_asked_then_works(fake_discord: FakeDiscord, probe: ProbeBot) -> None:
    """A webhook message edit refused once with 400/50035 raises HTTPException; the next edit goes through;
    a dropped connection is a client error, not an HTTP answer."""
    channel = probe.get_channel(fake_discord.world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    hook = await channel.create_webhook(name="Chronicle")
    sent = await hook.send("first", wait=True)
    fault = fake_discord.fail_route("PATCH", WEBHOOK_MESSAGE, status=400, code=50035, message="Invalid Form Body")
    with pytest.raises(discord.HTTPException) as refused:
        await hook.edit_message(sent.id, content="second")
    assert (refused.value.status, refused.value.code, fault.hits) == (400, 50035, 1)
    await hook.edit_message(sent.id, content="third")
    assert fake_discord.messages[sent.id].content == "third"
    fake_discord.fail_route("PATCH", WEBHOOK_MESSAGE, status=0)
    with pytest.raises(aiohttp.ClientError):
        await hook.edit_message(sent.id, content="fourth")
    assert fake_discord.messages[sent.id].content == "third"


async def test_a_held_route_waits_for_release(fake_discord: FakeDiscord, probe: ProbeBot) -> None:
    """A history read waits while its route is held and sees what was posted before the release."""
    w = fake_discord.world
    channel = probe.get_channel(w.channel.id)
    assert isinstance(channel, discord.TextChannel)
    hold = fake_discord.hold_route("GET", CHANNEL_HISTORY)
    reading = asyncio.create_task(_contents(channel))
    await hold.wait_arrived()
    assert not reading.done()
    await fake_discord.user_says(w.channel, w.member, "posted while held")
    hold.release()
    assert await asyncio.wait_for(reading, 5) == ["posted while held"]


async def _contents(channel: discord.TextChannel) -> list[str]:
    return [m.content async for m in channel.history(limit=10)]


async def test_redelivered_events_arrive_again(fake_discord: FakeDiscord, probe: ProbeBot) -> None:
    """A redelivered MESSAGE_CREATE reaches the bot a second time with the same id."""
    w = fake_discord.world
    message = await fake_discord.user_says(w.channel, w.member, "hello")
    await fake_discord.wait_for(lambda: probe.seen)
    await fake_discord.redeliver_message(message)
    await fake_discord.wait_for(lambda: len(probe.seen) == 2)
    assert [m.id for m in probe.seen] == [message.id, message.id]


async def test_a_gated_stream_waits_and_a_malformed_one_breaks(fake_llm: FakeLLMServer) -> None:
    """The model stream holds after its first piece until the gate opens; a malformed event fails the client
    with NarratorUnavailable (after text was sent: not retried, so nothing is shown twice)."""
    model = OpenAICompatibleModel(fake_llm.base_url, "key", "fake-model", max_retries=0, timeout=5.0)
    try:
        gate = asyncio.Event()
        fake_llm.enqueue_gated("The first half. The second half.", gate)
        chunks = model.stream([ChatMessage("user", "hi")])
        first = await asyncio.wait_for(chunks.__anext__(), 5)
        pending = asyncio.ensure_future(chunks.__anext__())
        await asyncio.sleep(0.1)
        assert first.text and not pending.done()
        gate.set()
        rest = [(await pending).text] + [c.text async for c in chunks]
        assert first.text + "".join(rest) == "The first half. The second half."
        fake_llm.enqueue_malformed("Once upon a time there was", after=1)
        with pytest.raises(NarratorUnavailable, match="middle of a reply"):
            _ = [c async for c in model.stream([ChatMessage("user", "hi")])]
    finally:
        await model.aclose()
