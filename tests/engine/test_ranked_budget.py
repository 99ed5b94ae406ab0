"""One budget, ranked: after the floor of newest lines, memories (and recalled lines and lore) compete for the room by
relevance to the newest line, and the inspector reports every candidate with its section, score and fate."""

from __future__ import annotations

from engine import Actor, Engine
from engine.commands import InspectPrompt, SayLine, WriteMemory
from tests.conftest import story

ROUTINE = ("Routine note {n:02d}: Wren and Aria counted the barrels of ale and the loaves of bread at the market "
           "stall again today, as they do every single week, and wrote the numbers down in the ledger. " * 3).strip()


async def test_memories_compete_by_relevance_to_the_newest_line_and_the_dropped_say_why(engine: Engine,
                                                                                       admin: Actor):
    await story(engine, admin)
    await engine.perform(WriteMemory(actor=admin, channel_id="chan-1", importance=1,
                                     text="Wren hid the brass compass under the plum tree behind the mill."))
    for i in range(30):
        await engine.perform(WriteMemory(actor=admin, channel_id="chan-1", text=ROUTINE.format(n=i), importance=9))
    for i in range(6):
        await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id=f"l{i}", text=f"A quiet day ({i})."))

    prompt = await engine.perform(InspectPrompt(actor=admin, channel_id="chan-1",
                                                line="Where is the brass compass now?"))
    memories = [c for c in prompt.candidates if c.section == "memory"]
    assert len(memories) >= 9 and all(c.tokens > 0 for c in memories)  # those found, the newest, the important
    compass = next(c for c in memories if "brass compass" in c.label)
    assert compass.kept and compass.score == max(c.score for c in memories)  # the least important, the most asked
    dropped = [c for c in memories if not c.kept]
    assert dropped and all(c.why.startswith("over budget (") for c in dropped)
    assert min(c.score for c in memories if c.kept) >= max(c.score for c in dropped)
    system = prompt.messages[0].content
    assert "- Wren hid the brass compass under the plum tree behind the mill." in system
    assert sum(ROUTINE.format(n=i) in system for i in range(30)) == sum(c.kept for c in memories) - 1
