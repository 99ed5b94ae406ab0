"""Who speaks next in a group story, through `engine.perform` on both backends with the fake model server: named
first, each rule, the chain limit, a nudge, a Discord reply naming its character, and a rebuild keeping the
speakers (with the draws that chose them) as they were."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from engine import Actor, DomainError, Engine, InvalidInput
from engine.commands import (
    AddToCast,
    AnswerLine,
    AuthorCharacter,
    ChatStatus,
    EditCharacter,
    LeaveScene,
    MuteCastMember,
    NudgeCharacter,
    OpenScene,
    SetTurnRule,
    StartChat,
    SwipeGreeting,
)
from engine.views import CharacterView
from tests.conftest import dump_world
from tests.engine.conftest import talking_engine
from tests.fakes.llm_server import FakeLLMServer

CHAN = "chan-t"
TALK = {"Aria": "1", "Bram": "0", "Cora": "1", "Dov": "0"}  # rolls always win for 1, never for 0


def draws(*values: float) -> Callable[[], float]:
    """A draw that plays `values` in turn (then 0.5)."""
    queue = list(values)
    return lambda: queue.pop(0) if queue else 0.5


@pytest.fixture
async def group(location: str, fake_llm: FakeLLMServer) -> AsyncIterator[Engine]:
    """An engine on the backend under test, with a seeded draw for `pooled` and `natural`'s random pick."""
    async with talking_engine(location, fake_llm, context_tokens=2048, max_tokens=60,
                              draw=draws(0.0, 0.99)) as engine:
        yield engine


async def cast_of_four(engine: Engine, admin: Actor) -> None:
    for name, talk in TALK.items():
        await engine.perform(AuthorCharacter(actor=admin, name=name, description=f"{name} of the inn."))
        await engine.perform(EditCharacter(actor=admin, name=name, field="talkativeness", value=talk))
    await engine.perform(StartChat(actor=admin, channel_id=CHAN, character="Aria", guest="Bram"))
    for name in ("Cora", "Dov"):
        await engine.perform(AddToCast(actor=admin, channel_id=CHAN, character=name))


async def say(engine: Engine, admin: Actor, n: int, text: str, reply_to: str | None = None) -> list[str]:
    result = await engine.perform(AnswerLine(actor=admin, channel_id=CHAN, message_id=f"m{n}", text=text,
                                             reply_to=reply_to))
    return [r.speaker for r in result.replies]


async def test_each_rule_picks_its_speakers(group: Engine, admin: Actor, location: str):
    await cast_of_four(group, admin)
    assert await say(group, admin, 1, "Evening, all.") == ["Aria"]  # no rule chosen yet: the host
    await group.perform(SetTurnRule(actor=admin, channel_id=CHAN, rule="natural"))
    assert await say(group, admin, 2, "Anyone?") == ["Cora"]  # Aria spoke last; only a roll against 1 wins
    assert await say(group, admin, 3, "Dov and Bram, a word.") == ["Dov", "Bram"]  # those named, in that order
    assert await say(group, admin, 31, "Evening, all.") == ["Aria", "Cora"]  # both rolls win; Bram spoke last
    await group.perform(SetTurnRule(actor=admin, channel_id=CHAN, rule="list"))
    assert await say(group, admin, 4, "Round the table!") == ["Aria", "Bram", "Cora"]  # everyone, cut at 3
    await group.perform(SetTurnRule(actor=admin, channel_id=CHAN, rule="mentioned"))
    assert await say(group, admin, 5, "Quiet night.") == []
    assert await say(group, admin, 6, "cora?") == ["Cora"]
    await group.perform(SetTurnRule(actor=admin, channel_id=CHAN, rule="pooled"))
    assert await say(group, admin, 7, "Who's next?") == ["Bram"]  # draw 0.5: the middle one of Aria, Bram, Dov
    await group.perform(SetTurnRule(actor=admin, channel_id=CHAN, rule="manual"))
    assert await say(group, admin, 8, "Hm.") == []
    nudged = await group.perform(NudgeCharacter(actor=admin, channel_id=CHAN, character="Dov"))
    assert nudged.speaker == "Dov"
    status = await group.perform(ChatStatus(actor=admin, channel_id=CHAN))
    assert status[0].turn_rule == "manual"
    turns = [e.payload.get("turn") for e in await group.reads.recent_events(limit=100) if e.kind == "bot_replied"]
    assert {"rule": "natural", "reason": "rolled", "roll": 0.99, "answer": None} in turns
    assert {"rule": "pooled", "reason": "random", "roll": 0.5, "answer": None} in turns
    assert {"rule": "manual", "reason": "nudged", "roll": None, "answer": None} in turns
    assert {"rule": "host", "reason": "first", "roll": None, "answer": None} in turns
    chat = await group.reads.get_chat(CHAN)
    before = dump_world(location, chat_id=chat.chat_id)
    await group.maintenance.rebuild()
    assert dump_world(location, chat_id=chat.chat_id) == before


async def test_a_reply_to_a_message_names_its_character_and_muted_ones_never_speak(group: Engine, admin: Actor):
    await cast_of_four(group, admin)
    await group.perform(SetTurnRule(actor=admin, channel_id=CHAN, rule="mentioned"))
    first = await group.perform(AnswerLine(actor=admin, channel_id=CHAN, message_id="m1", text="Bram?"))
    posted = first.replies[0].message_id
    assert await say(group, admin, 2, "And you?", reply_to=posted) == ["Bram"]
    await group.perform(MuteCastMember(actor=admin, channel_id=CHAN, character="Bram"))
    assert await say(group, admin, 3, "Bram, Dov?") == ["Dov"]
    with pytest.raises(DomainError, match="Bram is muted"):
        await group.perform(NudgeCharacter(actor=admin, channel_id=CHAN, character="Bram"))
    with pytest.raises(DomainError, match="already picks who speaks next by 'mentioned'"):
        await group.perform(SetTurnRule(actor=admin, channel_id=CHAN, rule="mentioned"))
    with pytest.raises(InvalidInput, match="talkativeness: a number from 0"):
        await group.perform(EditCharacter(actor=admin, name="Dov", field="talkativeness", value="loud"))


async def test_a_member_away_from_the_scene_is_not_nudged_into_answering_what_it_never_heard(
        group: Engine, admin: Actor, location: str):
    await cast_of_four(group, admin)
    await group.perform(OpenScene(actor=admin, channel_id=CHAN, place="The cellar"))
    await group.perform(LeaveScene(actor=admin, channel_id=CHAN, character="Cora"))
    before = dump_world(location)
    with pytest.raises(DomainError, match="^Cora is away from the scene. /scene enter character:Cora brings it back"):
        await group.perform(NudgeCharacter(actor=admin, channel_id=CHAN, character="Cora"))
    assert dump_world(location) == before  # nothing recorded, nothing generated
    nudged = await group.perform(NudgeCharacter(actor=admin, channel_id=CHAN, character="Dov"))
    assert nudged.speaker == "Dov"


class Shown:
    """A sink that keeps what it was asked to show."""

    def __init__(self) -> None:
        self.begun: list[str] = []

    async def begin(self, character: CharacterView) -> None:
        """Note who began speaking."""
        self.begun.append(character.name)

    async def update(self, character: CharacterView, text: str) -> None:
        """Nothing to keep."""

    async def finish(self, character: CharacterView, text: str) -> list[str]:
        """No frontend ids."""
        return []

    async def abort(self, character: CharacterView, error: Exception) -> None:
        """Nothing to take back."""


async def test_a_nudge_before_anyone_speaks_ends_the_greetings_swaps(group: Engine, admin: Actor):
    for name in ("Aria", "Bram"):
        await group.perform(AuthorCharacter(actor=admin, name=name, description="x", greeting=f"{name} waves."))
    chat = await group.perform(StartChat(actor=admin, channel_id=CHAN, character="Aria", guest="Bram"))
    await group.perform(NudgeCharacter(actor=admin, channel_id=CHAN, character="Bram"))
    before = [(m.speaker, m.text) for m in await group.reads.transcript(chat.chat_id)]
    shown = Shown()
    with pytest.raises(DomainError, match="^A character has spoken since the opening greeting"):
        await group.perform(SwipeGreeting(actor=admin, channel_id=CHAN, number=1), sink=shown)
    assert [(m.speaker, m.text) for m in await group.reads.transcript(chat.chat_id)] == before
    assert before[0] == ("Aria", "Aria waves.") and len(before) == 2 and shown.begun == []
