"""The rules of rewriting a reply: anyone in the story regenerates or continues the newest line when it is a
character's, at the version they saw; the opening greeting is swapped for another only while it is the story's only
line."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest

from engine.commands import ContinueReply, RegenerateReply, ReviseReply, SwipeGreeting
from engine.deciders.base import ENDED, NO_STORY
from engine.deciders.transcript import SPOKEN, STALE_REPLY, GreetingState, LineState
from engine.errors import DomainError, NotFound
from engine.views import MessageView
from tests.engine.deciders.test_rules import ADMIN, CHAT, ENDED_CHAT, MEMBER, STARTER, STRANGER, decide, in_chat
from tests.engine.deciders.test_rules_transcript import line

REPLY = line("r1", 12, role="character", author="")._replace(revision=2, discord_ids=("d1", "d2"))
SAID = line("m1", 10)
NO_REPLY = "There is no character reply to redo yet: the latest message must be a character's."


def revise(actor: Any = MEMBER, **fields: Any) -> ReviseReply:
    """A rewritten reply as the narrator hands it over (its text written, the reply and revision it rewrites)."""
    return in_chat(ReviseReply, actor=actor, **{"text": "A new reply.", **fields})


# --- regenerate and continue -------------------------------------------------------------------------------------

@pytest.mark.parametrize("actor", [STARTER, MEMBER, ADMIN], ids=["starter", "member", "admin"])
@pytest.mark.parametrize("mode", ["regenerate", "continue"])
def test_anyone_in_the_story_rewrites_the_newest_reply(actor: Any, mode: str) -> None:
    [revised] = decide(revise(actor, mode=mode, reply_id="r1", revision=2), LineState(CHAT, REPLY))
    assert (revised.kind, revised.chat_id, revised.message_id) == ("reply_regenerated", "chat_1", "r1")
    assert (revised.text, revised.mode) == ("A new reply.", mode)


@pytest.mark.parametrize(("fields", "latest", "outcome"), [
    ({}, REPLY, "r1"),  # /reply regenerate typed: whatever reply is the newest
    ({"reply_id": "r1", "revision": 2}, REPLY, "r1"),  # a button on that reply, at that revision
    ({"reply_id": "r1"}, REPLY, "r1"),
    ({"reply_id": "r0", "revision": 2}, REPLY, STALE_REPLY),  # a button on an older reply
    ({"reply_id": "r1", "revision": 1}, REPLY, STALE_REPLY),  # rewritten since the button was pressed
    ({"revision": 3}, REPLY, STALE_REPLY),
    ({}, SAID, NO_REPLY),  # a person spoke last
    ({}, None, NO_REPLY),  # nothing said yet
], ids=["typed", "its button", "its button, any revision", "an older reply's button", "an older revision",
        "a revision not reached", "a person's line is the newest", "no lines"])
def test_only_the_newest_reply_is_rewritten_as_it_was_seen(fields: dict[str, Any], latest: MessageView | None,
                                                           outcome: str) -> None:
    if outcome == "r1":
        assert decide(revise(**fields), LineState(CHAT, latest))[0].message_id == outcome
    else:
        with pytest.raises(DomainError, match="^" + re.escape(outcome)):
            decide(revise(**fields), LineState(CHAT, latest))


@pytest.mark.parametrize(("ids", "posted"), [([], ["d1", "d2"]), (["d3"], ["d3"])],
                         ids=["edited in place", "posted anew"])
def test_a_rewritten_reply_keeps_its_discord_messages_unless_posted_anew(ids: list[str], posted: list[str]) -> None:
    assert decide(revise(discord_message_ids=ids), LineState(CHAT, REPLY))[0].discord_message_ids == posted


@pytest.mark.parametrize(("cmd_type", "mode"), [(RegenerateReply, "regenerate"), (ContinueReply, "continue")])
def test_the_reply_buttons_and_commands_are_decided_as_a_rewrite(cmd_type: type[Any], mode: str) -> None:
    cmd = in_chat(cmd_type).model_copy(update={"text": "More."})
    assert (decide(cmd, LineState(CHAT, REPLY))[0].mode) == mode


# --- another of the host's greetings -----------------------------------------------------------------------------

OPENING = line("r1", 5, role="character", author="")._replace(revision=0, discord_ids=("d1",))
UNSAID = GreetingState(CHAT, OPENING, None, lines=1)


def swipe(actor: Any = MEMBER, **fields: Any) -> SwipeGreeting:
    """/reply greeting number:2, its greeting text picked and the opening reply it replaces named."""
    return in_chat(SwipeGreeting, actor=actor, **{"number": 2, "text": "Well met, traveller.", **fields})


@pytest.mark.parametrize("actor", [STARTER, MEMBER, ADMIN], ids=["starter", "member", "admin"])
def test_anyone_in_the_story_swaps_the_greeting_while_nobody_has_spoken(actor: Any) -> None:
    [swapped] = decide(swipe(actor, reply_id="r1", revision=0), UNSAID)
    assert (swapped.kind, swapped.message_id, swapped.text) == ("reply_regenerated", "r1", "Well met, traveller.")
    assert (swapped.mode, swapped.discord_message_ids) == ("regenerate", ["d1"])


@pytest.mark.parametrize(("fields", "state", "outcome"), [
    ({}, UNSAID, "r1"),
    ({"discord_message_ids": ["d9"]}, UNSAID, "r1"),
    ({}, replace(UNSAID, newest=OPENING._replace(revision=3)), "r1"),  # swapped before: swapped again
    ({}, replace(UNSAID, newest=SAID, newest_person=SAID, lines=2), SPOKEN),
    ({}, GreetingState(CHAT, REPLY._replace(seq=8), line("m0", 7), lines=3), SPOKEN),  # and answered
    ({}, replace(UNSAID, newest=None, lines=0), NO_REPLY),  # the greeting was removed
    ({"reply_id": "r0"}, UNSAID, STALE_REPLY),
    ({"revision": 1}, UNSAID, STALE_REPLY),
], ids=["typed", "posted anew", "swapped again", "someone spoke", "someone spoke, then a reply", "no greeting",
        "another reply's button", "an older revision's button"])
def test_the_greeting_is_swapped_only_while_nobody_has_spoken(fields: dict[str, Any], state: GreetingState,
                                                              outcome: str) -> None:
    if outcome == "r1":
        [swapped] = decide(swipe(**fields), state)
        assert (swapped.message_id, swapped.discord_message_ids) == ("r1", fields.get("discord_message_ids", ["d1"]))
    else:
        with pytest.raises(DomainError, match="^" + re.escape(outcome)):
            decide(swipe(**fields), state)


def test_a_reply_after_the_greeting_is_no_greeting_to_swap() -> None:
    nudged = line("r2", 8, role="character", author="")._replace(character_id="chr_bram")
    with pytest.raises(DomainError, match="^A character has spoken since the opening greeting"):
        decide(swipe(), replace(UNSAID, newest=nudged, lines=2))  # /chat nudge before anyone spoke


# --- every one of them: no story, an ended story, another server's story -----------------------------------------

@pytest.mark.parametrize(("actor", "chat", "error", "text"), [
    (MEMBER, None, NotFound, NO_STORY), (MEMBER, ENDED_CHAT, DomainError, ENDED), (STRANGER, CHAT, NotFound, NO_STORY),
], ids=["no story", "an ended story", "another server's story"])
@pytest.mark.parametrize("swiped", [False, True], ids=["rewrite", "greeting"])
def test_rewrites_need_this_servers_open_story(actor: Any, chat: Any, error: type[Exception], text: str,
                                               swiped: bool) -> None:
    cmd, state = ((swipe(actor), replace(UNSAID, chat=chat)) if swiped
                  else (revise(actor), LineState(chat, REPLY)))
    with pytest.raises(error, match="^" + re.escape(text)):
        decide(cmd, state)
