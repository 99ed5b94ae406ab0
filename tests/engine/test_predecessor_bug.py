"""The seed's bug: once rows exist for every non-idempotent handler, every action must still succeed."""

from __future__ import annotations

from engine import Actor, Engine
from tests.conftest import count_events, dump_world, story


async def _rich_world(engine: Engine, admin: Actor) -> str:
    chat_id = await story(engine, admin)
    await engine.create_place(admin, "chan-1", "Cellar", "Damp and dark.", parent="Tavern")
    await engine.write_memory(admin, "chan-1", "Wren owes Aria a song.", importance=7)
    await engine.close_scene(admin, "chan-1", "They met at the tavern.")
    await engine.open_scene(admin, "chan-1", "Cellar")
    mw = await engine.start_meanwhile(admin, "chan-1", ["Bram"], "Bram forges a blade.", place="Forge")
    await engine.record_meanwhile_digest(admin, "chan-1", mw.meanwhile_id, "Bram forged a moon-silver blade.")
    await engine.adjust_relationship(admin, "chan-1", "Aria", "Bram", affinity=10, trust=5, note="old friends")
    return chat_id


async def test_every_action_succeeds_after_every_kind_of_row_exists(engine: Engine, admin: Actor, player: Actor,
                                                                     location):
    chat_id = await _rich_world(engine, admin)
    await engine.set_persona(player, "Tamsin")
    said = await engine.record_message(player, "chan-1", "m-1", "Hello, Aria.")
    reply = await engine.record_reply(admin, "chan-1", (await engine.get_chat("chan-1")).host_id, "Hello, Tamsin.")
    await engine.revise_reply(admin, "chan-1", "Well met, Tamsin.")
    await engine.revise_reply(admin, "chan-1", " She smiles.", mode="continue")
    await engine.edit_message(player, "chan-1", said.message_id, "Hello again, Aria.")
    await engine.create_place(admin, "chan-1", "Attic")
    await engine.write_memory(player, "chan-1", "Tamsin likes plums.", character="Bram")
    await engine.close_scene(admin, "chan-1", "The cellar was empty.")
    await engine.open_scene(admin, "chan-1", "Attic", title="Dusty secrets")
    await engine.skip_time(admin, "chan-1", "2h", "Two quiet hours pass.")
    await engine.set_weather(admin, "chan-1", "storm")
    await engine.author_character(admin, "Corin", "A cartographer.")
    await engine.edit_character(admin, "Corin", "personality", "curious")
    await engine.start_meanwhile(admin, "chan-1", ["Corin"], "Corin maps the marsh.")
    await engine.adjust_relationship(admin, "chan-1", "Bram", "Tamsin", trust=-3)
    await engine.retract_message(admin, "chan-1", reply.message_id)
    await engine.rewind(admin, "chan-1", messages=1)
    world_before = dump_world(location)
    assert await engine.catch_up() == 0
    assert await engine.catch_up() == 0
    assert dump_world(location) == world_before
    await engine.end_chat(admin, "chan-1")
    await engine.start_chat(admin, "chan-1", "Aria")
    assert (await engine.check()).clean
    assert count_events(location) > 30
    assert chat_id != (await engine.get_chat("chan-1")).chat_id


async def test_reproject_twice_leaves_the_world_identical(engine: Engine, admin: Actor, location):
    await _rich_world(engine, admin)
    world = dump_world(location)
    await engine.reproject(admin)
    await engine.reproject(admin)
    assert dump_world(location) == world


async def test_the_hosts_greeting_opens_the_story(engine: Engine, admin: Actor):
    await engine.author_character(admin, "Dalia", "An innkeeper.", greeting="Welcome, {{user}}! I am {{char}}.")
    await engine.set_persona(admin, "Wren")
    chat = await engine.start_chat(admin, "chan-g", "Dalia")
    [line] = await engine.transcript(chat.chat_id)
    assert (line.role, line.speaker, line.text) == ("character", "Dalia", "Welcome, Wren! I am Dalia.")
