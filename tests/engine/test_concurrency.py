"""Many writers at once: nothing lost, each chat in arrival order, the world consistent."""

from __future__ import annotations

import asyncio

from engine import Actor, Engine
from engine.commands import SayLine, SetPersona
from tests.conftest import story


async def test_fifty_tasks_writing_to_ten_chats(engine: Engine, admin: Actor):
    channels = [f"chan-{i}" for i in range(10)]
    chat_ids = {channel: await story(engine, admin, channel) for channel in channels}

    async def writer(task: int) -> None:
        channel = channels[task % 10]
        person = Actor(user_id=f"user-{task}", guild_id=admin.guild_id, display_name=f"P{task}")
        for n in range(8):
            await engine.perform(SayLine(actor=person, channel_id=channel, message_id=f"t{task}-n{n}", text=f"task {task} line {n}"))

    await asyncio.gather(*(writer(task) for task in range(50)))

    for channel, chat_id in chat_ids.items():
        lines = [m.text for m in await engine.reads.transcript(chat_id, limit=1000)]
        assert len(lines) == 5 * 8
        for task in range(int(channel.split("-")[1]), 50, 10):
            mine = [line for line in lines if line.startswith(f"task {task} ")]
            assert mine == [f"task {task} line {n}" for n in range(8)]
    assert (await engine.maintenance.check()).clean


async def test_calls_for_one_chat_are_applied_in_arrival_order(engine: Engine, admin: Actor):
    chat_id = await story(engine, admin)
    calls = [engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id=f"m{i}", text=f"line {i}")) for i in range(200)]
    await asyncio.gather(*calls)
    seqs = [m.seq for m in await engine.reads.transcript(chat_id, limit=1000)]
    texts = [m.text for m in await engine.reads.transcript(chat_id, limit=1000)]
    assert texts == [f"line {i}" for i in range(200)]
    assert seqs == sorted(seqs)


async def test_two_processes_changing_one_persons_global_persona_from_different_guilds_all_land(location: str):
    """Work that crosses guilds (a person's user stream) from two engines on one database: nothing is refused,
    every change lands once, in one order both agree on (the stream's version is read inside the write
    transaction, which holds the log's lock from its first statement)."""
    first, second = await Engine.open(location), await Engine.open(location)
    try:
        async def change(engine: Engine, guild: str, n: int) -> None:
            person = Actor(user_id="traveller", guild_id=guild, display_name="T")
            await engine.perform(SetPersona(actor=person, name=f"{guild} {n}", everywhere=True))

        await asyncio.gather(*(change(first, "north", n) for n in range(25)),
                             *(change(second, "south", n) for n in range(25)))
        events = [e for e in await first.reads.recent_events(limit=100) if e.stream == "user:traveller"]
        assert len(events) == 50
        final = await second.reads.find_persona("traveller", None)
        assert final is not None and final.name == events[-1].payload["name"]
        assert (await first.maintenance.check()).clean
    finally:
        await first.close()
        await second.close()
