"""Whose name a person's line goes under, through the engine on both backends: their persona for the server the
story is in, else the one they set for everywhere, else their display name."""

from __future__ import annotations

from engine import Actor, Engine
from engine.commands import AuthorCharacter, SayLine, SetPersona, StartChat


async def _chat_in(engine: Engine, person: Actor, channel: str) -> None:
    await engine.perform(AuthorCharacter(actor=person, name="Aria", description="A wandering bard."))
    await engine.perform(StartChat(actor=person, channel_id=channel, character="Aria"))


async def test_a_line_goes_under_the_servers_persona_else_the_one_for_everywhere(engine: Engine) -> None:
    here = Actor(user_id="u-1", guild_id="g-1", display_name="kit", is_admin=True)
    elsewhere = here.model_copy(update={"guild_id": "g-2"})
    stranger = Actor(user_id="u-2", guild_id="g-1", display_name="mo")
    await _chat_in(engine, here, "chan-1")
    await _chat_in(engine, elsewhere, "chan-2")

    async def said(person: Actor, channel: str, n: int) -> str:
        line = await engine.perform(SayLine(actor=person, channel_id=channel, message_id=f"m-{n}", text="Hello."))
        return line.speaker

    assert [await said(here, "chan-1", 1), await said(elsewhere, "chan-2", 2)] == ["kit", "kit"]
    await engine.perform(SetPersona(actor=here, name="Wren"))  # for g-1 only
    assert [await said(here, "chan-1", 3), await said(elsewhere, "chan-2", 4)] == ["Wren", "kit"]
    await engine.perform(SetPersona(actor=here, name="Wanderer", everywhere=True))
    assert [await said(here, "chan-1", 5), await said(elsewhere, "chan-2", 6)] == ["Wren", "Wanderer"]
    assert await said(stranger, "chan-1", 7) == "mo"  # someone else's personas are not theirs
