"""The rules of a group story: anyone in the story changes its cast (a character of the server joins while there is
room, a member leaves or is muted unless nobody would be left to speak), picks the turn rule, nudges a speaking member,
and brings members into and out of the open scene (never its last speaker out)."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest

from engine.commands import (
    AddToCast,
    EnterScene,
    LeaveScene,
    MuteCastMember,
    NudgeCharacter,
    RemoveFromCast,
    SetTurnRule,
    UnmuteCastMember,
)
from engine.deciders.base import ENDED, NO_STORY
from engine.deciders.cast import CastState, PresenceState
from engine.errors import DomainError, NotFound
from engine.events import Turn
from engine.views import SceneView
from tests.engine.deciders.test_rules import ADMIN, CHAT, ENDED_CHAT, MEMBER, STARTER, STRANGER, card, decide, in_chat

ARIA, BRAM, CORA = card("chr_aria", "Aria"), card("chr_bram", "Bram"), card("chr_cora", "Cora")
TRIO = replace(CHAT, cast=("chr_aria", "chr_bram", "chr_cora"))
SOLO = replace(CHAT, guest_id=None)
BRAM_MUTED = replace(TRIO, muted=("chr_bram",))
FULL = replace(CHAT, cast=tuple(f"chr_{n}" for n in range(25)))
NO_SUCH = "There is no character named 'Bram' in this server. See /character list."


def refused(outcome: str) -> Any:
    """The refusal whose one line starts with `outcome`."""
    return pytest.raises((DomainError, NotFound), match="^" + re.escape(outcome))


# --- the cast ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("cmd_type", "chat", "named", "outcome"), [
    (AddToCast, CHAT, CORA, ("cast_joined", "chr_cora")),
    (AddToCast, CHAT, BRAM, "Bram is already in this story's cast."),
    (AddToCast, FULL, CORA, "This story's cast is full (25 characters). Take someone out with /chat cast remove"),
    (AddToCast, CHAT, None, NO_SUCH),
    (RemoveFromCast, TRIO, BRAM, ("cast_left", "chr_bram")),
    (RemoveFromCast, BRAM_MUTED, BRAM, ("cast_left", "chr_bram")),  # a muted member leaves too
    (RemoveFromCast, CHAT, CORA, "Cora is not in this story's cast. See /chat cast list."),
    (RemoveFromCast, SOLO, ARIA, "Aria is the only character in this story; add another with /chat cast add first"),
    (RemoveFromCast, replace(CHAT, muted=("chr_bram",)), ARIA, "Aria is the only one in the cast who speaks;"),
    (RemoveFromCast, replace(CHAT, active_scene_id="scn_1", absent=("chr_bram",)), ARIA, "Aria is the only one in the cast who speaks;"),
    (MuteCastMember, TRIO, BRAM, ("cast_muted", "chr_bram")),
    (MuteCastMember, BRAM_MUTED, BRAM, "Bram is already muted. /chat cast unmute lets it speak again."),
    (MuteCastMember, replace(CHAT, muted=("chr_bram",)), ARIA, "Aria is the only one in the cast who speaks; "
                                                               "unmute or add someone first."),
    (MuteCastMember, SOLO, BRAM, "Bram is not in this story's cast."),
    (UnmuteCastMember, BRAM_MUTED, BRAM, ("cast_unmuted", "chr_bram")),
    (UnmuteCastMember, TRIO, BRAM, "Bram is not muted."),
    (UnmuteCastMember, SOLO, BRAM, "Bram is not in this story's cast."),
    (UnmuteCastMember, TRIO, None, NO_SUCH),
], ids=["join", "join twice", "join a full cast", "join, no such character", "leave", "leave while muted",
        "leave, not a member", "the last one leaves", "the last speaker leaves", "the last one here leaves", "mute",
        "mute twice", "mute the last speaker", "mute, not a member", "unmute", "unmute, not muted",
        "unmute, not a member", "unmute, no such character"])
@pytest.mark.parametrize("actor", [STARTER, MEMBER, ADMIN], ids=["starter", "member", "admin"])
def test_anyone_in_the_story_changes_its_cast_while_someone_can_speak(cmd_type: type[Any], chat: Any, named: Any,
                                                                      outcome: tuple[str, str] | str,
                                                                      actor: Any) -> None:
    cmd = in_chat(cmd_type, actor=actor, character=named.name if named else "Bram")
    if isinstance(outcome, tuple):
        [event] = decide(cmd, CastState(chat, named))
        assert (event.kind, event.character_id, event.chat_id) == (*outcome, "chat_1")
    else:
        with refused(outcome):
            decide(cmd, CastState(chat, named))


# --- who speaks next ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("before", "rule", "outcome"), [
    ("host", "natural", "natural"), ("natural", "manual", "manual"), ("manual", "list", "list"),
    ("list", "pooled", "pooled"), ("pooled", "mentioned", "mentioned"),
    ("mentioned", "mentioned", "This story already picks who speaks next by 'mentioned'."),
])
def test_a_turn_rule_is_set_when_it_changes(before: str, rule: str, outcome: str) -> None:
    cmd = in_chat(SetTurnRule, actor=MEMBER, rule=rule)
    if outcome == rule:
        [event] = decide(cmd, replace(CHAT, turn_rule=before))
        assert (event.kind, event.chat_id, event.rule) == ("turn_rule_set", "chat_1", rule)
    else:
        with refused(outcome):
            decide(cmd, replace(CHAT, turn_rule=before))


@pytest.mark.parametrize(("chat", "named", "outcome"), [
    (replace(TRIO, turn_rule="manual"), CORA, "chr_cora"),
    (replace(TRIO, absent=("chr_cora",)), CORA, "Cora is away from the scene. /scene enter character:Cora brings "
                                                "it back first."),  # it would answer what it never heard
    (BRAM_MUTED, BRAM, "Bram is muted in this story. /chat cast unmute lets it speak again."),
    (CHAT, CORA, "Cora is not in this story's cast."),
    (CHAT, None, NO_SUCH),
], ids=["a member", "a member away", "a muted member", "not a member", "no such character"])
def test_a_nudge_records_a_speaking_members_reply(chat: Any, named: Any, outcome: str) -> None:
    cmd = in_chat(NudgeCharacter, actor=MEMBER, character=named.name if named else "Bram", text="Ahem.",
                  discord_message_ids=["d1"])
    if outcome.startswith("chr_"):
        [reply] = decide(cmd, CastState(chat, named))
        assert (reply.kind, reply.message_id, reply.character_id, reply.character_name) == (
            "bot_replied", "msg_new", outcome, named.name)
        assert (reply.text, reply.discord_message_ids, reply.turn) == ("Ahem.", ["d1"],
                                                                       Turn(rule=chat.turn_rule, reason="nudged"))
    else:
        with refused(outcome):
            decide(cmd, CastState(chat, named))


# --- the open scene ----------------------------------------------------------------------------------------------

TAVERN = SceneView(scene_id="scn_1", chat_id="chat_1", place_id="plc_1", title="The Tavern",
                   present=("chr_aria", "chr_bram"), status="open", summary=None)
OPEN = replace(TRIO, active_scene_id="scn_1", absent=("chr_cora",))


@pytest.mark.parametrize(("cmd_type", "chat", "scene", "named", "outcome"), [
    (EnterScene, OPEN, TAVERN, CORA, ("scene_entered", "chr_cora")),
    (EnterScene, OPEN, TAVERN, BRAM, "Bram is already in The Tavern."),
    (EnterScene, TRIO, None, CORA, "No scene is open. Open one with /scene open."),
    (EnterScene, replace(OPEN, cast=("chr_aria", "chr_bram")), TAVERN, CORA, "Cora is not in this story's cast."),
    (LeaveScene, OPEN, TAVERN, BRAM, ("scene_left", "chr_bram")),
    (LeaveScene, OPEN, TAVERN, CORA, "Cora is not in The Tavern. /scene enter brings it in."),
    (LeaveScene, replace(OPEN, muted=("chr_aria",)), TAVERN, BRAM, "Bram is the last one in The Tavern who speaks"),
    (LeaveScene, OPEN, replace(TAVERN, present=("chr_bram",)), BRAM, "Bram is the last one in The Tavern who speaks"),
    (LeaveScene, TRIO, None, BRAM, "No scene is open. Open one with /scene open."),
], ids=["enter", "enter twice", "enter no scene", "enter, not a member", "leave", "leave, not there",
        "the last speaker leaves, the other muted", "the last one leaves", "leave no scene"])
@pytest.mark.parametrize("actor", [STARTER, MEMBER, ADMIN], ids=["starter", "member", "admin"])
def test_members_come_into_and_leave_the_open_scene_while_one_can_speak_there(cmd_type: type[Any], chat: Any,
                                                                             scene: SceneView | None, named: Any,
                                                                             outcome: tuple[str, str] | str,
                                                                             actor: Any) -> None:
    cmd = in_chat(cmd_type, actor=actor, character=named.name)
    state = PresenceState(CastState(chat, named), scene)
    if isinstance(outcome, tuple):
        [event] = decide(cmd, state)
        assert (event.kind, event.character_id, event.scene_id) == (*outcome, "scn_1")
    else:
        with refused(outcome):
            decide(cmd, state)


# --- every one of them: no story, an ended story, another server's story -----------------------------------------

EVERY = [(AddToCast, CORA), (RemoveFromCast, BRAM), (MuteCastMember, BRAM), (UnmuteCastMember, BRAM),
         (NudgeCharacter, BRAM), (EnterScene, CORA), (LeaveScene, BRAM), (SetTurnRule, None)]


@pytest.mark.parametrize(("actor", "chat", "error", "text"), [
    (MEMBER, None, NotFound, NO_STORY), (MEMBER, ENDED_CHAT, DomainError, ENDED), (STRANGER, OPEN, NotFound, NO_STORY),
], ids=["no story", "an ended story", "another server's story"])
@pytest.mark.parametrize(("cmd_type", "named"), EVERY, ids=[t.__name__ for t, _ in EVERY])
def test_group_commands_need_this_servers_open_story(actor: Any, chat: Any, error: type[Exception], text: str,
                                                     cmd_type: type[Any], named: Any) -> None:
    if cmd_type is SetTurnRule:
        cmd, state = in_chat(SetTurnRule, actor=actor, rule="list"), chat
    else:
        cmd, state = in_chat(cmd_type, actor=actor, character=named.name), CastState(chat, named)
        if cmd_type in (EnterScene, LeaveScene):
            state = PresenceState(state, TAVERN)
    with pytest.raises(error, match="^" + re.escape(text)):
        decide(cmd, state)
