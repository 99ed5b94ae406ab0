"""Recall over the witnessed transcript, on both backends: an old line a character witnessed comes back into its
prompt, quoted whole with its speaker and in-story time, and never a line it did not witness; pinned memories."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from engine import Actor, Engine
from engine.commands import (
    CloseScene,
    InspectPrompt,
    ListMemories,
    OpenScene,
    PinMemory,
    RecordReply,
    RetractMessage,
    RewindChat,
    SayLine,
    SkipTime,
    StartMeanwhile,
    UnpinMemory,
    WriteMemory,
)
from engine.errors import DomainError
from engine.narrator.prompt import Prompt
from tests.conftest import story

FILLER = ("We talked about the weather again and whether the bakery down the road is any good these days, "
          "and about nothing in particular for a while.")


@pytest.fixture
async def small(location: str) -> AsyncIterator[Engine]:
    """The engine with a small context, so a story of a few dozen lines overflows it."""
    eng = await Engine.open(location, context_tokens=1536, reply_tokens=100)
    try:
        yield eng
    finally:
        await eng.close()


async def _filler(engine: Engine, admin: Actor, count: int, start: int = 0) -> None:
    for i in range(start, start + count):
        await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id=f"f{i}", text=f"{FILLER} ({i})"))


async def _prompt(engine: Engine, admin: Actor, question: str, character: str | None = None) -> Prompt:
    return await engine.perform(InspectPrompt(actor=admin, channel_id="chan-1", line=question, character=character))


def _system(prompt: Prompt) -> str:
    return prompt.messages[0].content


async def test_an_old_witnessed_line_is_recalled_with_its_speaker_and_time(small: Engine, admin: Actor):
    await story(small, admin)
    await small.perform(SkipTime(actor=admin, channel_id="chan-1", by="2d", summary="Two days pass."))
    await small.perform(SayLine(actor=admin, channel_id="chan-1", message_id="fact",
                                text="I painted the sunrise over Larkspur harbour the morning after the storm."))
    await _filler(small, admin, 40)
    prompt = await _prompt(small, admin, "When did I paint Larkspur harbour?")
    history = "\n".join(m.content for m in prompt.messages[1:])
    assert "Larkspur" not in history.replace("When did I paint Larkspur harbour?", "")  # far out of the window
    section = _system(prompt).split("# What Aria recalls", 1)[1]
    assert "Day 3, morning — Wren: I painted the sunrise over Larkspur harbour the morning after the storm." in section
    assert any(name.startswith("recall (1 older lines)") for name, _ in prompt.parts)
    assert prompt.total_tokens <= prompt.budget_tokens


async def test_an_abbreviation_in_capitals_is_searched_like_a_word(small: Engine, admin: Actor):
    await story(small, admin)
    await small.perform(SayLine(actor=admin, channel_id="chan-1", message_id="fact",
                                text="I've switched again: my GP is Dr Abernathy now."))
    await _filler(small, admin, 40)
    section = _system(await _prompt(small, admin, "Who is my GP now?")).split("# What Aria recalls", 1)[-1]
    assert "Wren: I've switched again: my GP is Dr Abernathy now." in section  # 'gp' is two letters, in capitals


async def test_a_longer_word_finds_its_family(small: Engine, admin: Actor):
    await story(small, admin)
    await small.perform(SayLine(actor=admin, channel_id="chan-1", message_id="fact",
                                text="We finally met the new receptionist, Harriet Marchetti."))
    await _filler(small, admin, 40)
    prompt = await _prompt(small, admin, "Who is the new face on reception?")
    assert "We finally met the new receptionist, Harriet Marchetti." in _system(prompt)


async def test_a_long_recalled_line_is_quoted_up_to_600_characters(small: Engine, admin: Actor):
    await story(small, admin)
    long_line = "The lighthouse keeper told me " + "a very long story about the gulls and the tides " * 20
    await small.perform(SayLine(actor=admin, channel_id="chan-1", message_id="fact", text=long_line.strip()))
    await _filler(small, admin, 40)
    section = _system(await _prompt(small, admin, "What did the lighthouse keeper say?")).split("recalls", 1)[1]
    quoted = section.split("— Wren: ", 1)[1].split("\n", 1)[0]
    assert quoted == long_line.strip()[:600].rstrip() + "…"


async def test_a_character_recalls_nothing_from_a_scene_it_was_not_in(small: Engine, admin: Actor):
    await story(small, admin)
    await small.perform(CloseScene(actor=admin, channel_id="chan-1", summary="They leave the tavern."))
    await small.perform(OpenScene(actor=admin, channel_id="chan-1", place="Cellar", absent="Bram"))
    await small.perform(SayLine(actor=admin, channel_id="chan-1", message_id="secret",
                                text="Aria, the zeppelin tickets are hidden under the cellar stairs."))
    await small.perform(CloseScene(actor=admin, channel_id="chan-1", summary="A quiet word in the cellar."))
    await _filler(small, admin, 40)
    question = "Where are the zeppelin tickets?"
    aria, bram = await _prompt(small, admin, question), await _prompt(small, admin, question, character="Bram")
    assert "zeppelin tickets are hidden" in _system(aria)
    assert "zeppelin tickets are hidden" not in "\n".join(m.content for m in bram.messages)


async def test_a_witnessed_line_ranked_below_hundreds_it_did_not_witness_is_recalled(small: Engine, admin: Actor):
    await story(small, admin)
    await small.perform(SayLine(actor=admin, channel_id="chan-1", message_id="kept",
                                text=f"{FILLER} Bram, the zeppelin leaves from the north tower at dawn."))
    await small.perform(CloseScene(actor=admin, channel_id="chan-1", summary="They leave the tavern."))
    await small.perform(OpenScene(actor=admin, channel_id="chan-1", place="Cellar", absent="Bram"))
    for i in range(260):  # shorter, so each one ranks above the line Bram heard
        await small.perform(SayLine(actor=admin, channel_id="chan-1", message_id=f"z{i}", text=f"Zeppelin {i}!"))
    await small.perform(CloseScene(actor=admin, channel_id="chan-1", summary="Much talk of zeppelins."))
    await _filler(small, admin, 20)
    bram = await _prompt(small, admin, "And the zeppelin?", character="Bram")
    assert "the zeppelin leaves from the north tower at dawn" in _system(bram)
    assert "Zeppelin 1" not in "\n".join(m.content for m in bram.messages)


async def test_rewound_and_deleted_lines_are_never_recalled(small: Engine, admin: Actor):
    await story(small, admin)
    await small.perform(SayLine(actor=admin, channel_id="chan-1", message_id="gone",
                                text="The brass telescope belonged to my grandmother."))
    await small.perform(SayLine(actor=admin, channel_id="chan-1", message_id="rewound",
                                text="The brass telescope is cracked now."))
    await small.perform(RewindChat(actor=admin, channel_id="chan-1", messages=1))
    await small.perform(RetractMessage(actor=admin, channel_id="chan-1", message_id="gone"))
    await small.perform(SayLine(actor=admin, channel_id="chan-1", message_id="kept",
                                text="I keep the brass telescope by the window."))
    await _filler(small, admin, 40)
    text = "\n".join(m.content for m in (await _prompt(small, admin, "Tell me about the brass telescope.")).messages)
    assert "by the window" in text
    assert "grandmother" not in text and "cracked" not in text
    assert (await small.maintenance.check()).clean


async def test_an_off_screen_scene_is_not_recalled_by_those_not_in_it(small: Engine, admin: Actor):
    await story(small, admin)
    await small.perform(StartMeanwhile(actor=admin, channel_id="chan-1", character="Bram", premise="Bram alone",
                                       digest="Bram buried the emerald compass behind the forge."))
    await _filler(small, admin, 40)
    text = "\n".join(m.content for m in (await _prompt(small, admin, "Where is the emerald compass?")).messages)
    assert "emerald compass behind" not in text


async def test_recall_follows_a_rewind_and_a_reproject(small: Engine, admin: Actor):
    chat_id = await story(small, admin)
    bram = (await small.reads.get_chat("chan-1")).guest_id
    assert bram is not None
    await small.perform(RecordReply(actor=admin, channel_id="chan-1", character_id=bram,
                                    text="My anvil came from the quarry at Thornwick."))
    await _filler(small, admin, 40)
    before = _system(await _prompt(small, admin, "Where did your anvil come from, Thornwick?"))
    await small.maintenance.rebuild()
    after = _system(await _prompt(small, admin, "Where did your anvil come from, Thornwick?"))
    assert "Bram: My anvil came from the quarry at Thornwick." in before and after == before
    await small.perform(RewindChat(actor=admin, channel_id="chan-1", messages=41))
    await _filler(small, admin, 40, start=100)
    rewound = _system(await _prompt(small, admin, "Where did your anvil come from, Thornwick?"))
    assert "Thornwick" not in rewound
    assert (await small.maintenance.check()).clean and chat_id


async def test_a_pinned_memory_is_in_every_prompt_of_its_character_only(small: Engine, admin: Actor):
    await story(small, admin)
    pinned = await small.perform(WriteMemory(actor=admin, channel_id="chan-1", text="Wren is allergic to walnuts.",
                                             pinned=True))
    later = await small.perform(WriteMemory(actor=admin, channel_id="chan-1", text="Wren once sailed to Vell."))
    assert pinned.pinned and not later.pinned
    await small.perform(PinMemory(actor=admin, channel_id="chan-1", id=later.memory_id))
    await _filler(small, admin, 40)
    aria, bram = await _prompt(small, admin, "Shall we eat?"), await _prompt(small, admin, "Shall we eat?", "Bram")
    section = _system(aria).split("# What Aria always keeps in mind\n", 1)[1].split("\n\n", 1)[0]
    assert section == "- Wren is allergic to walnuts.\n- Wren once sailed to Vell."
    assert any(name.startswith("pinned (2 of 2, cap ") for name, _ in aria.parts)
    assert "walnuts" not in "\n".join(m.content for m in bram.messages)  # another character's pin
    with pytest.raises(DomainError, match="already pinned"):
        await small.perform(PinMemory(actor=admin, channel_id="chan-1", id=later.memory_id))
    await small.perform(UnpinMemory(actor=admin, channel_id="chan-1", id=later.memory_id))
    after = _system(await _prompt(small, admin, "Shall we eat?"))
    assert after.split("# What Aria always keeps in mind\n", 1)[1].split("\n\n", 1)[0] == "- Wren is allergic to walnuts."
    with pytest.raises(DomainError, match="not pinned"):
        await small.perform(UnpinMemory(actor=admin, channel_id="chan-1", id=later.memory_id))
    listed = await small.perform(ListMemories(actor=admin, channel_id="chan-1"))
    assert [m.pinned for m in listed] == [False, True]
    await small.maintenance.rebuild()
    assert [m.pinned for m in await small.perform(ListMemories(actor=admin, channel_id="chan-1"))] == [False, True]
    assert (await small.maintenance.check()).clean
