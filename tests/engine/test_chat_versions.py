"""The engine's own chat versions: within one process, what it knows after its own commands is never stale.

A story command is decided against the chat stream's version the engine last saw; a conflict (then a decision
made again) is for writes from elsewhere. Each test runs on SQLite and on PostgreSQL (tests/conftest.py).
"""

from __future__ import annotations

from typing import Any

from structlog.testing import capture_logs

from engine import Actor, Engine
from engine.demo import fill as demo_fill
from tests.conftest import story


def _redecided(logs: list[dict[str, Any]]) -> list[str]:
    return [e["command"] for e in logs if e.get("event") == "concurrency_conflict_redecide"]


async def _round(engine: Engine, admin: Actor, person: Actor, channel: str, n: int) -> None:
    """Every kind of story command once, in a story that ends and starts again in the same channel."""
    chat = await engine.get_chat(channel)
    said = await engine.record_message(person, channel, f"{channel}-{n}-a", f"Hello {n}")
    await engine.record_reply(admin, channel, chat.host_id, f"Reply {n}")
    await engine.edit_message(person, channel, said.message_id, f"Hello again {n}")
    await engine.revise_reply(admin, channel, f"A better reply {n}", mode="regenerate")
    await engine.create_place(admin, channel, f"Cellar {n}")
    await engine.close_scene(admin, channel, f"They left the tavern ({n}).")
    await engine.open_scene(admin, channel, f"Cellar {n}")
    await engine.write_memory(admin, channel, f"Something to remember {n}")
    memory = (await engine.list_memories(chat.chat_id))[0]
    await engine.forget_memory(admin, channel, memory.memory_id)
    scene = await engine.start_meanwhile(admin, channel, ["Bram"], f"Bram wanders off {n}")
    await engine.record_meanwhile_digest(admin, channel, scene.meanwhile_id, f"Bram found a coin {n}.")
    await engine.adjust_relationship(admin, channel, "Aria", "Bram", affinity=3, trust=-2)
    await engine.close_scene(admin, channel, f"The cellar scene {n} ended.")
    await engine.skip_time(admin, channel, "2h")
    await engine.set_weather(admin, channel, "fog" if n % 2 else "rain")
    await engine.write_lore_entry(admin, "Valley", keys=(f"key{n}",), content=f"Lore {n}")
    await engine.attach_lorebook(admin, channel, "Valley")
    await engine.detach_lorebook(admin, channel, "Valley")
    last = await engine.record_message(person, channel, f"{channel}-{n}-b", f"One more {n}")
    await engine.retract_message(person, channel, last.message_id)
    await engine.record_message(person, channel, f"{channel}-{n}-c", f"Last line {n}")
    await engine.rewind(admin, channel, messages=1)
    await engine.end_chat(admin, channel)
    await engine.start_chat(admin, channel, "Aria", guest="Bram", place="Tavern")


async def test_a_scripted_run_of_every_command_in_one_process_decides_nothing_twice(engine: Engine, admin: Actor):
    person = Actor(user_id="person-1", guild_id=admin.guild_id, display_name="Wren")
    await engine.author_character(admin, "Dalia", "An innkeeper.", greeting="Welcome in, {{user}}.")
    with capture_logs() as logs:
        for channel in ("chan-1", "chan-2"):
            await story(engine, admin, channel)
        for n in range(4):
            for channel in ("chan-1", "chan-2"):
                await _round(engine, admin, person, channel, n)
        await demo_fill(engine, chats=3, messages=40, seed=5)
    appended = [e for e in logs if e.get("event") == "event_appended"]
    assert len(appended) > 400  # the script ran whole (a refused command would have raised)
    assert _redecided(logs) == []
    assert (await engine.check()).clean


async def test_a_story_started_here_after_the_last_one_ended_elsewhere_is_the_one_addressed(location: str,
                                                                                           admin: Actor):
    here, elsewhere = await Engine.open(location), await Engine.open(location)  # two processes on one database
    try:
        await story(here, admin)
        await here.author_character(admin, "Dalia", "An innkeeper.", greeting="Welcome in, {{user}}.")
        await here.record_message(admin, "chan-1", "before", "A line of the first story.")
        ended = await elsewhere.end_chat(admin, "chan-1")
        with capture_logs() as logs:
            started = await here.start_chat(admin, "chan-1", "Dalia")  # its greeting is recorded in the new story
            said = await here.record_message(admin, "chan-1", "after", "A line of the second story.")
        assert started.chat_id != ended.chat_id
        assert said.chat_id == started.chat_id
        lines = [m.text for m in await here.transcript(started.chat_id)]
        assert lines == ["Welcome in, Wren.", "A line of the second story."]  # Wren: the persona
        assert _redecided(logs) == []
        assert (await here.check()).clean
    finally:
        await elsewhere.close()
        await here.close()
