"""The transcript's rules: a line joins once, a reply is recorded only while the line it answers is still the
newest, people edit and remove their own lines (admins any), a deletion elsewhere removes a live line or nothing."""

from __future__ import annotations

from typing import Any

import pytest

from engine.commands import EditMessage, RecordReply, RetractDeletedMessage, RetractMessage, SayLine
from engine.deciders.transcript import LineState, ReplyState, SayState
from engine.errors import DomainError, NotFound, PermissionDenied
from engine.views import MessageView, PersonaView
from tests.engine.deciders.test_rules import ADMIN, CHAT, MEMBER, STARTER, card, decide, in_chat


def line(message_id: str, seq: int, *, role: str = "person", author: str = STARTER.user_id,
         retracted: bool = False) -> MessageView:
    """A line of the transcript with only what the rules read."""
    return MessageView(message_id=message_id, chat_id="chat_1", seq=seq, role=role, author_id=author,
                       speaker="Sam", character_id="chr_aria" if role == "character" else None, text="hello",
                       discord_ids=(), revision=0, retracted=retracted, story_minute=0, scene_id=None)


WREN = PersonaView(user_id=STARTER.user_id, scope="g", name="Wren", description="", avatar_url=None)


@pytest.mark.parametrize(("state", "outcome"), [
    (SayState(CHAT, False, None), "Sam"),
    (SayState(CHAT, False, WREN), "Wren"),
    (SayState(CHAT, True, None), "already part of the story"),
])
def test_a_line_joins_once_under_the_speakers_persona(state: SayState, outcome: str) -> None:
    cmd = in_chat(SayLine, message_id="m1", text="Hello")
    if state.known:
        with pytest.raises(DomainError, match=outcome):
            decide(cmd, state)
    else:
        assert decide(cmd, state)[0].persona_name == outcome


ARIA = card("chr_aria", "Aria")
ASKED, LATER = line("m1", 10), line("m2", 12)


@pytest.mark.parametrize(("fields", "state", "recorded"), [
    ({"in_reply_to": "m1"}, ReplyState(CHAT, ARIA, ASKED, ASKED), True),
    ({"in_reply_to": "m1"}, ReplyState(CHAT, ARIA, ASKED, LATER), False),  # someone spoke since
    ({"in_reply_to": "m1"}, ReplyState(CHAT, ARIA, ASKED._replace(retracted=True), ASKED), False),  # removed
    ({"opening": True}, ReplyState(CHAT, ARIA, None, None), True),
    ({"opening": True}, ReplyState(CHAT, ARIA, None, ASKED), False),  # a greeting after someone spoke
    ({"in_reply_to": "m1"}, ReplyState(CHAT, card("chr_cora", "Cora"), ASKED, ASKED), False),  # not in the story
])
def test_a_reply_is_recorded_only_while_its_line_is_the_newest(fields: dict[str, Any], state: ReplyState,
                                                                recorded: bool) -> None:
    cmd = in_chat(RecordReply, character_id=state.card.character_id if state.card else "chr_x", text="Hi", **fields)
    if recorded:
        assert decide(cmd, state)[0].character_name == state.card.name  # type: ignore[union-attr]
    else:
        with pytest.raises(DomainError):
            decide(cmd, state)


@pytest.mark.parametrize(("actor", "target", "edit", "retract"), [
    (STARTER, line("m1", 10), "edited", "retracted"),
    (MEMBER, line("m1", 10), "Only your own", "Only your own"),
    (ADMIN, line("m1", 10), "Only your own", "retracted"),
    (ADMIN, line("r1", 11, role="character", author=""), "Only your own", "retracted"),
    (STARTER, line("m1", 10, retracted=True), "not part", "not part"),
    (STARTER, None, "not part", "not part"),
])
def test_people_edit_their_own_lines_and_remove_them_admins_remove_any(actor: Any, target: MessageView | None,
                                                                        edit: str, retract: str) -> None:
    state = LineState(CHAT, target)
    for cmd, outcome in ((in_chat(EditMessage, actor=actor, message_id="m1", text="Hello again"), edit),
                         (in_chat(RetractMessage, actor=actor, message_id="m1"), retract)):
        if outcome in ("edited", "retracted"):
            assert decide(cmd, state)[0].message_id == target.message_id  # type: ignore[union-attr]
        else:
            with pytest.raises((PermissionDenied, NotFound), match=outcome.replace("Only your own", "only")):
                decide(cmd, state)


def test_an_unchanged_edit_records_nothing() -> None:
    assert decide(in_chat(EditMessage, message_id="m1", text="hello"), LineState(CHAT, line("m1", 10))) == []


@pytest.mark.parametrize(("target", "removed"), [(line("m1", 10), True), (line("m1", 10, retracted=True), False),
                                                 (line("n1", 10, role="narrator"), False), (None, False)])
def test_a_deletion_where_it_was_posted_removes_a_live_line_or_nothing(target: MessageView | None,
                                                                       removed: bool) -> None:
    events = decide(in_chat(RetractDeletedMessage, message_id="m1"), LineState(CHAT, target))
    assert [e.kind for e in events] == (["message_retracted"] if removed else [])
