"""The `director` turn rule through `engine.perform` on both backends with the fake model server: the model is
asked who speaks next (a name only, from the members who may speak), its answer chooses the speaker, an answer
naming nobody in the cast or a failed call falls back to `natural`, a line naming someone never asks, and a
rebuild replays the same speakers without asking again."""

from __future__ import annotations

from typing import Any

from engine import Actor, Engine
from engine.commands import SetTurnRule
from tests.conftest import dump_world
from tests.engine.test_turns import CHAN, cast_of_four, group, say  # noqa: F401  (group: the engine fixture)
from tests.fakes.llm_server import FakeLLMServer


def _director_asks(fake_llm: FakeLLMServer) -> list[dict[str, Any]]:
    return [r for r in fake_llm.chat_requests if "You direct a group roleplay" in r["messages"][0]["content"]]


async def _turns(engine: Engine) -> list[dict[str, Any]]:
    events = await engine.reads.recent_events(limit=100)
    return [e.payload["turn"] for e in sorted(events, key=lambda e: e.seq) if e.kind == "bot_replied"]


async def test_the_director_names_the_speaker_and_a_bad_answer_falls_back_to_natural(
        group: Engine, admin: Actor, fake_llm: FakeLLMServer, location: str):  # noqa: F811
    await cast_of_four(group, admin)
    await group.perform(SetTurnRule(actor=admin, channel_id=CHAN, rule="director"))
    fake_llm.enqueue_text("Dov", chunks=1)
    assert await say(group, admin, 1, "Who pours the ale tonight?") == ["Dov"]
    ask = _director_asks(fake_llm)[0]
    assert ask["max_tokens"] <= 16 and "\n" in ask["stop"]
    assert ask["messages"][0]["content"].endswith("nothing else: Aria, Bram, Cora, Dov.")
    assert "Who pours the ale tonight?" in ask["messages"][1]["content"]
    fake_llm.enqueue_text("**Cora**.", chunks=2)  # markdown and a full stop around the name still name her
    assert await say(group, admin, 2, "And the music?") == ["Cora"]
    assert _director_asks(fake_llm)[1]["messages"][0]["content"].endswith("Aria, Bram, Cora.")  # not Dov again
    fake_llm.enqueue_text("The barkeep, I suppose")  # nobody in the cast: natural (draws 0.0 and 0.99, then 0.5)
    assert await say(group, admin, 3, "Anyone?") == ["Aria"]
    fake_llm.enqueue_error(400, "bad request")  # the call fails: natural, with no answer stored
    assert await say(group, admin, 4, "Hello?") == ["Cora"]
    asked = len(_director_asks(fake_llm))
    assert await say(group, admin, 5, "Bram, your turn.") == ["Bram"]  # a line naming someone never asks
    assert len(_director_asks(fake_llm)) == asked == 4
    turns = await _turns(group)
    assert turns[:2] == [{"rule": "director", "reason": "directed", "roll": None, "answer": "Dov"},
                         {"rule": "director", "reason": "directed", "roll": None, "answer": "**Cora**."}]
    assert turns[2] == {"rule": "director", "reason": "rolled", "roll": 0.0, "answer": "The barkeep, I suppose"}
    assert turns[3] == {"rule": "director", "reason": "rolled", "roll": 0.5, "answer": None}
    assert turns[-1] == {"rule": "director", "reason": "named", "roll": None, "answer": None}
    chat = await group.reads.get_chat(CHAN)
    before, requests = dump_world(location, chat_id=chat.chat_id), len(fake_llm.requests)
    await group.maintenance.rebuild()
    assert dump_world(location, chat_id=chat.chat_id) == before
    assert len(fake_llm.requests) == requests
