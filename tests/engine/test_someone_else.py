"""Someone else (the reply's "Someone else" button, /reply other) through `engine.perform` on both backends: the
chat's rule picks another speaking member than the one who just spoke (one at random when the rule picks nobody),
the latest reply stays, a click on an older reply changes nothing, and a rebuild keeps the speakers."""

from __future__ import annotations

import pytest

from engine import Actor, DomainError, Engine
from engine.commands import AuthorCharacter, SetTurnRule, SomeoneElse, StartChat
from tests.conftest import dump_world
from tests.engine.test_turns import CHAN, cast_of_four, group, say  # noqa: F401  (group: the engine fixture)


async def _speakers(engine: Engine) -> list[str]:
    chat = await engine.reads.get_chat(CHAN)
    return [m.speaker for m in await engine.reads.transcript(chat.chat_id, limit=50) if m.role == "character"]


async def test_someone_else_asks_the_rule_for_another_speaker(group: Engine, admin: Actor,  # noqa: F811
                                                              location: str):
    await cast_of_four(group, admin)
    await group.perform(SetTurnRule(actor=admin, channel_id=CHAN, rule="mentioned"))
    assert await say(group, admin, 1, "Bram?") == ["Bram"]
    bram = (await group.reads.transcript((await group.reads.get_chat(CHAN)).chat_id, limit=1))[-1]
    other = await group.perform(SomeoneElse(actor=admin, channel_id=CHAN, reply_id=bram.message_id, revision=0))
    assert other.speaker == "Aria"  # 'mentioned' picks nobody: one at random (draw 0.0) of Aria, Cora, Dov
    with pytest.raises(DomainError, match="no longer the latest one"):  # the button on Bram's reply, clicked again
        await group.perform(SomeoneElse(actor=admin, channel_id=CHAN, reply_id=bram.message_id, revision=0))
    again = await group.perform(SomeoneElse(actor=admin, channel_id=CHAN))
    assert again.speaker == "Dov"  # draw 0.99 of Bram, Cora, Dov: never Aria, who just spoke
    await group.perform(SetTurnRule(actor=admin, channel_id=CHAN, rule="natural"))
    assert (await group.perform(SomeoneElse(actor=admin, channel_id=CHAN))).speaker == "Aria"  # her roll (0.5) wins
    assert await _speakers(group) == ["Bram", "Aria", "Dov", "Aria"]
    turns = [e.payload["turn"] for e in sorted(await group.reads.recent_events(limit=100), key=lambda e: e.seq)
             if e.kind == "bot_replied"]
    assert turns[1:] == [{"rule": "mentioned", "reason": "random", "roll": 0.0, "answer": None},
                         {"rule": "mentioned", "reason": "random", "roll": 0.99, "answer": None},
                         {"rule": "natural", "reason": "rolled", "roll": 0.5, "answer": None}]
    chat = await group.reads.get_chat(CHAN)
    before = dump_world(location, chat_id=chat.chat_id)
    await group.maintenance.rebuild()
    assert dump_world(location, chat_id=chat.chat_id) == before


async def test_nobody_else_in_a_cast_of_one(group: Engine, admin: Actor):  # noqa: F811
    await group.perform(AuthorCharacter(actor=admin, name="Aria", description="A bard."))
    await group.perform(StartChat(actor=admin, channel_id=CHAN, character="Aria"))
    assert await say(group, admin, 1, "Hello.") == ["Aria"]
    with pytest.raises(DomainError, match="Nobody else in the cast can speak now"):
        await group.perform(SomeoneElse(actor=admin, channel_id=CHAN))
