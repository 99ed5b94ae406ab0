"""The deciders' rules as pure functions: a command and the state its decider loaded in, the events out (or the
one-line refusal). No database, no clock: these are the story's rules, table by table."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from engine.commands import (
    Actor,
    AdjustRelationship,
    CloseScene,
    EndChat,
    ForgetMemory,
    RewindChat,
    SetWeather,
    SkipTime,
    WriteMemory,
)
from engine.deciders import decider_for
from engine.deciders.base import ENDED, NO_STORY, Context
from engine.deciders.chats import RewindState
from engine.deciders.memory import CastState, MemoryState
from engine.deciders.relationships import EdgeState
from engine.deciders.world import SceneState
from engine.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from engine.views import CharacterView, ChatView, MemoryView, RelationshipView, SceneView

STARTER = Actor(user_id="u-starter", guild_id="g", display_name="Sam")
MEMBER = Actor(user_id="u-member", guild_id="g", display_name="Mo")
ADMIN = Actor(user_id="u-admin", guild_id="g", display_name="Ada", is_admin=True)
STRANGER = Actor(user_id="u-x", guild_id="other-guild", display_name="X", is_admin=True)
CHAT = ChatView(chat_id="chat_1", guild_id="g", channel_id="c", host_id="chr_aria", guest_id="chr_bram",
                started_by=STARTER.user_id, status="open", story_minute=8 * 60, anchor="Day 1, morning",
                weather="clear", active_scene_id=None, place_id=None, created_seq=3)
ENDED_CHAT = replace(CHAT, status="ended")
CTX = Context(now="2026-12-06T12:00:00Z", new_id=lambda prefix: f"{prefix}_new")


def decide(cmd: Any, state: Any) -> list[Any]:
    """The payloads the command's decider emits for `state`."""
    return [event.payload for event in decider_for(cmd).decide(cmd, state, CTX)]


def card(character_id: str, name: str) -> CharacterView:
    """A character card with only what the rules read."""
    return CharacterView(character_id=character_id, guild_id="g", name=name, description="", personality="",
                         scenario="", greeting="", example_dialogue="", system_prompt="", post_history_instructions="",
                         avatar_url=None, author_id="u", retired=False)


def in_chat(cmd_type: type[Any], actor: Actor = STARTER, **fields: Any) -> Any:
    """A story command addressed to CHAT (as the channel's queue addresses it)."""
    return cmd_type(actor=actor, channel_id="c", chat_id=CHAT.chat_id, expected_version=7, **fields)


# --- every story command: no story, another server's story, an ended story ---------------------------------------

STORY_COMMANDS = [(in_chat(SetWeather, weather="rain"), lambda chat: chat),
                  (in_chat(SkipTime, by=60), lambda chat: chat),
                  (in_chat(EndChat), lambda chat: chat),
                  (in_chat(WriteMemory, text="x"), lambda chat: CastState(chat, {})),
                  (in_chat(ForgetMemory, id="mem_1"), lambda chat: MemoryState(chat, None))]


@pytest.mark.parametrize(("cmd", "state"), STORY_COMMANDS, ids=lambda v: type(v).__name__)
@pytest.mark.parametrize(("chat", "error", "text"), [(None, NotFound, NO_STORY), (ENDED_CHAT, DomainError, ENDED)],
                         ids=["no story", "ended"])
def test_a_story_command_needs_an_open_story(cmd: Any, state: Any, chat: ChatView | None, error: type[Exception],
                                             text: str) -> None:
    with pytest.raises(error, match="^" + text[:30]):
        decide(cmd, state(chat))


def test_a_story_of_another_server_is_no_story_here() -> None:
    with pytest.raises(NotFound, match=NO_STORY[:30]):
        decide(in_chat(SetWeather, actor=STRANGER, weather="rain"), CHAT)


# --- time and weather ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("by", "summary", "to", "told"), [
    (60, None, 9 * 60, "1 hour passes."), (3 * 24 * 60, None, 3 * 24 * 60 + 8 * 60, "3 days pass."),
    (90, None, 9 * 60 + 30, "1 hour 30 minutes pass."), (5, "The rains came.", 8 * 60 + 5, "The rains came."),
])
def test_time_skips_forward_from_the_story_clock(by: int, summary: str | None, to: int, told: str) -> None:
    [skipped] = decide(in_chat(SkipTime, by=by, summary=summary), CHAT)
    assert (skipped.from_minute, skipped.to_minute, skipped.summary) == (CHAT.story_minute, to, told)


def test_weather_is_set_as_given() -> None:
    assert decide(in_chat(SetWeather, weather="thick fog"), CHAT)[0].weather == "thick fog"


# --- scenes --------------------------------------------------------------------------------------------------------

SCENE = SceneView(scene_id="scn_1", chat_id="chat_1", place_id="plc_1", title="", present=("chr_aria", "chr_bram"),
                  status="open", summary=None)


@pytest.mark.parametrize(("summary", "throughout", "memories"), [
    (None, ("chr_aria", "chr_bram"), []), ("   ", ("chr_aria", "chr_bram"), []),
    ("They made peace.", ("chr_aria", "chr_bram"), ["chr_aria", "chr_bram"]),
    ("They made peace.", ("chr_aria",), ["chr_aria"])])  # Bram was away for part of it
def test_closing_a_scene_gives_its_summary_to_those_present_throughout(summary: str | None,
                                                                       throughout: tuple[str, ...],
                                                                       memories: list[str]) -> None:
    events = decide(in_chat(CloseScene, summary=summary), SceneState(CHAT, SCENE, None, throughout=throughout))
    assert events[0].scene_id == "scn_1"
    assert [e.character_id for e in events[1:]] == memories
    assert all(e.text == summary and e.source == "scene" for e in events[1:])


def test_no_scene_to_close_is_refused() -> None:
    with pytest.raises(DomainError, match="No scene is open"):
        decide(in_chat(CloseScene), SceneState(CHAT, None, None))


# --- ending and rewinding ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("actor", "allowed"), [(STARTER, True), (ADMIN, True), (MEMBER, False)])
def test_the_starter_or_an_admin_ends_a_story(actor: Actor, allowed: bool) -> None:
    cmd = in_chat(EndChat, actor=actor)
    if allowed:
        assert decide(cmd, CHAT)[0].ended_by == actor.user_id
    else:
        with pytest.raises(PermissionDenied, match="Only the person who started this story"):
            decide(cmd, CHAT)


REWIND = RewindState(CHAT, start_end=6, last_seq=40, target_span=(31, 32), message_count=12)


@pytest.mark.parametrize(("cmd_fields", "state", "outcome"), [
    ({"messages": 2}, REWIND, 30),
    ({"messages": 99}, replace(REWIND, target_span=None), r"only 12 message\(s\)"),
    ({"seq": 20}, replace(REWIND, target_span=(19, 20), point=20), 20),
    ({"seq": 99}, replace(REWIND, target_span=None, point=99), "There is no event 99"),
    ({"messages": 12}, replace(REWIND, target_span=(5, 6)), "undo the story's own start"),
    ({"seq": 40}, replace(REWIND, target_span=(39, 40), point=40), "Nothing to rewind"),
])
def test_a_rewind_lands_between_commands_and_never_undoes_the_start(cmd_fields: dict[str, Any], state: RewindState,
                                                                      outcome: int | str) -> None:
    cmd = in_chat(RewindChat, actor=ADMIN, **cmd_fields)
    if isinstance(outcome, int):
        assert decide(cmd, state)[0].to_seq == outcome
    else:
        with pytest.raises(InvalidInput, match=outcome):
            decide(cmd, state)


def test_only_admins_rewind() -> None:
    with pytest.raises(PermissionDenied, match="rewind a story"):
        decide(in_chat(RewindChat, messages=1), REWIND)


# --- memories ------------------------------------------------------------------------------------------------------

def test_a_memory_goes_to_the_host_unless_a_character_of_the_story_is_named() -> None:
    assert decide(in_chat(WriteMemory, text="owes a song"), CastState(CHAT, {}))[0].character_id == "chr_aria"
    bram = card("chr_bram", "Bram")
    named = decide(in_chat(WriteMemory, text="x", character="Bram"), CastState(CHAT, {"Bram": bram}))
    assert (named[0].character_id, named[0].memory_id, named[0].source) == ("chr_bram", "mem_new", "person")
    with pytest.raises(DomainError, match="Cora is not in this story"):
        decide(in_chat(WriteMemory, text="x", character="Cora"), CastState(CHAT, {"Cora": card("chr_c", "Cora")}))


def test_forgetting_names_a_memory_of_this_story() -> None:
    memory = MemoryView(memory_id="mem_1", chat_id="chat_1", character_id="chr_aria", text="x", importance=5,
                        source="person", source_id=None, story_minute=0, seq=9)
    assert decide(in_chat(ForgetMemory, id="mem_1"), MemoryState(CHAT, memory))[0].memory_id == "mem_1"
    with pytest.raises(NotFound, match="no memory 'mem_2'"):
        decide(in_chat(ForgetMemory, id="mem_2"), MemoryState(CHAT, None))


# --- relationships -------------------------------------------------------------------------------------------------

EDGE = EdgeState(CHAT, card("chr_aria", "Aria"), ("chr_bram", "character", "Bram"),
                 RelationshipView(chat_id="chat_1", source_id="chr_aria", source_kind="character", source_name="Aria",
                                  target_id="chr_bram", target_kind="character", target_name="Bram", affinity=90,
                                  trust=-95, note=None))


@pytest.mark.parametrize(("affinity", "trust", "after"), [(5, 0, (95, -95)), (30, -30, (100, -100)),
                                                          (-200, 200, (-100, 100))])
def test_relationship_scores_shift_and_stay_within_bounds(affinity: int, trust: int, after: tuple[int, int]) -> None:
    [edge] = decide(in_chat(AdjustRelationship, character="Aria", target="Bram", affinity=affinity, trust=trust),
                    EDGE)
    assert (edge.affinity, edge.trust) == after and (edge.affinity_delta, edge.trust_delta) == (affinity, trust)


@pytest.mark.parametrize(("state", "fields", "text"), [
    (replace(EDGE, target=None), {"affinity": 1}, "neither a character here"),
    (replace(EDGE, target=("chr_aria", "character", "Aria")), {"affinity": 1}, "two different people"),
    (EDGE, {}, "Give an affinity or trust change, or a note"),
])
def test_relationship_refusals(state: EdgeState, fields: dict[str, Any], text: str) -> None:
    with pytest.raises((NotFound, DomainError), match=text):
        decide(in_chat(AdjustRelationship, character="Aria", target="Bram", **fields), state)
