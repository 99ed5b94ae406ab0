"""Names that look alike or can't be seen, through the engine on both backends: a look-alike of a character,
place, lorebook or (for a persona) character name is refused naming the one it looks like; a look-alike typed
to find something finds the one existing; names with nothing visible are refused; an old log that already
holds look-alikes still opens, reprojects and checks clean. Also the skeleton itself and its data."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest

from engine import Actor, DomainError, Engine, InvalidInput
from engine.commands import (
    AddLoreEntry,
    AuthorCharacter,
    CreatePlace,
    EditCharacter,
    ImportCharacter,
    ImportLorebook,
    SetPersona,
    StartChat,
)
from engine.events import CharacterAuthored, LorebookCreated, PlaceCreated
from engine.lore.model import Lorebook
from engine.names import is_visible, look_key, looks_alike, name_key, skeleton
from engine.projection import online
from engine.projection.projector import VERSION
from engine.store import NewEvent, Stamp, append, stream_version
from engine.table import Upload
from tests.conftest import begin_write, count_events, raw_connection, story

CYRILLIC_ARIA = "\u0410ria"  # А (CYRILLIC CAPITAL LETTER A) + "ria": prints exactly like "Aria"
INVISIBLE = {
    "zero width space": "\u200b",
    "word joiner": "\u2060",
    "byte order mark": "\ufeff",
    "Hangul filler": "\u3164",
    "Hangul choseong filler": "\u115f",
    "braille pattern blank": "\u2800",
    "soft hyphen": "\u00ad",
    "combining marks alone": "\u0301\u0308",
    "variation selector": "\ufe0f",
    "ideographic space and a zero width joiner": "\u3000\u200d",
    "tag characters": "\U000e0041\U000e0042",
}


# --- the skeleton -----------------------------------------------------------------------------------

def test_the_skeleton_maps_look_alikes_to_one_prototype():
    assert skeleton(CYRILLIC_ARIA) == skeleton("Aria") == "Aria"
    assert skeleton("\U0001d41a\U0001d42b\U0001d422\U0001d41a") == "aria"  # mathematical bold 𝐚𝐫𝐢𝐚
    assert skeleton("Emma") == "Ernrna"  # confusables.txt: m looks like rn
    assert skeleton("Ar\u200bia") == "Aria"  # default ignorable characters are left out


@pytest.mark.parametrize(("a", "b"), [
    ("Aria", CYRILLIC_ARIA), ("Aria", "ARIA"), ("Aria", "Ar\u200bia"), ("Aria", "Ａｒｉａ"), ("Aria", "A\u00adria"),
    ("Bram", "\u0412ram"), ("Al", "AI"), ("Ai", "AI"), ("Iris", "IRIS"), ("Hans", "\u0397ans"), ("Bob", "B0b"),
])
def test_names_that_look_alike_or_differ_only_by_case_clash(a: str, b: str):
    assert looks_alike(a, b)


@pytest.mark.parametrize(("a", "b"), [
    ("Ian", "Lan"), ("Lia", "Ila"), ("Eli", "Ell"), ("Al", "Ai"), ("Zoë", "Zoe"), ("Aria Vale", "AriaVale"),
])
def test_names_that_read_differently_do_not_clash(a: str, b: str):
    """A capital I is drawn like an l, but folding case after mapping it would make every i an l."""
    assert not looks_alike(a, b)


def test_the_keys_are_stable_for_every_character_unicode_maps():
    data = (resources.files("engine") / "data/skeleton.tsv").read_text("ascii").splitlines()
    sources = [chr(int(line.split("\t")[1], 16)) for line in data if line.startswith("map\t")]
    assert len(sources) > 6000 and "\u0430" in sources  # the whole of confusables.txt, Cyrillic а included
    for char in sources:
        assert name_key(name_key(char)) == name_key(char)
        assert look_key(look_key(char)) == look_key(char)


def test_the_name_key_ignores_case():
    for name in ("Iris", "Emma", "Ян", "Ὀδυσσεύς", "Straße", "Aria Vale"):
        assert name_key(name.upper()) == name_key(name.lower()) == name_key(name)


@pytest.mark.parametrize("label", sorted(INVISIBLE))
def test_nothing_in_these_names_counts_as_visible(label: str):
    assert not any(is_visible(c) for c in INVISIBLE[label])


def test_letters_digits_symbols_and_marked_letters_are_visible():
    assert all(any(is_visible(c) for c in name) for name in ("a", "7", "é", "e\u0301", "🎲", "漢", "ㄱ", "-"))


# --- through the engine -------------------------------------------------------------------------------

async def test_a_look_alike_character_name_is_refused_naming_the_one_it_looks_like(engine: Engine, admin: Actor,
                                                                                   location: str):
    await engine.perform(AuthorCharacter(actor=admin, name="Aria", description="A wandering bard."))
    await engine.perform(AuthorCharacter(actor=admin, name="Bram", description="A quiet smith."))
    before = count_events(location)
    with pytest.raises(DomainError) as refused:
        await engine.perform(AuthorCharacter(actor=admin, name=CYRILLIC_ARIA, description="An impostor."))
    assert str(refused.value) == ("'\u0410ria' looks like the existing character 'Aria'; "
                                  "choose a name that reads differently.")
    for look_alike in ("aria", "\u0412ram", "Ar\u2060ia"):
        with pytest.raises(DomainError, match="looks like the existing character"):
            await engine.perform(AuthorCharacter(actor=admin, name=look_alike, description="An impostor."))
    with pytest.raises(DomainError, match="'\u0410ria' looks like the existing character 'Aria'"):
        await engine.perform(EditCharacter(actor=admin, name="Bram", field="name", value=CYRILLIC_ARIA))
    card = json.dumps({"spec": "chara_card_v2", "spec_version": "2.0",
                       "data": {"name": CYRILLIC_ARIA, "description": "An imported impostor."}}).encode()
    with pytest.raises(DomainError, match="looks like the existing character 'Aria'; import it with name:"):
        await engine.perform(ImportCharacter(actor=admin, file=Upload(filename="aria.json", data=card)))
    assert count_events(location) == before
    renamed = await engine.perform(EditCharacter(actor=admin, name="Aria", field="name", value="ARIA"))  # its own name in capitals: no one else's
    assert renamed.name == "ARIA"


async def test_a_look_alike_typed_to_find_something_finds_the_one_existing(engine: Engine, admin: Actor):
    await story(engine, admin, guest=False)  # Aria, Bram, a story in chan-1 at the Tavern
    assert (await engine.reads.get_character(admin.guild_id, "\u0412ram")).name == "Bram"
    chat = await engine.perform(StartChat(actor=admin, channel_id="chan-2", character=CYRILLIC_ARIA))
    assert chat.host_id == (await engine.reads.get_character(admin.guild_id, "Aria")).character_id
    cellar = await engine.perform(CreatePlace(actor=admin, channel_id="chan-1", name="Cellar", description="", parent="T\u0430vern"))  # Cyrillic а
    places = {p.name: p for p in await engine.reads.list_places((await engine.reads.get_chat("chan-1")).chat_id)}
    assert sorted(places) == ["Cellar", "Tavern"] and cellar.parent_id == places["Tavern"].place_id
    with pytest.raises(DomainError, match="'T\u0430vern' looks like the existing place 'Tavern'"):
        await engine.perform(CreatePlace(actor=admin, channel_id="chan-1", name="T\u0430vern", description=""))


async def test_a_persona_can_not_pass_for_a_character(engine: Engine, admin: Actor, player: Actor):
    await engine.perform(AuthorCharacter(actor=admin, name="Aria", description="A wandering bard."))
    with pytest.raises(DomainError) as refused:
        await engine.perform(SetPersona(actor=player, name=CYRILLIC_ARIA, description="Someone pretending."))
    assert str(refused.value) == ("'\u0410ria' looks like the existing character 'Aria'; "
                                  "choose a persona name that reads differently.")
    with pytest.raises(DomainError, match="'Aria' is a character here; choose a persona name"):
        await engine.perform(SetPersona(actor=player, name="Aria", description="Someone pretending."))
    assert (await engine.perform(SetPersona(actor=player, name="Arian", description="A cousin."))).name == "Arian"


async def test_a_look_alike_lorebook_is_refused_and_a_look_alike_typed_finds_the_book(engine: Engine, admin: Actor):
    await engine.perform(AddLoreEntry(actor=admin, book="Eldoria", keys=("castle",), content="The castle stands on a hill."))
    book = json.dumps({"name": "\u0415ldoria", "entries": [{"keys": ["x"], "content": "y"}]}).encode()
    with pytest.raises(DomainError, match="'\u0415ldoria' looks like the existing lorebook 'Eldoria'"):
        await engine.perform(ImportLorebook(actor=admin, file=Upload(filename="book.json", data=book)))
    entry = await engine.perform(AddLoreEntry(actor=admin, book="\u0415LDORIA", keys=("gate",), content="The gate is old."))
    assert entry.book_name == "Eldoria" and [b.name for b in await engine.reads.list_lorebooks(admin.guild_id)] == ["Eldoria"]


@pytest.mark.parametrize("label", sorted(INVISIBLE))
async def test_a_name_with_nothing_visible_is_refused(engine: Engine, admin: Actor, location: str, label: str):
    name = INVISIBLE[label]
    await story(engine, admin, guest=False)
    before = count_events(location)
    card = json.dumps({"spec": "chara_card_v2", "spec_version": "2.0",
                       "data": {"name": name, "description": "Nobody."}}).encode()
    attempts = [lambda: engine.perform(AuthorCharacter(actor=admin, name=name, description="Nobody.")),
                lambda: engine.perform(EditCharacter(actor=admin, name="Aria", field="name", value=name)),
                lambda: engine.perform(SetPersona(actor=admin, name=name, description="")),
                lambda: engine.perform(CreatePlace(actor=admin, channel_id="chan-1", name=name, description="")),
                lambda: engine.perform(ImportCharacter(actor=admin, file=Upload(filename="nobody.json", data=card))),
                lambda: engine.perform(AddLoreEntry(actor=admin, book=name, keys=("x",), content="y"))]
    for attempt in attempts:
        with pytest.raises(InvalidInput, match="has no visible character"):
            await attempt()
    assert count_events(location) == before


# --- an old log that already holds look-alikes ----------------------------------------------------------

def _old_look_alikes(admin: Actor, chat_id: str) -> Any:
    """What old deciders let through: a second Aria, Tavern and Eldoria spelled with Cyrillic letters."""

    def write(conn: Any) -> None:
        stamp = Stamp("2026-01-01T00:00:00+00:00")
        guild, chat = f"guild:{admin.guild_id}", f"chat:{chat_id}"
        guild_events = [CharacterAuthored(character_id="chr_old", guild_id=admin.guild_id, name=CYRILLIC_ARIA,
                                    description="A second Aria.", author_id=admin.user_id),
                        LorebookCreated(book_id="lb_old", guild_id=admin.guild_id, author_id=admin.user_id,
                                        book=Lorebook(name="\u0415ldoria"))]
        append(conn, guild, stream_version(conn, guild), [NewEvent(e, admin.guild_id, admin.user_id)
                                                          for e in guild_events], stamp=stamp)
        place = PlaceCreated(chat_id=chat_id, place_id="plc_old", name="T\u0430vern")
        append(conn, chat, stream_version(conn, chat), [NewEvent(place, admin.guild_id, admin.user_id)], stamp=stamp)

    return write


def _as_before_this_change(location: str) -> None:
    """The database as the previous release left it: no look_key columns, migration 0008 not applied,
    the projection at version 2."""
    conn = raw_connection(location)
    try:
        begin_write(conn)
        for table in ("characters", "places", "lorebooks"):
            for index in (f"{table}_look", f"{table}_look__r"):
                conn.execute(f"DROP INDEX IF EXISTS {index}")
            conn.execute(f"ALTER TABLE {table} DROP COLUMN look_key")
        conn.execute("DELETE FROM schema_migrations WHERE version = 8")
        conn.execute("UPDATE projection_meta SET value = '2' WHERE name = 'version'")
        conn.execute("COMMIT")
    finally:
        conn.close()


async def test_an_old_log_holding_look_alikes_opens_reprojects_and_checks_clean(admin: Actor, location: str):
    engine = await Engine.open(location)
    try:
        chat_id = await story(engine, admin, guest=False)
        await engine.perform(AddLoreEntry(actor=admin, book="Eldoria", keys=("castle",), content="The castle stands on a hill."))
        await engine.db.write(_old_look_alikes(admin, chat_id))  # appended, not yet projected
    finally:
        await engine.close()
    _as_before_this_change(location)

    engine = await Engine.open(location)  # migrates, catches up and reprojects at projection version 3
    try:
        assert await engine.db.read(online.stored_version) == VERSION
        assert (await engine.maintenance.check()).clean
        assert (await engine.reads.get_character(admin.guild_id, "Aria")).description == "A wandering bard."
        assert (await engine.reads.get_character(admin.guild_id, "ARIA")).description == "A wandering bard."
        assert (await engine.reads.get_character(admin.guild_id, CYRILLIC_ARIA)).character_id == "chr_old"  # spelled so
        assert sorted(c.name for c in await engine.reads.list_characters(admin.guild_id)) == ["Aria", "Bram", CYRILLIC_ARIA]
        assert sorted(p.name for p in await engine.reads.list_places(chat_id)) == ["Tavern", "T\u0430vern"]
        assert (await engine.reads.lorebook(admin.guild_id, "eldoria"))[0].name == "Eldoria"
        await engine.maintenance.rebuild()
        assert (await engine.maintenance.check()).clean
        with pytest.raises(DomainError, match="looks like the existing character 'Aria'"):
            await engine.perform(AuthorCharacter(actor=admin, name="\u0391ria", description="A third, with a Greek Alpha."))
    finally:
        await engine.close()
