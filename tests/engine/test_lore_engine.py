"""Lorebooks through the engine: commands, lore in real prompts (exactly when its keywords come up), the
inspector's drops with reasons, knowledge following presence, and replay."""

from __future__ import annotations

import copy
import json

import pytest

from engine import Actor, DomainError, Engine, InvalidInput, NotFound, PermissionDenied
from engine.commands import (
    AddLoreEntry,
    AttachLorebook,
    DetachLorebook,
    EditCharacter,
    EditLoreEntry,
    ExportLorebook,
    ImportCharacter,
    ImportLorebook,
    InspectPrompt,
    RemoveLoreEntry,
    RewindChat,
    SayLine,
    StartChat,
    ToggleLoreEntry,
)
from engine.lore import parse_lorebook
from engine.table import Upload
from tests.conftest import count_events, dump_world, story
from tests.engine.cards.builders import V2, dump

WORLD_INFO = {"entries": {
    "0": {"uid": 0, "key": ["dragon"], "content": "Dragons sleep under the Eldorian hills.", "comment": "dragons"},
    "1": {"uid": 1, "key": ["vault"], "content": "The vault code is 1234.", "comment": "vault code",
          "extensions": {"chronicle": {"characters": ["Aria"]}}},
    "2": {"uid": 2, "key": ["moon"], "content": "The moon is made of glass.", "comment": "moon", "disable": True},
    "3": {"uid": 3, "key": ["dragon"], "content": "A dice-rolled rumour.", "comment": "rumour", "probability": 0,
          "useProbability": True},
}}


async def _world(engine: Engine, admin: Actor) -> str:
    """Aria and Bram in a story in chan-1 with Eldoria attached."""
    chat_id = await story(engine, admin)
    await engine.perform(ImportLorebook(actor=admin, file=Upload(filename="Eldoria.json", data=json.dumps(WORLD_INFO).encode())))
    await engine.perform(AttachLorebook(actor=admin, channel_id="chan-1", book="Eldoria"))
    return chat_id


async def _lore(engine: Engine, character: str | None = None) -> tuple[str, dict[str, str], list[str]]:
    """(the system message, dropped entry → reason, entries in) of the next prompt."""
    inspector = Actor(user_id="inspector", guild_id="guild-1", is_admin=True)
    prompt = await engine.perform(InspectPrompt(actor=inspector, channel_id="chan-1", character=character))
    dropped = {entry.split(" ", 1)[1]: reason for _, entry, reason in prompt.lore.dropped}
    return prompt.messages[0].content, dropped, [entry.split(" ", 1)[1] for _, entry, _ in prompt.lore.active]


async def test_lore_is_in_the_prompt_exactly_while_its_keyword_is_in_the_recent_lines(engine: Engine,
                                                                                    admin: Actor) -> None:
    await _world(engine, admin)
    system, dropped, active = await _lore(engine)
    assert "Dragons sleep" not in system and active == [] and dropped == {}
    await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id="m1", text="Tell me about the dragon."))
    system, dropped, active = await _lore(engine)
    assert "# Lore\nDragons sleep under the Eldorian hills." in system and active == ["dragons"]
    assert dropped == {"rumour": "probability"}
    for n in range(2, 4):  # the default scan depth is the last two lines
        await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id=f"m{n}", text="Nothing to see."))
    system, dropped, active = await _lore(engine)
    assert "Dragons sleep" not in system and active == [] and dropped == {}


async def test_the_inspector_lists_every_drop_with_its_reason(engine: Engine, admin: Actor) -> None:
    await _world(engine, admin)
    await engine.perform(AddLoreEntry(actor=admin, book="Eldoria", keys=("dragon",), content="word " * 400, comment="too long"))
    await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id="m1", text="A dragon, the vault and the moon!"))
    _, dropped, active = await _lore(engine, "Bram")
    assert active == ["dragons"]
    assert dropped == {"vault code": "not present", "moon": "disabled", "rumour": "probability",
                       "too long": "over budget"}


async def test_a_secret_entry_reaches_only_its_character(engine: Engine, admin: Actor) -> None:
    await _world(engine, admin)
    await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id="m1", text="What opens the vault?"))
    aria, _, aria_in = await _lore(engine, "Aria")
    bram, bram_dropped, bram_in = await _lore(engine, "Bram")
    assert "The vault code is 1234." in aria and aria_in == ["vault code"]
    assert "1234" not in bram and bram_in == [] and bram_dropped == {"vault code": "not present"}


async def test_books_of_a_character_and_of_its_card_reach_only_its_prompts(engine: Engine, admin: Actor) -> None:
    await story(engine, admin)
    await engine.perform(AddLoreEntry(actor=admin, book="Smithing", keys=("anvil",), content="Bram's anvil is enchanted."))
    await engine.perform(AttachLorebook(actor=admin, channel_id="chan-1", book="Smithing", character="Bram"))
    await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id="m1", text="Look at that anvil."))
    assert (await _lore(engine, "Bram"))[2] == ["anvil"] and (await _lore(engine, "Aria"))[2] == []
    card = copy.deepcopy(V2)
    card["data"]["character_book"]["entries"][0]["extensions"]["useProbability"] = False  # no dice in this test
    await engine.perform(ImportCharacter(actor=admin, file=Upload(filename="sera.json", data=dump(card))))
    await engine.perform(StartChat(actor=admin, channel_id="chan-2", character="Seraphina"))
    await engine.perform(SayLine(actor=admin, channel_id="chan-2", message_id="m2", text="Into the forest we go."))
    prompt = await engine.perform(InspectPrompt(actor=admin, channel_id="chan-2"))
    assert "The forest is enchanted." in prompt.messages[0].content
    assert prompt.lore.active == (("Sera's book", "#1 forest", 8),)


async def test_sticky_and_cooldown_are_derived_from_the_transcript(engine: Engine, admin: Actor) -> None:
    await story(engine, admin)
    await engine.perform(AddLoreEntry(actor=admin, book="Ghosts", keys=("ghost",), content="Ghosts walk here.", sticky=1, cooldown=2, scan_depth=1))
    await engine.perform(AttachLorebook(actor=admin, channel_id="chan-1", book="Ghosts"))
    seen = []
    for n, text in enumerate(["a ghost", "quiet", "a ghost", "a ghost", "a ghost"]):
        await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id=f"m{n}", text=text))
        _, dropped, active = await _lore(engine)
        seen.append("in" if active else dropped.get("ghost", "out"))
    assert seen == ["in", "in", "cooldown", "cooldown", "in"]
    again = [await _lore(engine) for _ in range(2)]
    assert again[0] == again[1]  # the same prompt always gets the same lore


async def test_entry_commands_edit_toggle_remove_and_permissions(engine: Engine, admin: Actor, player: Actor,
                                                                 location: str) -> None:
    added = await engine.perform(AddLoreEntry(actor=admin, book="Notes", keys=("inn",), content="The inn is warm.", characters=("Aria",), probability=50))
    assert (added.number, added.entry.use_probability, added.entry.characters) == (1, True, ("Aria",))
    second = await engine.perform(AddLoreEntry(actor=admin, book="Notes", keys=("road",), content="The road is long."))
    edited = await engine.perform(EditLoreEntry(actor=admin, book="Notes", entry=1, content="The inn is cold."))
    assert (second.number, edited.entry.content, edited.entry.keys) == (2, "The inn is cold.", ("inn",))
    assert not (await engine.perform(ToggleLoreEntry(actor=admin, book="Notes", entry=1))).entry.enabled
    await engine.perform(RemoveLoreEntry(actor=admin, book="Notes", entry=2))
    third = await engine.perform(AddLoreEntry(actor=admin, book="Notes", keys=("bridge",), content="A bridge."))
    assert third.number == 3  # numbers are never given out twice
    book, entries = await engine.reads.lorebook(admin.guild_id, "notes")
    assert (book.entries, [v.number for v in entries]) == (2, [1, 3])
    before = count_events(location)
    with pytest.raises(PermissionDenied, match="author of 'Notes'"):
        await engine.perform(ToggleLoreEntry(actor=player, book="Notes", entry=1))
    with pytest.raises(NotFound, match="has no entry 2"):
        await engine.perform(EditLoreEntry(actor=admin, book="Notes", entry=2, content="x"))
    with pytest.raises(InvalidInput, match="keys: give at least one keyword"):
        await engine.perform(AddLoreEntry(actor=admin, book="Notes", keys=(), content="No keys."))
    with pytest.raises(InvalidInput, match="content"):
        await engine.perform(AddLoreEntry(actor=admin, book="Fresh", keys=("x",), content=" "))
    assert count_events(location) == before and [b.name for b in await engine.reads.list_lorebooks(admin.guild_id)] == [
        "Notes"]


async def test_attaching_twice_detaching_and_a_rewind_undoing_an_attachment(engine: Engine, admin: Actor,
                                                                            player: Actor) -> None:
    await _world(engine, admin)
    with pytest.raises(DomainError, match="already attached to this story"):
        await engine.perform(AttachLorebook(actor=admin, channel_id="chan-1", book="Eldoria"))
    with pytest.raises(PermissionDenied, match="started this story"):
        await engine.perform(DetachLorebook(actor=player, channel_id="chan-1", book="Eldoria"))
    await engine.perform(DetachLorebook(actor=admin, channel_id="chan-1", book="Eldoria"))
    assert (await engine.reads.lorebook(admin.guild_id, "Eldoria"))[0].channels == ()
    await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id="m1", text="before"))
    await engine.perform(AttachLorebook(actor=admin, channel_id="chan-1", book="Eldoria"))
    assert (await engine.reads.lorebook(admin.guild_id, "Eldoria"))[0].channels == ("chan-1",)
    await engine.perform(RewindChat(actor=admin, channel_id="chan-1", messages=1))
    assert (await engine.reads.lorebook(admin.guild_id, "Eldoria"))[0].channels == ()


async def test_importing_books_names_clashes_and_bad_files(engine: Engine, admin: Actor, location: str) -> None:
    book = await engine.perform(ImportLorebook(actor=admin, file=Upload(filename="Eldoria.json", data=json.dumps(WORLD_INFO).encode())))
    assert (book.name, book.entries) == ("Eldoria", 4)
    from_card = await engine.perform(ImportLorebook(actor=admin, file=Upload(filename="sera.json", data=dump(V2))))
    assert (from_card.name, from_card.entries) == ("Sera's book", 1)
    before = count_events(location)
    with pytest.raises(DomainError, match="replace:true"):
        await engine.perform(ImportLorebook(actor=admin, file=Upload(filename="Eldoria.json", data=json.dumps(WORLD_INFO).encode())))
    for data, expected in [(b"hello", "is not a JSON file"), (b"{", "is broken"), (b"[1]", "not a lorebook"),
                           (b" " * (10 * 1024 * 1024 + 1), "the limit is 10 MB")]:
        with pytest.raises(InvalidInput, match=expected):
            await engine.perform(ImportLorebook(actor=admin, file=Upload(filename="bad.json", data=data)))
    assert count_events(location) == before
    replaced = await engine.perform(ImportLorebook(actor=admin, file=Upload(filename="Eldoria.json", data=json.dumps({"entries": {}}).encode()), replace=True))
    assert replaced.book_id == book.book_id and replaced.entries == 0


async def test_a_book_exports_as_it_was_imported(engine: Engine, admin: Actor) -> None:
    await engine.perform(ImportLorebook(actor=admin, file=Upload(filename="Eldoria.json", data=json.dumps(WORLD_INFO).encode())))
    name, data = await engine.perform(ExportLorebook(actor=admin, book="Eldoria"))
    assert name == "Eldoria"
    assert parse_lorebook(data, "x.json") == parse_lorebook(json.dumps(WORLD_INFO).encode(), "Eldoria.json")


async def test_replay_after_imports_and_lore_edits_equals_live(engine: Engine, admin: Actor, location: str) -> None:
    await _world(engine, admin)
    await engine.perform(ImportCharacter(actor=admin, file=Upload(filename="sera.json", data=dump(V2))))
    await engine.perform(AddLoreEntry(actor=admin, book="Eldoria", keys=("ship",), content="Ships sail east."))
    await engine.perform(ToggleLoreEntry(actor=admin, book="Eldoria", entry=2))
    await engine.perform(RemoveLoreEntry(actor=admin, book="Eldoria", entry=3))
    await engine.perform(AttachLorebook(actor=admin, channel_id="chan-1", book="Eldoria", character="Bram"))
    await engine.perform(DetachLorebook(actor=admin, channel_id="chan-1", book="Eldoria", character="Bram"))
    await engine.perform(AttachLorebook(actor=admin, channel_id="chan-1", book="Eldoria", character="Aria"))
    await engine.perform(EditCharacter(actor=admin, name="Seraphina", field="personality", value="stern"))
    assert (await engine.maintenance.check()).clean
    live = dump_world(location)
    assert live["lore_entries"] and live["lore_chat_books"] and live["lore_character_books"]
    await engine.maintenance.rebuild()
    assert dump_world(location) == live


async def test_what_the_newest_line_asks_about_beats_what_the_greeting_mentioned(engine: Engine, admin: Actor) -> None:
    """Seraphina's case: two entries of equal order that don't both fit; the person asks about Eldoria, the greeting
    mentioned the beasts: Eldoria's entry goes in."""
    card = copy.deepcopy(V2)
    lore = "word " * 100
    card["data"]["first_mes"] = "Rest now, {{user}}. The beasts of the forest will not find you here."
    card["data"]["character_book"] = {"name": "Sera's world", "scan_depth": 4, "entries": [
        {"id": 1, "keys": ["beasts"], "content": f"Shadowy beasts roam the forest. {lore}", "enabled": True,
         "insertion_order": 100},
        {"id": 2, "keys": ["eldoria"], "content": f"Eldoria is the realm of the glade. {lore}", "enabled": True,
         "insertion_order": 100}]}
    await engine.perform(ImportCharacter(actor=admin, file=Upload(filename="sera.json", data=dump(card))))
    await engine.perform(StartChat(actor=admin, channel_id="chan-2", character="Seraphina"))
    prompt = await engine.perform(InspectPrompt(actor=admin, channel_id="chan-2", line="Where am I? What is Eldoria?"))
    assert "Eldoria is the realm of the glade." in prompt.messages[0].content
    assert "Shadowy beasts" not in prompt.messages[0].content
    assert [(d[1], d[2]) for d in prompt.lore.dropped] == [("#1 beasts", "over budget")]
