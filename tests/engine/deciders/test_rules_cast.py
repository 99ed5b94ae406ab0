"""The rules of characters, personas, starting a story, places and scenes, as tables of state in and events (or
the one-line refusal) out."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from engine.commands import (
    AuthorCharacter,
    CreatePlace,
    OpenScene,
    RetireCharacter,
    SetPersona,
    StartChat,
)
from engine.deciders.characters import RetireState
from engine.deciders.chats import StartState
from engine.deciders.world import PlaceState, SceneState
from engine.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from engine.views import PlaceView
from tests.engine.deciders.test_rules import ADMIN, CHAT, MEMBER, STARTER, card, decide, in_chat

ARIA, BRAM = card("chr_aria", "Aria"), card("chr_bram", "Bram")
ARIA_BY_STARTER = replace(ARIA, author_id=STARTER.user_id, alternate_greetings=("Hail!",))


# --- characters and personas ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "taken", "error"), [
    ("Cora", None, None),
    ("Aria", ARIA, "already exists here"),
    ("\u0410ria", ARIA, "looks like the existing character 'Aria'"),  # a Cyrillic А
])
def test_a_character_name_is_free_and_reads_differently_from_the_others(name: str, taken: Any,
                                                                        error: str | None) -> None:
    cmd = AuthorCharacter(actor=MEMBER, name=name, description="x")
    if error is None:
        [authored] = decide(cmd, taken)
        assert (authored.character_id, authored.card.name, authored.author_id) == ("chr_new", name, MEMBER.user_id)
    else:
        with pytest.raises(DomainError, match=error):
            decide(cmd, taken)


@pytest.mark.parametrize(("actor", "open_chats", "outcome"), [
    (STARTER, (), "retired"),
    (ADMIN, (), "retired"),
    (MEMBER, (), "Only Aria's author or a server admin"),
    (STARTER, (CHAT,), "is in the open story in <#c>"),
    (STARTER, (replace(CHAT, host_id="chr_other", guest_id=None),), "retired"),
])
def test_only_the_author_or_an_admin_retires_a_card_no_open_story_uses(actor: Any, open_chats: tuple[Any, ...],
                                                                       outcome: str) -> None:
    cmd = RetireCharacter(actor=actor, name="Aria")
    state = RetireState(ARIA_BY_STARTER, open_chats)
    if outcome == "retired":
        assert decide(cmd, state)[0].character_id == "chr_aria"
    else:
        with pytest.raises((PermissionDenied, DomainError), match=outcome):
            decide(cmd, state)


@pytest.mark.parametrize(("everywhere", "guild"), [(False, "g"), (True, None)])
def test_a_persona_is_for_this_server_or_everywhere(everywhere: bool, guild: str | None) -> None:
    [persona] = decide(SetPersona(actor=MEMBER, name="Wren", description="x", everywhere=everywhere), None)
    assert (persona.user_id, persona.guild_id, persona.name) == (MEMBER.user_id, guild, "Wren")


@pytest.mark.parametrize(("name", "error"), [("Aria", "is a character here"), ("\u0410ria", "looks like")])
def test_a_persona_cannot_pass_for_a_character(name: str, error: str) -> None:
    with pytest.raises(DomainError, match=error):
        decide(SetPersona(actor=MEMBER, name=name, description="x"), ARIA)


# --- starting a story ----------------------------------------------------------------------------------------------

START = StartState(existing=None, host=ARIA_BY_STARTER, guest=None)


@pytest.mark.parametrize(("fields", "state", "outcome"), [
    ({}, START, ["chat_created"]),
    ({"place": "The Stag"}, START, ["chat_created", "container_created", "scene_opened"]),
    ({"guest": "Bram"}, replace(START, guest=BRAM), ["chat_created"]),
    ({}, replace(START, existing=CHAT), "already has a story going"),
    ({}, replace(START, host=None), "no character named 'Aria'"),
    ({"guest": "Aria"}, replace(START, guest=ARIA_BY_STARTER), "guest must be a different character"),
    ({"greeting": 2}, START, ["chat_created"]),
    ({"greeting": 3}, START, "has 2 greeting"),
])
def test_one_story_per_channel_with_characters_of_this_server(fields: dict[str, Any], state: StartState,
                                                              outcome: list[str] | str) -> None:
    cmd = StartChat(actor=STARTER, channel_id="c", character="Aria", **fields)
    if isinstance(outcome, list):
        events = decide(cmd, state)
        assert [e.kind for e in events] == outcome
        assert events[0].host_id == "chr_aria" and events[0].started_by == STARTER.user_id
    else:
        with pytest.raises((DomainError, NotFound, InvalidInput), match=outcome):
            decide(cmd, state)


def test_a_story_started_at_a_place_opens_a_scene_there_with_the_whole_cast() -> None:
    events = decide(StartChat(actor=STARTER, channel_id="c", character="Aria", guest="Bram", place="Docks"),
                    replace(START, guest=BRAM))
    assert events[2].present == ["chr_aria", "chr_bram"] and events[2].place_id == events[1].place_id


# --- places and scenes ---------------------------------------------------------------------------------------------

DOCKS = PlaceView(place_id="plc_docks", chat_id="chat_1", name="Docks", description="", parent_id=None)


@pytest.mark.parametrize(("name", "state", "outcome"), [
    ("Docks", PlaceState(CHAT, None, None), None),
    ("Docks", PlaceState(CHAT, DOCKS, None), "already has a place named 'Docks'"),
    ("D\u043ecks", PlaceState(CHAT, DOCKS, None), "looks like"),  # a Cyrillic о
])
def test_place_names_are_unique_within_a_story(name: str, state: PlaceState, outcome: str | None) -> None:
    cmd = in_chat(CreatePlace, name=name)
    if outcome is None:
        assert decide(cmd, state)[0].name == name
    else:
        with pytest.raises(DomainError, match=outcome):
            decide(cmd, state)


def test_a_place_inside_an_unknown_place_is_refused() -> None:
    with pytest.raises(NotFound, match="no place named 'Harbour'"):
        decide(in_chat(CreatePlace, name="Pier", parent="Harbour"), PlaceState(CHAT, None, None))


@pytest.mark.parametrize(("place", "kinds"), [(DOCKS, ["scene_opened"]), (None, ["container_created", "scene_opened"])])
def test_a_scene_opens_at_a_known_place_or_creates_it(place: PlaceView | None, kinds: list[str]) -> None:
    events = decide(in_chat(OpenScene, place="Docks"), SceneState(CHAT, None, place))
    assert [e.kind for e in events] == kinds and events[-1].present == ["chr_aria", "chr_bram"]


def test_only_one_scene_is_open_at_a_time() -> None:
    with pytest.raises(DomainError, match="is still open"):
        decide(in_chat(OpenScene, place="Docks"), SceneState(replace(CHAT, active_scene_id="scn_1"), None, DOCKS))
