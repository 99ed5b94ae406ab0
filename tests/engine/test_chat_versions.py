"""The engine's own chat versions: within one process, what it knows after its own commands is never stale.

A story command is decided against the chat stream's version the engine last saw; a conflict (then a decision
made again) is for writes from elsewhere. Each test runs on SQLite and on PostgreSQL (tests/conftest.py).
"""

from __future__ import annotations

from typing import Any

from structlog.testing import capture_logs

from engine import Actor, Engine
from engine.commands import (
    AddLoreEntry,
    AdjustRelationship,
    AttachLorebook,
    AuthorCharacter,
    CloseScene,
    CreatePlace,
    DetachLorebook,
    EditMessage,
    EndChat,
    ForgetMemory,
    OpenScene,
    RecordMeanwhileDigest,
    RecordReply,
    RetractMessage,
    ReviseReply,
    RewindChat,
    SayLine,
    SetWeather,
    SkipTime,
    StartChat,
    StartMeanwhile,
    WriteMemory,
)
from engine.demo import fill as demo_fill
from tests.conftest import story


def _redecided(logs: list[dict[str, Any]]) -> list[str]:
    return [e["command"] for e in logs if e.get("event") == "concurrency_conflict_redecide"]


async def _round(engine: Engine, admin: Actor, person: Actor, channel: str, n: int) -> None:
    """Every kind of story command once, in a story that ends and starts again in the same channel."""
    chat = await engine.reads.get_chat(channel)
    said = await engine.perform(SayLine(actor=person, channel_id=channel, message_id=f"{channel}-{n}-a", text=f"Hello {n}"))
    await engine.perform(RecordReply(actor=admin, channel_id=channel, character_id=chat.host_id, text=f"Reply {n}"))
    await engine.perform(EditMessage(actor=person, channel_id=channel, message_id=said.message_id, text=f"Hello again {n}"))
    await engine.perform(ReviseReply(actor=admin, channel_id=channel, text=f"A better reply {n}", mode="regenerate"))
    await engine.perform(CreatePlace(actor=admin, channel_id=channel, name=f"Cellar {n}"))
    await engine.perform(CloseScene(actor=admin, channel_id=channel, summary=f"They left the tavern ({n})."))
    await engine.perform(OpenScene(actor=admin, channel_id=channel, place=f"Cellar {n}"))
    await engine.perform(WriteMemory(actor=admin, channel_id=channel, text=f"Something to remember {n}"))
    memory = (await engine.reads.list_memories(chat.chat_id))[0]
    await engine.perform(ForgetMemory(actor=admin, channel_id=channel, id=memory.memory_id))
    scene = await engine.perform(StartMeanwhile(actor=admin, channel_id=channel, character="Bram", premise=f"Bram wanders off {n}"))
    await engine.perform(RecordMeanwhileDigest(actor=admin, channel_id=channel, meanwhile_id=scene.meanwhile_id, digest=f"Bram found a coin {n}."))
    await engine.perform(AdjustRelationship(actor=admin, channel_id=channel, character="Aria", target="Bram", affinity=3, trust=-2))
    await engine.perform(CloseScene(actor=admin, channel_id=channel, summary=f"The cellar scene {n} ended."))
    await engine.perform(SkipTime(actor=admin, channel_id=channel, by="2h"))
    await engine.perform(SetWeather(actor=admin, channel_id=channel, weather="fog" if n % 2 else "rain"))
    await engine.perform(AddLoreEntry(actor=admin, book="Valley", keys=(f"key{n}",), content=f"Lore {n}"))
    await engine.perform(AttachLorebook(actor=admin, channel_id=channel, book="Valley"))
    await engine.perform(DetachLorebook(actor=admin, channel_id=channel, book="Valley"))
    last = await engine.perform(SayLine(actor=person, channel_id=channel, message_id=f"{channel}-{n}-b", text=f"One more {n}"))
    await engine.perform(RetractMessage(actor=person, channel_id=channel, message_id=last.message_id))
    await engine.perform(SayLine(actor=person, channel_id=channel, message_id=f"{channel}-{n}-c", text=f"Last line {n}"))
    await engine.perform(RewindChat(actor=admin, channel_id=channel, messages=1))
    await engine.perform(EndChat(actor=admin, channel_id=channel))
    await engine.perform(StartChat(actor=admin, channel_id=channel, character="Aria", guest="Bram", place="Tavern"))


async def test_a_scripted_run_of_every_command_in_one_process_decides_nothing_twice(engine: Engine, admin: Actor):
    person = Actor(user_id="person-1", guild_id=admin.guild_id, display_name="Wren")
    await engine.perform(AuthorCharacter(actor=admin, name="Dalia", description="An innkeeper.", greeting="Welcome in, {{user}}."))
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
    assert (await engine.maintenance.check()).clean


async def test_a_story_started_here_after_the_last_one_ended_elsewhere_is_the_one_addressed(location: str,
                                                                                           admin: Actor):
    here, elsewhere = await Engine.open(location), await Engine.open(location)  # two processes on one database
    try:
        await story(here, admin)
        await here.perform(AuthorCharacter(actor=admin, name="Dalia", description="An innkeeper.", greeting="Welcome in, {{user}}."))
        await here.perform(SayLine(actor=admin, channel_id="chan-1", message_id="before", text="A line of the first story."))
        ended = await elsewhere.perform(EndChat(actor=admin, channel_id="chan-1"))
        with capture_logs() as logs:
            started = await here.perform(StartChat(actor=admin, channel_id="chan-1", character="Dalia"))  # its greeting is recorded in the new story
            said = await here.perform(SayLine(actor=admin, channel_id="chan-1", message_id="after", text="A line of the second story."))
        assert started.chat_id != ended.chat_id
        assert said.chat_id == started.chat_id
        lines = [m.text for m in await here.reads.transcript(started.chat_id)]
        assert lines == ["Welcome in, Wren.", "A line of the second story."]  # Wren: the persona
        assert _redecided(logs) == []
        assert (await here.maintenance.check()).clean
    finally:
        await elsewhere.close()
        await here.close()
