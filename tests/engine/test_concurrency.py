"""Many writers at once: nothing lost, each chat in arrival order, the world consistent."""

from __future__ import annotations

import asyncio

from engine import Actor, Engine
from tests.conftest import story


async def test_fifty_tasks_writing_to_ten_chats(engine: Engine, admin: Actor):
    channels = [f"chan-{i}" for i in range(10)]
    chat_ids = {channel: await story(engine, admin, channel) for channel in channels}

    async def writer(task: int) -> None:
        channel = channels[task % 10]
        person = Actor(user_id=f"user-{task}", guild_id=admin.guild_id, display_name=f"P{task}")
        for n in range(8):
            await engine.record_message(person, channel, f"t{task}-n{n}", f"task {task} line {n}")

    await asyncio.gather(*(writer(task) for task in range(50)))

    for channel, chat_id in chat_ids.items():
        lines = [m.text for m in await engine.transcript(chat_id, limit=1000)]
        assert len(lines) == 5 * 8
        for task in range(int(channel.split("-")[1]), 50, 10):
            mine = [line for line in lines if line.startswith(f"task {task} ")]
            assert mine == [f"task {task} line {n}" for n in range(8)]
    assert (await engine.check()).clean


async def test_calls_for_one_chat_are_applied_in_arrival_order(engine: Engine, admin: Actor):
    chat_id = await story(engine, admin)
    calls = [engine.record_message(admin, "chan-1", f"m{i}", f"line {i}") for i in range(200)]
    await asyncio.gather(*calls)
    seqs = [m.seq for m in await engine.transcript(chat_id, limit=1000)]
    texts = [m.text for m in await engine.transcript(chat_id, limit=1000)]
    assert texts == [f"line {i}" for i in range(200)]
    assert seqs == sorted(seqs)
