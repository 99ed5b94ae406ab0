"""Lore keys through the engine, on both backends: a regex key that can't run safely is refused when written or
imported (nothing recorded), one already in the log never matches and the inspector says why, entries not
decided in the time budget are reported, and a story's card books are listed."""

from __future__ import annotations

import copy
import json
from collections.abc import Awaitable
from dataclasses import replace

import pytest

from engine import Actor, CardBookView, Engine, InvalidInput
from engine.commands import (
    AddLoreEntry,
    AttachLorebook,
    EditLoreEntry,
    ImportCharacter,
    ImportLorebook,
    InspectPrompt,
    SayLine,
    StartChat,
    ToggleLoreEntry,
)
from engine.events import LoreEntryWritten
from engine.lore import LoreEntry
from engine.narrator.context import load_inputs, with_lore
from engine.narrator.lore import NO_LORE
from engine.table import Upload
from tests.conftest import begin_write, count_events, raw_connection, story
from tests.engine.cards.builders import V2, dump

BACKREFERENCE = "entry {n}, key '/(a)\\1/': backreferences are not supported; write the key without them."


async def _refused(write: Awaitable[object]) -> str:
    """The one line a write was refused with."""
    with pytest.raises(InvalidInput) as caught:
        await write
    assert "\n" not in str(caught.value)
    return str(caught.value)


async def _dropped(engine: Engine) -> tuple[dict[str, str], list[str]]:
    """(entry → drop reason, entries in) of chan-1's next prompt, as the inspector shows them."""
    inspector = Actor(user_id="inspector", guild_id="guild-1", is_admin=True)
    prompt = await engine.perform(InspectPrompt(actor=inspector, channel_id="chan-1"))
    return ({entry: reason for _, entry, reason in prompt.lore.dropped},
            [entry for _, entry, _ in prompt.lore.active])


async def test_a_key_re2_refuses_is_refused_when_written_or_imported_and_nothing_is_recorded(
        engine: Engine, admin: Actor, location: str) -> None:
    before = count_events(location)
    added = engine.perform(AddLoreEntry(actor=admin, book="Evil", keys=("evil", "/(a)\\1/"), content="x"))
    assert await _refused(added) == BACKREFERENCE.format(n=1)
    assert count_events(location) == before and await engine.reads.list_lorebooks(admin.guild_id) == []
    await engine.perform(AddLoreEntry(actor=admin, book="Evil", keys=("/(a+)+$/",), content="linear under RE2"))
    after_first = count_events(location)
    huge = await _refused(engine.perform(AddLoreEntry(actor=admin, book="Evil", keys=("/x{2000}/",), content="x")))
    assert huge.startswith("entry 2, key '/x{2000}/': a repeat count above 1,000")
    edited = engine.perform(EditLoreEntry(actor=admin, book="Evil", entry=1, secondary_keys=("/(a)\\1/",)))
    assert await _refused(edited) == BACKREFERENCE.format(n=1)
    world_info = {"entries": {"0": {"key": ["calm"], "content": "x"},
                              "1": {"key": ["/(?<=sir )knight/"], "content": "y"}}}
    imported = engine.perform(ImportLorebook(actor=admin, file=Upload(filename="Knights.json", data=json.dumps(world_info).encode())))
    assert await _refused(imported) == (
        "Can't import the lorebook: entry 2, key '/(?<=sir )knight/': lookbehind ((?<=…) or (?<!…)) is not "
        "supported; write the key without it, then import it again.")
    card = copy.deepcopy(V2)
    card["data"]["character_book"]["entries"][0]["keys"] = ["/dragon(?!fly)/"]
    refused_card = await _refused(engine.perform(ImportCharacter(actor=admin, file=Upload(filename="sera.json", data=dump(card)))))
    assert refused_card.startswith("Can't import the card: its lorebook's entry 1, key '/dragon(?!fly)/': lookahead")
    assert count_events(location) == after_first


def _append_old_entry(location: str, admin: Actor, book_id: str, number: int, entry: LoreEntry) -> None:
    """Write a lore_entry_written straight into the log, as a version of Chronicle that checked no keys did."""
    conn = raw_connection(location)
    begin_write(conn)
    stream = f"guild:{admin.guild_id}"
    version = conn.execute("SELECT MAX(stream_version) FROM events WHERE stream = ?", (stream,)).fetchone()[0]
    payload = LoreEntryWritten(book_id=book_id, guild_id=admin.guild_id, number=number, entry=entry)
    conn.execute("INSERT INTO events (stream, stream_version, kind, version, chat_id, guild_id, actor_id, payload,"
                 " recorded_at) VALUES (?, ?, 'lore_entry_written', 1, NULL, ?, ?, ?, '2025-01-01T00:00:00+00:00')",
                 (stream, version + 1, admin.guild_id, admin.user_id, payload.model_dump_json()))
    conn.execute("COMMIT")
    conn.close()


async def test_a_key_in_the_log_that_is_now_refused_never_matches_and_the_inspector_says_why(
        engine: Engine, admin: Actor, location: str) -> None:
    await story(engine, admin)
    good = await engine.perform(AddLoreEntry(actor=admin, book="Old", keys=("dragon",), content="Dragons sleep.", comment="good"))
    await engine.perform(AttachLorebook(actor=admin, channel_id="chan-1", book="Old"))
    evil = LoreEntry(keys=("/(?<!sea )dragon/",), content="Python's re took this.", comment="lookbehind")
    _append_old_entry(location, admin, good.book_id, 2, evil)
    await engine.maintenance.catch_up()
    await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id="m1", text="A dragon!"))
    assert await _dropped(engine) == ({"#2 lookbehind": "unsupported key"}, ["#1 good"])
    assert (await engine.reads.lorebook(admin.guild_id, "Old"))[1][1].entry.keys == ("/(?<!sea )dragon/",)
    edited = await _refused(engine.perform(EditLoreEntry(actor=admin, book="Old", entry=2, content="Only the text changes.")))
    assert edited.startswith("entry 2, key '/(?<!sea )dragon/': lookbehind")
    await engine.perform(ToggleLoreEntry(actor=admin, book="Old", entry=2))  # switching it off needs no valid key
    assert await _dropped(engine) == ({}, ["#1 good"])
    assert (await engine.maintenance.check()).clean


async def test_entries_not_decided_within_the_time_budget_are_reported_timed_out(engine: Engine,
                                                                                admin: Actor) -> None:
    await story(engine, admin)
    await engine.perform(AddLoreEntry(actor=admin, book="Clock", keys=("dragon",), content="Dragons sleep.", comment="keyed"))
    await engine.perform(AddLoreEntry(actor=admin, book="Clock", keys=("x",), constant=True, content="Always.", comment="always"))
    await engine.perform(AttachLorebook(actor=admin, channel_id="chan-1", book="Clock"))
    await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id="m1", text="A dragon!"))
    assert await _dropped(engine) == ({}, ["#1 keyed", "#2 always"])
    engine.budget = replace(engine.budget, lore_seconds=0)
    assert await _dropped(engine) == ({"#1 keyed": "timed out"}, ["#2 always"])


async def test_the_reader_only_reads_the_books_and_lore_is_activated_after(engine: Engine, admin: Actor) -> None:
    """Matching is never done on the database's reader thread, which every channel's reads share."""
    await story(engine, admin)
    await engine.perform(AddLoreEntry(actor=admin, book="Read", keys=("dragon",), content="Dragons sleep."))
    await engine.perform(AttachLorebook(actor=admin, channel_id="chan-1", book="Read"))
    await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id="m1", text="A dragon!"))
    chat = await engine.reads.get_chat("chan-1")
    read = await engine.db.read(lambda c: load_inputs(c, chat, chat.host_id, lore_budget=500))
    assert read.lore == NO_LORE and [s.title for s in read.lore_sources] == ["Read"] and read.line_count == 1
    activated = await with_lore(read, 1.0)
    assert [entry for _, entry, _ in activated.lore.active] == ["#1 dragon"]


async def test_the_books_in_a_storys_cards_are_listed_read_only(engine: Engine, admin: Actor) -> None:
    await story(engine, admin)
    await engine.perform(ImportCharacter(actor=admin, file=Upload(filename="sera.json", data=dump(V2))))
    assert await engine.reads.story_card_books(admin.guild_id, "chan-2") == []  # no story there yet
    await engine.perform(StartChat(actor=admin, channel_id="chan-2", character="Seraphina", guest="Aria"))
    assert await engine.reads.story_card_books(admin.guild_id, "chan-2") == [CardBookView("Seraphina", "Sera's book", 1)]
    assert await engine.reads.story_card_books(admin.guild_id, "chan-1") == []  # Aria and Bram have no book of their own
    assert await engine.reads.story_card_books("another-guild", "chan-2") == []
    assert await engine.reads.list_lorebooks(admin.guild_id) == []  # a card's book is not a server book
