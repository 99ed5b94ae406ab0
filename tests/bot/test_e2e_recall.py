"""End to end through the fake Discord: recall and pins keep to what each character witnessed, as `/chat prompt`
shows the prompt (the file it attaches)."""

from __future__ import annotations

from tests.bot.conftest import Chronicle
from tests.fakes.discord.interactions import InteractionRecord

FILLER = "We chatted about the weather and the bakery down the road for a while, nothing much"


def _prompt_text(record: InteractionRecord) -> str:
    message = record.original
    assert message is not None
    files = {a["filename"]: message.files[a["id"]] for a in message.attachments}
    return files["prompt.txt"].decode()


async def test_recall_and_pins_keep_to_what_each_character_witnessed(chronicle: Chronicle) -> None:
    w = chronicle.fd.world
    await chronicle.start_story(guest=True)
    await chronicle.command(w.admin, "scene open", {"place": "Cellar", "absent": "Bram"})
    await chronicle.say(w.admin, "Aria, the zeppelin tickets are hidden under the cellar stairs.")
    await chronicle.command(w.admin, "scene close", {"summary": "A quiet word in the cellar."})
    pinned = await chronicle.command(w.admin, "memory add", {"text": "Bram owes the miller nine silver crowns.",
                                                             "character": "Bram", "pinned": True})
    assert any("It is pinned" in t for t in pinned.texts), pinned.texts
    for i in range(40):
        await chronicle.say(w.admin, f"{FILLER} ({i}).")
    question = "Where are the zeppelin tickets? And what does Bram owe?"
    aria = _prompt_text(await chronicle.command(w.admin, "chat prompt", {"character": "Aria", "line": question}))
    bram = _prompt_text(await chronicle.command(w.admin, "chat prompt", {"character": "Bram", "line": question}))
    assert "— Wren: Aria, the zeppelin tickets are hidden under the cellar stairs." in aria
    assert "zeppelin tickets are hidden" not in bram  # a scene Bram was not in
    assert "- Bram owes the miller nine silver crowns." in bram  # his pin, in every prompt of his
    assert "nine silver crowns" not in aria  # another character's pinned memory
    assert (await chronicle.engine.maintenance.check()).clean
