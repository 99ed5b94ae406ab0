"""The rules of changing a card: its author or an admin edits one field (every other field and its image kept) and
imports a card over it; anyone imports a card under a free name."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest

from engine.cards.model import Card
from engine.commands import EditCharacter, ImportCharacter
from engine.deciders.characters import EditState
from engine.errors import DomainError, InvalidInput, PermissionDenied
from engine.events import CardAvatar
from tests.engine.deciders.test_rules import ADMIN, MEMBER, STARTER, STRANGER, card, decide

ARIA = replace(card("chr_aria", "Aria"), author_id=STARTER.user_id, avatar_url="https://img.example/aria.png")
WHOLE = Card(name="Aria", description="A bard.", first_mes="Hail!", extensions={"depth_prompt": {"depth": 4}},
             tags=("bard",))
EDIT = EditState(ARIA, WHOLE, "iVBORw0KGgo=", None)


def edit(field: str, value: str, actor: Any = STARTER) -> EditCharacter:
    """/character edit name:Aria field:… value:…"""
    return EditCharacter(actor=actor, name="Aria", field=field, value=value)


# --- who may edit ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("actor", "allowed"), [(STARTER, True), (ADMIN, True), (MEMBER, False)],
                         ids=["author", "admin", "member"])
def test_the_author_or_an_admin_edits_a_card(actor: Any, allowed: bool) -> None:
    cmd = edit("personality", "Bold.", actor)  # (the card is looked up by name in the actor's own server)
    if allowed:
        [authored] = decide(cmd, EDIT)
        assert (authored.character_id, authored.author_id) == ("chr_aria", STARTER.user_id)
    else:
        with pytest.raises(PermissionDenied, match="^Only Aria's author or a server admin can edit it"):
            decide(cmd, EDIT)


# --- one field changes, the rest of the card stays ---------------------------------------------------------------

@pytest.mark.parametrize(("field", "value", "changed"), [
    ("description", "A singer.", {"description": "A singer."}),
    ("greeting", "Well met.", {"first_mes": "Well met."}),
    ("greeting", "", {"first_mes": ""}),
    ("example_dialogue", "<START>", {"mes_example": "<START>"}),
    ("system_prompt", "Stay in verse.", {"system_prompt": "Stay in verse."}),
    ("post_history_instructions", "Rhyme.", {"post_history_instructions": "Rhyme."}),
    ("name", "  Ariadne ", {"name": "Ariadne"}),
    ("talkativeness", "0.8", {"extensions": {"depth_prompt": {"depth": 4}, "talkativeness": 0.8}}),
    ("talkativeness", " 0 ", {"extensions": {"depth_prompt": {"depth": 4}, "talkativeness": 0.0}}),
])
def test_an_edit_changes_one_field_and_keeps_the_rest_of_the_card(field: str, value: str,
                                                                  changed: dict[str, Any]) -> None:
    [authored] = decide(edit(field, value), EDIT)
    assert authored.card == WHOLE.model_copy(update=changed)
    assert (authored.avatar_url, authored.avatar) == (ARIA.avatar_url, CardAvatar(data="iVBORw0KGgo="))


@pytest.mark.parametrize(("value", "url"), [("https://img.example/new.png", "https://img.example/new.png"),
                                            ("  ", None)], ids=["a new link", "blank: no link"])
def test_the_avatar_link_is_set_or_taken_off_and_the_card_stays(value: str, url: str | None) -> None:
    [authored] = decide(edit("avatar_url", value), EDIT)
    assert (authored.avatar_url, authored.card) == (url, WHOLE)


def test_a_card_without_its_own_image_stays_without_one() -> None:
    assert decide(edit("scenario", "A tavern."), replace(EDIT, image=None))[0].avatar is None


# --- refusals and bounds -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("field", "value", "state", "text"), [
    ("name", "   ", EDIT, "name: must be 1 to 64 characters."),
    ("name", "A" * 65, EDIT, "name: must be 1 to 64 characters."),
    ("name", "\u200b", EDIT, "name: has no visible character"),
    ("name", "Bram", replace(EDIT, taken=card("chr_bram", "Bram")), "A character named 'Bram' already exists here"),
    ("name", "Br\u0430m", replace(EDIT, taken=card("chr_bram", "Bram")), "'Br\u0430m' looks like the existing "
                                                                        "character 'Bram'"),
    ("description", "  ", EDIT, "description: must not be empty."),
    ("talkativeness", "1.5", EDIT, "talkativeness: a number from 0 (quiet) to 1 (always speaks)"),
    ("talkativeness", "-0.1", EDIT, "talkativeness: a number from 0"),
    ("talkativeness", "loud", EDIT, "talkativeness: a number from 0 (quiet) to 1 (always speaks), like 0.8; "
                                    "not 'loud'."),
    ("talkativeness", "nan", EDIT, "talkativeness: a number from 0"),
    ("avatar_url", "not a link", EDIT, "avatar url: must be an http(s) link."),
], ids=["blank name", "long name", "invisible name", "a taken name", "a look-alike name", "blank description",
        "talkativeness above 1", "talkativeness below 0", "talkativeness not a number", "talkativeness nan",
        "an avatar that is no link"])
def test_an_edit_is_refused_with_what_was_wrong(field: str, value: str, state: EditState, text: str) -> None:
    with pytest.raises((InvalidInput, DomainError), match="^" + re.escape(text)):
        decide(edit(field, value), state)


# --- importing a card --------------------------------------------------------------------------------------------

UPLOAD = {"filename": "aria.png", "data": b"\x89PNG"}
IMPORTED = Card(name="Aria", first_mes="Hello there.")


def import_card(actor: Any = MEMBER, **fields: Any) -> ImportCharacter:
    """/character import file:aria.png, parsed (the engine reads the file before deciding)."""
    return ImportCharacter(actor=actor, file=UPLOAD, **{"card": IMPORTED, "avatar": CardAvatar(data="QUJD"),
                                                        **fields})


@pytest.mark.parametrize(("actor", "fields", "taken", "outcome"), [
    (MEMBER, {}, None, ("chr_new", "Aria", MEMBER.user_id, None)),
    (STRANGER, {}, None, ("chr_new", "Aria", STRANGER.user_id, None)),  # into the stranger's own server
    (MEMBER, {"name": "Cora"}, None, ("chr_new", "Cora", MEMBER.user_id, None)),
    (MEMBER, {"avatar_url": "https://img.example/a.png"}, None,
     ("chr_new", "Aria", MEMBER.user_id, "https://img.example/a.png")),
    (STARTER, {"replace": True}, ARIA, ("chr_aria", "Aria", STARTER.user_id, ARIA.avatar_url)),
    (ADMIN, {"replace": True}, ARIA, ("chr_aria", "Aria", STARTER.user_id, ARIA.avatar_url)),
    (MEMBER, {"replace": True}, ARIA, "Only Aria's author or a server admin can replace it."),
    (MEMBER, {}, ARIA, "A character named 'Aria' already exists here. Import again with replace:true"),
    (MEMBER, {"name": "\u0410ria"}, ARIA, "'\u0410ria' looks like the existing character 'Aria'; import it with "
                                          "name:…"),
    (MEMBER, {"card": None}, None, "file: the card file was not read; import it again."),
], ids=["a new card", "a new card in another server", "under another name", "with an avatar link", "replaced by its author", "replaced by an admin",
        "replaced by a member", "a name in use", "a look-alike name", "a file not read"])
def test_a_card_is_imported_under_a_free_name_or_replaces_its_authors_card(actor: Any, fields: dict[str, Any],
                                                                          taken: Any,
                                                                          outcome: tuple[Any, ...] | str) -> None:
    cmd = import_card(actor, **fields)
    if isinstance(outcome, tuple):
        [authored] = decide(cmd, taken)
        assert (authored.character_id, authored.card.name, authored.author_id, authored.avatar_url) == outcome
        assert authored.guild_id == (taken.guild_id if taken else actor.guild_id)
        assert (authored.card.first_mes, authored.avatar) == ("Hello there.", CardAvatar(data="QUJD"))
    else:
        with pytest.raises((PermissionDenied, DomainError, InvalidInput), match="^" + re.escape(outcome)):
            decide(cmd, taken)
