"""Knowledge follows presence, through `engine.perform` on both backends: a character away from the open scene is
never chosen to speak, and its prompt holds nothing said while it was away, but what it witnessed before it left
and after it came back."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from engine import Actor, DomainError, Engine
from engine.commands import (
    AddLoreEntry,
    AddToCast,
    AnswerLine,
    AttachLorebook,
    AuthorCharacter,
    CloseScene,
    EnterScene,
    InspectPrompt,
    LeaveScene,
    OpenScene,
    SetTurnRule,
    StartChat,
)
from tests.conftest import dump_world
from tests.engine.conftest import talking_engine
from tests.fakes.llm_server import FakeLLMServer

CHAN = "chan-p"


@pytest.fixture
async def narrated(location: str, fake_llm: FakeLLMServer) -> AsyncIterator[Engine]:
    async with talking_engine(location, fake_llm, context_tokens=4096, max_tokens=60) as engine:
        yield engine


async def prompt_of(engine: Engine, admin: Actor, name: str) -> str:
    prompt = await engine.perform(InspectPrompt(actor=admin, channel_id=CHAN, character=name))
    return "\n".join(m.content for m in prompt.messages)


async def test_an_absent_character_neither_speaks_nor_knows_what_was_said(narrated: Engine, admin: Actor,
                                                                          location: str):
    for name in ("Aria", "Bram", "Cora"):
        await narrated.perform(AuthorCharacter(actor=admin, name=name, description=f"{name} of the inn."))
    await narrated.perform(StartChat(actor=admin, channel_id=CHAN, character="Aria", guest="Bram"))
    await narrated.perform(AddToCast(actor=admin, channel_id=CHAN, character="Cora"))
    await narrated.perform(SetTurnRule(actor=admin, channel_id=CHAN, rule="mentioned"))
    await narrated.perform(OpenScene(actor=admin, channel_id=CHAN, place="Cellar"))
    await narrated.perform(AddLoreEntry(actor=admin, book="Cellar", keys=("barrel",),
                                        content="The barrels hide contraband."))
    await narrated.perform(AttachLorebook(actor=admin, channel_id=CHAN, book="Cellar"))
    def say(n, text):
        return narrated.perform(AnswerLine(actor=admin, channel_id=CHAN, message_id=f"m{n}", text=text))
    await say(1, "Before: the cask is cracked.")
    await narrated.perform(LeaveScene(actor=admin, channel_id=CHAN, character="Bram"))
    away = await say(2, "Secret: the key is under the third barrel, Bram and Cora.")
    assert [r.speaker for r in away.replies] == ["Cora"]  # Bram is named, but away
    with pytest.raises(DomainError, match="Bram is not in Cellar"):
        await narrated.perform(LeaveScene(actor=admin, channel_id=CHAN, character="Bram"))
    bram, cora = await prompt_of(narrated, admin, "Bram"), await prompt_of(narrated, admin, "Cora")
    assert "the cask is cracked" in bram and "third barrel" not in bram
    assert "third barrel" in cora and "Present: Cora, Aria." in cora and "- Bram" not in cora  # not here
    await narrated.perform(EnterScene(actor=admin, channel_id=CHAN, character="Bram"))
    back = await say(3, "After: Bram, welcome back.")
    assert [r.speaker for r in back.replies] == ["Bram"]
    bram = await prompt_of(narrated, admin, "Bram")
    assert "the cask is cracked" in bram and "welcome back" in bram and "third barrel" not in bram
    assert "contraband" not in bram and "contraband" in cora  # lore follows the lines each witnessed
    chat = await narrated.reads.get_chat(CHAN)
    before = dump_world(location, chat_id=chat.chat_id)
    await narrated.maintenance.rebuild()
    assert dump_world(location, chat_id=chat.chat_id) == before
    await narrated.perform(CloseScene(actor=admin, channel_id=CHAN, summary="They found the key."))
    assert "They found the key." in await prompt_of(narrated, admin, "Cora")  # a memory of all it witnessed
    assert "They found the key." not in await prompt_of(narrated, admin, "Bram")  # it was away for part of it
    with pytest.raises(DomainError, match="No scene is open"):
        await narrated.perform(EnterScene(actor=admin, channel_id=CHAN, character="Bram"))


async def test_a_character_who_joins_later_knows_only_what_was_said_since(narrated: Engine, admin: Actor):
    for name in ("Aria", "Dara"):
        await narrated.perform(AuthorCharacter(actor=admin, name=name, description=f"{name} of the inn."))
    await narrated.perform(StartChat(actor=admin, channel_id=CHAN, character="Aria"))
    await narrated.perform(SetTurnRule(actor=admin, channel_id=CHAN, rule="manual"))
    await narrated.perform(AnswerLine(actor=admin, channel_id=CHAN, message_id="m1",
                                      text="The smuggler's key is under the third barrel."))
    await narrated.perform(AddToCast(actor=admin, channel_id=CHAN, character="Dara"))
    await narrated.perform(AnswerLine(actor=admin, channel_id=CHAN, message_id="m2", text="Dara, welcome in."))
    asked = InspectPrompt(actor=admin, channel_id=CHAN, character="Dara", line="Where is the smuggler's key?")
    dara = "\n".join(m.content for m in (await narrated.perform(asked)).messages)
    assert "welcome in" in dara and "third barrel" not in dara  # neither in its transcript nor recalled
    assert "third barrel" in await prompt_of(narrated, admin, "Aria")
