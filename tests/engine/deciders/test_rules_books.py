"""The rules of lorebooks and their entries: anyone imports a book under a free name or starts one with its first
entry; only the book's author or an admin replaces it, or adds, edits, removes and switches its entries. An entry
needs text, and keywords unless it is constant."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest

from engine.commands import AddLoreEntry, EditLoreEntry, ImportLorebook, RemoveLoreEntry, ToggleLoreEntry
from engine.deciders.lore import EntryState
from engine.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from engine.lore.model import Lorebook, LoreEntry
from engine.views import LorebookView, LoreEntryView
from tests.engine.deciders.test_rules import ADMIN, MEMBER, STARTER, STRANGER, decide

BOOK = LorebookView(book_id="book_1", guild_id="g", name="Eldoria", author_id=STARTER.user_id, entries=2)
ELVES = LoreEntry(keys=("elf",), content="Elves live in the forest.", probability=50, use_probability=True)
SECOND = LoreEntryView(book_id="book_1", book_name="Eldoria", number=2, entry=ELVES)
HAS_TWO = EntryState(BOOK, SECOND, 3)
NO_BOOK = "There is no lorebook named 'Eldoria' in this server. See /lore list."
NO_ENTRY = "'Eldoria' has no entry 9. /lore show book:Eldoria lists its entries."
NOT_YOURS = "Only the author of 'Eldoria' or a server admin can change it."


def refused(outcome: str, error: Any = (PermissionDenied, DomainError, NotFound, InvalidInput)) -> Any:
    """The refusal whose one line starts with `outcome`."""
    return pytest.raises(error, match="^" + re.escape(outcome))


# --- importing a book --------------------------------------------------------------------------------------------

UPLOAD = {"filename": "eldoria.json", "data": b"{}"}
FILE = Lorebook(name="Eldoria", entries=(LoreEntry(keys=("dragon",), content="Dragons."), ELVES))


@pytest.mark.parametrize(("actor", "fields", "taken", "outcome"), [
    (MEMBER, {}, None, ("lb_new", MEMBER.user_id)),
    (STRANGER, {}, None, ("lb_new", STRANGER.user_id)),
    (STARTER, {"replace": True}, BOOK, ("book_1", STARTER.user_id)),
    (ADMIN, {"replace": True}, BOOK, ("book_1", STARTER.user_id)),  # the book keeps its author
    (MEMBER, {"replace": True}, BOOK, NOT_YOURS),
    (MEMBER, {}, BOOK, "A lorebook named 'Eldoria' already exists here. Import again with replace:true"),
    (MEMBER, {"book": FILE.model_copy(update={"name": "Eld\u043eria"})}, BOOK,
     "'Eld\u043eria' looks like the existing lorebook 'Eldoria'; import it with name:…"),
    (MEMBER, {"book": None}, None, "file: the lorebook file was not read; import it again."),
    (MEMBER, {"book": FILE.model_copy(update={"name": None})}, None, "This lorebook has no name: give it one with "
                                                                      "name:…."),
    (MEMBER, {"book": FILE.model_copy(update={"name": "N" * 101})}, None,  # a card's name, from a card file
     "lorebook: a lorebook needs a name of 1 to 100 characters."),
], ids=["new", "new in another server", "replaced by its author", "replaced by an admin", "replaced by a member",
        "a name in use", "a look-alike name", "a file not read", "no name", "a name too long"])
def test_a_book_is_imported_under_a_free_name_or_replaces_its_authors_book(actor: Any, fields: dict[str, Any],
                                                                          taken: LorebookView | None,
                                                                          outcome: tuple[str, str] | str) -> None:
    cmd = ImportLorebook(actor=actor, file=UPLOAD, **{"book": FILE, **fields})
    if isinstance(outcome, tuple):
        [created] = decide(cmd, taken)
        assert (created.kind, created.book_id, created.author_id, created.guild_id) == ("lorebook_created", *outcome,
                                                                                       actor.guild_id)
        assert created.book == FILE
    else:
        with refused(outcome):
            decide(cmd, taken)


# --- adding an entry ---------------------------------------------------------------------------------------------

def add(actor: Any = STARTER, **fields: Any) -> AddLoreEntry:
    """/lore add book:Eldoria keys:… content:…"""
    return AddLoreEntry(actor=actor, book="Eldoria", **{"keys": "dragon, wyrm", "content": "Dragons.", **fields})


@pytest.mark.parametrize(("actor", "state", "outcome"), [
    (STARTER, EntryState(BOOK, None, 3), [("lore_entry_written", "book_1", 3)]),
    (ADMIN, EntryState(BOOK, None, 3), [("lore_entry_written", "book_1", 3)]),
    (MEMBER, EntryState(BOOK, None, 3), NOT_YOURS),
    (MEMBER, EntryState(None, None, 1), [("lorebook_created", "lb_new", None), ("lore_entry_written", "lb_new", 1)]),
], ids=["its author", "an admin", "a member", "a member's new book"])
def test_an_entry_goes_into_ones_own_book_or_starts_a_new_one(actor: Any, state: EntryState,
                                                              outcome: list[tuple[Any, ...]] | str) -> None:
    if isinstance(outcome, list):
        events = decide(add(actor), state)
        assert [(e.kind, e.book_id, getattr(e, "number", None)) for e in events] == outcome
        assert events[-1].entry == LoreEntry(keys=("dragon", "wyrm"), content="Dragons.")
        if len(events) == 2:
            assert (events[0].author_id, events[0].book) == (actor.user_id, Lorebook(name="Eldoria"))
    else:
        with refused(outcome):
            decide(add(actor), state)


@pytest.mark.parametrize(("fields", "written"), [
    ({"keys": " , ", "constant": True}, {"keys": (), "constant": True}),
    ({"secondary_keys": "forest", "logic": "NOT_ANY"},
     {"secondary_keys": ("forest",), "selective": True, "selective_logic": "NOT_ANY"}),
    ({"probability": 25}, {"probability": 25, "use_probability": True}),
    ({"probability": 100}, {"probability": 100, "use_probability": False}),
    ({"order": 5, "comment": "wyrms", "characters": "Aria, Bram"},
     {"insertion_order": 5, "comment": "wyrms", "characters": ("Aria", "Bram")}),
    ({"sticky": 2, "cooldown": 3, "delay": 4, "scan_depth": 5}, {"sticky": 2, "cooldown": 3, "delay": 4,
                                                                "scan_depth": 5}),
    ({"whole_words": True, "case_sensitive": True}, {"match_whole_words": True, "case_sensitive": True}),
    ({"keys": "/wyrm(s)?/"}, {"keys": ("/wyrm(s)?/",)}),
], ids=["constant, no keys", "secondary keys", "a probability", "a sure probability", "order, comment, characters",
        "timing", "matching", "a regex key"])
def test_an_entrys_options_are_written_as_sillytavern_names_them(fields: dict[str, Any],
                                                                 written: dict[str, Any]) -> None:
    [event] = decide(add(**fields), EntryState(BOOK, None, 3))
    assert event.entry == LoreEntry(keys=("dragon", "wyrm"), content="Dragons.").model_copy(update=written)


@pytest.mark.parametrize(("fields", "outcome"), [
    ({"content": "   "}, "content: an entry needs some text (what the characters should know)."),
    ({"keys": " , "}, "keys: give at least one keyword (comma-separated), or make the entry constant."),
    ({"keys": "/[/"}, "entry 3, key '/[/': it is not a regular expression Chronicle can run"),
], ids=["blank content", "no keys", "a broken regex key"])
def test_an_entry_needs_text_and_keywords_that_can_match(fields: dict[str, Any], outcome: str) -> None:
    with refused(outcome, InvalidInput):
        decide(add(**fields), EntryState(BOOK, None, 3))


# --- editing, removing and switching an entry --------------------------------------------------------------------

@pytest.mark.parametrize(("actor", "fields", "state", "outcome"), [
    (STARTER, {"content": "Tall elves."}, HAS_TWO, {"content": "Tall elves."}),
    (ADMIN, {"keys": "elves, elf"}, HAS_TWO, {"keys": ("elves", "elf")}),
    (STARTER, {"probability": 100}, HAS_TWO, {"probability": 100, "use_probability": False}),
    (STARTER, {"secondary_keys": ""}, replace(HAS_TWO, entry=replace(SECOND, entry=ELVES.model_copy(
        update={"secondary_keys": ("oak",), "selective": True}))), {}),
    (STARTER, {}, HAS_TWO, "Entry 2 of Eldoria already holds these values: give at least one option to change"),
    (STARTER, {"content": ELVES.content}, HAS_TWO, "Entry 2 of Eldoria already holds these values"),
    (MEMBER, {"content": "x"}, HAS_TWO, NOT_YOURS),
    (STARTER, {"content": "x"}, EntryState(BOOK, None, 3), NO_ENTRY),
    (STARTER, {"content": "x"}, EntryState(None, None, 1), NO_BOOK),
    (STARTER, {"keys": " , "}, HAS_TWO, "keys: give at least one keyword"),
    (STARTER, {"keys": " , ", "constant": True}, HAS_TWO, {"keys": (), "constant": True}),
], ids=["its content", "its keys, by an admin", "a sure probability", "secondary keys cleared", "nothing given",
        "the same content",
        "by a member", "no such entry", "no such book", "keys cleared", "made constant"])
def test_an_edit_changes_the_given_fields_of_one_entry(actor: Any, fields: dict[str, Any], state: EntryState,
                                                       outcome: dict[str, Any] | str) -> None:
    cmd = EditLoreEntry(actor=actor, book="Eldoria", entry=state.entry.number if state.entry else 9, **fields)
    if isinstance(outcome, dict):
        [event] = decide(cmd, state)
        assert (event.book_id, event.number) == ("book_1", 2)
        assert event.entry == ELVES.model_copy(update=outcome)
    else:
        with refused(outcome):
            decide(cmd, state)


OFF = replace(SECOND, entry=ELVES.model_copy(update={"enabled": False}))


@pytest.mark.parametrize(("cmd_type", "actor", "state", "outcome"), [
    (RemoveLoreEntry, STARTER, HAS_TWO, ("lore_entry_removed", None)),
    (RemoveLoreEntry, ADMIN, HAS_TWO, ("lore_entry_removed", None)),
    (RemoveLoreEntry, MEMBER, HAS_TWO, NOT_YOURS),
    (RemoveLoreEntry, STARTER, EntryState(BOOK, None, 3), NO_ENTRY),
    (RemoveLoreEntry, STARTER, EntryState(None, None, 1), NO_BOOK),
    (ToggleLoreEntry, STARTER, HAS_TWO, ("lore_entry_written", False)),
    (ToggleLoreEntry, ADMIN, replace(HAS_TWO, entry=OFF), ("lore_entry_written", True)),
    (ToggleLoreEntry, MEMBER, HAS_TWO, NOT_YOURS),
    (ToggleLoreEntry, STARTER, EntryState(BOOK, None, 3), NO_ENTRY),
    (ToggleLoreEntry, STARTER, EntryState(None, None, 1), NO_BOOK),
], ids=["remove", "remove, an admin", "remove, a member", "remove none", "remove from no book", "switch off",
        "switch on, an admin", "switch, a member", "switch none", "switch in no book"])
def test_an_entry_is_removed_or_switched_by_the_books_author_or_an_admin(cmd_type: type[Any], actor: Any,
                                                                         state: EntryState,
                                                                         outcome: tuple[str, bool | None] | str) -> None:
    cmd = cmd_type(actor=actor, book="Eldoria", entry=state.entry.number if state.entry else 9)
    if isinstance(outcome, tuple):
        [event] = decide(cmd, state)
        assert (event.kind, event.book_id, event.number, event.guild_id) == (outcome[0], "book_1", 2, "g")
        if outcome[1] is not None:  # the entry written again, only `enabled` changed
            assert event.entry == ELVES.model_copy(update={"enabled": outcome[1]})
    else:
        with refused(outcome):
            decide(cmd, state)
