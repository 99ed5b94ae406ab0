"""End to end through the fake Discord: a character name that looks like an existing one is refused in one
ephemeral line naming the one it looks like, and nothing is recorded."""

from __future__ import annotations

from tests.bot.conftest import Chronicle
from tests.conftest import count_events


async def test_a_look_alike_character_name_gets_a_one_line_refusal(chronicle: Chronicle) -> None:
    w = chronicle.fd.world
    await chronicle.command(w.admin, "character create", {"name": "Aria", "description": "A wandering bard."})
    before = count_events(chronicle.db_path)
    record = await chronicle.command(w.member, "character create",
                                     {"name": "\u0410ria", "description": "An impostor with a Cyrillic A."})
    assert record.ephemeral
    assert record.content == ("'\u0410ria' looks like the existing character 'Aria'; "
                              "choose a name that reads differently.")
    assert count_events(chronicle.db_path) == before
    assert [c.name for c in await chronicle.engine.reads.list_characters(str(w.guild.id))] == ["Aria"]
