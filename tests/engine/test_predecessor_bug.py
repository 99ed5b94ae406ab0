"""The seed's bug: once rows exist for every non-idempotent handler, every action must still succeed."""

from __future__ import annotations

from engine import Actor, Engine
from engine.commands import (
    AdjustRelationship,
    AuthorCharacter,
    CloseScene,
    CreatePlace,
    EditCharacter,
    EditMessage,
    EndChat,
    OpenScene,
    RecordMeanwhileDigest,
    RecordReply,
    Reproject,
    RetractMessage,
    ReviseReply,
    RewindChat,
    SayLine,
    SetPersona,
    SetWeather,
    SkipTime,
    StartChat,
    StartMeanwhile,
    WriteMemory,
)
from tests.conftest import count_events, dump_world, story


async def _rich_world(engine: Engine, admin: Actor) -> str:
    chat_id = await story(engine, admin)
    await engine.perform(CreatePlace(actor=admin, channel_id="chan-1", name="Cellar", description="Damp and dark.", parent="Tavern"))
    await engine.perform(WriteMemory(actor=admin, channel_id="chan-1", text="Wren owes Aria a song.", importance=7))
    await engine.perform(CloseScene(actor=admin, channel_id="chan-1", summary="They met at the tavern."))
    await engine.perform(OpenScene(actor=admin, channel_id="chan-1", place="Cellar"))
    mw = await engine.perform(StartMeanwhile(actor=admin, channel_id="chan-1", character="Bram", premise="Bram forges a blade.", place="Forge"))
    await engine.perform(RecordMeanwhileDigest(actor=admin, channel_id="chan-1", meanwhile_id=mw.meanwhile_id, digest="Bram forged a moon-silver blade."))
    await engine.perform(AdjustRelationship(actor=admin, channel_id="chan-1", character="Aria", target="Bram", affinity=10, trust=5, note="old friends"))
    return chat_id


async def test_every_action_succeeds_after_every_kind_of_row_exists(engine: Engine, admin: Actor, player: Actor,
                                                                     location):
    chat_id = await _rich_world(engine, admin)
    await engine.perform(SetPersona(actor=player, name="Tamsin"))
    said = await engine.perform(SayLine(actor=player, channel_id="chan-1", message_id="m-1", text="Hello, Aria."))
    reply = await engine.perform(RecordReply(actor=admin, channel_id="chan-1", character_id=(await engine.reads.get_chat("chan-1")).host_id, text="Hello, Tamsin."))
    await engine.perform(ReviseReply(actor=admin, channel_id="chan-1", text="Well met, Tamsin."))
    await engine.perform(ReviseReply(actor=admin, channel_id="chan-1", text=" She smiles.", mode="continue"))
    await engine.perform(EditMessage(actor=player, channel_id="chan-1", message_id=said.message_id, text="Hello again, Aria."))
    await engine.perform(CreatePlace(actor=admin, channel_id="chan-1", name="Attic"))
    await engine.perform(WriteMemory(actor=player, channel_id="chan-1", text="Tamsin likes plums.", character="Bram"))
    await engine.perform(CloseScene(actor=admin, channel_id="chan-1", summary="The cellar was empty."))
    await engine.perform(OpenScene(actor=admin, channel_id="chan-1", place="Attic", title="Dusty secrets"))
    await engine.perform(SkipTime(actor=admin, channel_id="chan-1", by="2h", summary="Two quiet hours pass."))
    await engine.perform(SetWeather(actor=admin, channel_id="chan-1", weather="storm"))
    await engine.perform(AuthorCharacter(actor=admin, name="Corin", description="A cartographer."))
    await engine.perform(EditCharacter(actor=admin, name="Corin", field="personality", value="curious"))
    await engine.perform(StartMeanwhile(actor=admin, channel_id="chan-1", character="Corin", premise="Corin maps the marsh."))
    await engine.perform(AdjustRelationship(actor=admin, channel_id="chan-1", character="Bram", target="Tamsin", trust=-3))
    await engine.perform(RetractMessage(actor=admin, channel_id="chan-1", message_id=reply.message_id))
    await engine.perform(RewindChat(actor=admin, channel_id="chan-1", messages=1))
    world_before = dump_world(location)
    assert await engine.maintenance.catch_up() == 0
    assert await engine.maintenance.catch_up() == 0
    assert dump_world(location) == world_before
    await engine.perform(EndChat(actor=admin, channel_id="chan-1"))
    await engine.perform(StartChat(actor=admin, channel_id="chan-1", character="Aria"))
    assert (await engine.maintenance.check()).clean
    assert count_events(location) > 30
    assert chat_id != (await engine.reads.get_chat("chan-1")).chat_id


async def test_reproject_twice_leaves_the_world_identical(engine: Engine, admin: Actor, location):
    await _rich_world(engine, admin)
    world = dump_world(location)
    await engine.perform(Reproject(actor=admin))
    await engine.perform(Reproject(actor=admin))
    assert dump_world(location) == world


async def test_the_hosts_greeting_opens_the_story(engine: Engine, admin: Actor):
    await engine.perform(AuthorCharacter(actor=admin, name="Dalia", description="An innkeeper.", greeting="Welcome, {{user}}! I am {{char}}."))
    await engine.perform(SetPersona(actor=admin, name="Wren"))
    chat = await engine.perform(StartChat(actor=admin, channel_id="chan-g", character="Dalia"))
    [line] = await engine.reads.transcript(chat.chat_id)
    assert (line.role, line.speaker, line.text) == ("character", "Dalia", "Welcome, Wren! I am Dalia.")
