"""A story's cast through `engine.perform`, on both backends: host and guest upcast as its first members, joining,
leaving, muting, a cast of 25, rewinds and rebuilds."""

from __future__ import annotations

import pytest

from engine import Actor, DomainError, Engine
from engine.commands import (
    AddToCast,
    AnswerLine,
    AuthorCharacter,
    ChatStatus,
    ListCast,
    MuteCastMember,
    RemoveFromCast,
    RewindChat,
    SayLine,
    UnmuteCastMember,
)
from engine.events import MAX_CHARACTERS_PER_CHAT
from tests.conftest import dump_world, story
from tests.engine.test_narrator import RecordingSink
from tests.fakes.llm_server import FakeLLMServer

CHAN = "chan-1"


async def names(engine: Engine, actor: Actor) -> list[str]:
    cast = await engine.perform(ListCast(actor=actor, channel_id=CHAN))
    return [m.name + (" (muted)" if m.muted else "") for m in cast.members]


async def author(engine: Engine, admin: Actor, *names: str) -> None:
    for name in names:
        await engine.perform(AuthorCharacter(actor=admin, name=name, description=f"{name}, one of the regulars."))


async def test_a_host_and_guest_story_is_a_cast_of_two_that_others_join_and_leave(engine: Engine, admin: Actor):
    await story(engine, admin)
    assert await names(engine, admin) == ["Aria", "Bram"]
    await author(engine, admin, "Cora", "Dov")
    cast = await engine.perform(AddToCast(actor=admin, channel_id=CHAN, character="cora"))
    assert cast.named == "Cora" and [m.name for m in cast.members] == ["Aria", "Bram", "Cora"]
    await engine.perform(AddToCast(actor=admin, channel_id=CHAN, character="Dov"))
    await engine.perform(RemoveFromCast(actor=admin, channel_id=CHAN, character="Bram"))
    await engine.perform(AddToCast(actor=admin, channel_id=CHAN, character="Bram"))
    assert await names(engine, admin) == ["Aria", "Cora", "Dov", "Bram"]
    chat = await engine.reads.get_chat(CHAN)
    cards = {c.character_id: c.name for c in await engine.reads.list_characters(admin.guild_id)}
    assert [cards[i] for i in chat.character_ids] == ["Aria", "Cora", "Dov", "Bram"]
    status = await engine.perform(ChatStatus(actor=admin, channel_id=CHAN))
    assert list(status[1].values()) == ["Aria", "Cora", "Dov", "Bram"]


async def test_cast_refusals_say_what_to_do(engine: Engine, admin: Actor):
    await story(engine, admin, guest=False)
    with pytest.raises(DomainError, match="already in this story's cast"):
        await engine.perform(AddToCast(actor=admin, channel_id=CHAN, character="Aria"))
    with pytest.raises(DomainError, match="not in this story's cast"):
        await engine.perform(RemoveFromCast(actor=admin, channel_id=CHAN, character="Bram"))
    with pytest.raises(DomainError, match="only character in this story"):
        await engine.perform(RemoveFromCast(actor=admin, channel_id=CHAN, character="Aria"))
    with pytest.raises(DomainError, match="only one in the cast who speaks"):
        await engine.perform(MuteCastMember(actor=admin, channel_id=CHAN, character="Aria"))
    with pytest.raises(DomainError, match="no character named"):
        await engine.perform(AddToCast(actor=admin, channel_id=CHAN, character="Nobody"))
    with pytest.raises(DomainError, match="is not muted"):
        await engine.perform(UnmuteCastMember(actor=admin, channel_id=CHAN, character="Aria"))


async def test_a_cast_holds_twenty_five_and_a_rebuild_gives_the_same_world(engine: Engine, admin: Actor,
                                                                           location: str):
    chat_id = await story(engine, admin)
    extra = [f"Extra{n:02}" for n in range(MAX_CHARACTERS_PER_CHAT - 2)]
    await author(engine, admin, *extra, "Latecomer")
    for name in extra:
        await engine.perform(AddToCast(actor=admin, channel_id=CHAN, character=name))
    await engine.perform(MuteCastMember(actor=admin, channel_id=CHAN, character="Extra03"))
    assert len(await names(engine, admin)) == MAX_CHARACTERS_PER_CHAT >= 20
    with pytest.raises(DomainError, match=f"cast is full \\({MAX_CHARACTERS_PER_CHAT} characters\\)"):
        await engine.perform(AddToCast(actor=admin, channel_id=CHAN, character="Latecomer"))
    before = dump_world(location, chat_id=chat_id)
    assert len(before["chat_cast"]) == MAX_CHARACTERS_PER_CHAT
    await engine.maintenance.rebuild()
    assert dump_world(location, chat_id=chat_id) == before
    assert "Extra03 (muted)" in await names(engine, admin)


async def test_a_rewind_undoes_a_join_and_a_mute(engine: Engine, admin: Actor):
    await story(engine, admin)
    await author(engine, admin, "Cora")
    await engine.perform(SayLine(actor=admin, channel_id=CHAN, message_id="m1", text="Who else is coming?"))
    await engine.perform(AddToCast(actor=admin, channel_id=CHAN, character="Cora"))
    await engine.perform(MuteCastMember(actor=admin, channel_id=CHAN, character="Bram"))
    await engine.perform(SayLine(actor=admin, channel_id=CHAN, message_id="m2", text="Cora!"))
    assert await names(engine, admin) == ["Aria", "Bram (muted)", "Cora"]
    await engine.perform(RewindChat(actor=admin, channel_id=CHAN, to="m1"))
    assert await names(engine, admin) == ["Aria", "Bram"]



async def test_a_muted_member_never_answers_but_stays_in_who_is_here(narrated: Engine, admin: Actor,
                                                                     fake_llm: FakeLLMServer):
    await story(narrated, admin)
    await author(narrated, admin, "Cora")
    await narrated.perform(AddToCast(actor=admin, channel_id=CHAN, character="Cora"))
    await narrated.perform(MuteCastMember(actor=admin, channel_id=CHAN, character="Bram"))
    fake_llm.enqueue_text("Cora waves.")
    result = await narrated.perform(AnswerLine(actor=admin, channel_id=CHAN, message_id="p1",
                                               text="Bram and Cora, come here."), sink=RecordingSink())
    assert [r.speaker for r in result.replies] == ["Cora"]
    assert "Bram" in "\n".join(m["content"] for m in fake_llm.chat_requests[-1]["messages"])
