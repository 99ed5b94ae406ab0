"""The rules of what the narrator hands over to be recorded on its own: another member's reply chosen by the
chat's rule ("Someone else"), and the summaries of a passage that left the recent window (automatic memories)."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest

from engine.commands import RecordPassageMemories, SomeoneElse
from engine.commands.memory import PassageMemory
from engine.deciders.base import ENDED, NO_STORY
from engine.deciders.cast import CastState
from engine.deciders.memory import AUTO_IMPORTANCE, PASSAGE_CHANGED, PassageState
from engine.errors import DomainError, InvalidInput, NotFound
from engine.events import Turn
from engine.queries_passages import WitnessedLine
from tests.engine.deciders.test_rules import ENDED_CHAT, MEMBER, STRANGER, decide, in_chat
from tests.engine.deciders.test_rules_group import BRAM, BRAM_MUTED, CORA, TRIO
from tests.engine.deciders.test_rules_transcript import line

PICKED = Turn(rule="natural", reason="random", roll=0.42)


def refused(outcome: str) -> Any:
    """The refusal whose one line starts with `outcome`."""
    return pytest.raises((DomainError, NotFound, InvalidInput), match="^" + re.escape(outcome))


# --- someone else answers ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("chat", "named", "outcome"), [
    (TRIO, CORA, "chr_cora"),
    (BRAM_MUTED, BRAM, "Bram can't speak now (muted, or away from the scene)."),
    (replace(TRIO, active_scene_id="scn_1", absent=("chr_cora",)), CORA, "Cora can't speak now"),
    (replace(TRIO, cast=("chr_aria", "chr_bram")), CORA, "Cora is not in this story's cast."),
    (TRIO, None, "There is no character named 'Bram' in this server."),
    (None, CORA, NO_STORY),
    (replace(ENDED_CHAT, cast=TRIO.cast), CORA, ENDED),
], ids=["a speaking member", "a muted member", "a member away", "not a member", "no such character", "no story",
        "an ended story"])
def test_someone_else_is_a_member_who_can_speak_now(chat: Any, named: Any, outcome: str) -> None:
    cmd = in_chat(SomeoneElse, actor=MEMBER, character=named.name if named else "Bram", text="My turn.",
                  turn=PICKED, discord_message_ids=["d7"])
    if outcome.startswith("chr_"):
        [reply] = decide(cmd, CastState(chat, named))
        assert (reply.kind, reply.message_id, reply.character_id, reply.character_name) == (
            "bot_replied", "msg_new", outcome, named.name)
        assert (reply.text, reply.discord_message_ids, reply.turn) == ("My turn.", ["d7"], PICKED)  # the draw kept
    else:
        with refused(outcome[:40]):
            decide(cmd, CastState(chat, named))


# --- a passage remembered ----------------------------------------------------------------------------------------

def said(seq: int, *witnesses: str) -> WitnessedLine:
    return WitnessedLine(line(f"m{seq}", seq), witnesses)


PASSAGE = [said(11, "chr_aria", "chr_bram"), said(12, "chr_aria", "chr_bram"), said(13, "chr_aria")]
READ = PassageState(TRIO, 10, PASSAGE)  # summarised through 10; lines 11-13 as the narrator read them


def passage(*memories: tuple[list[str], str], **fields: Any) -> RecordPassageMemories:
    """The narrator's summaries of lines 11-13 (three lines, after the summary through 10)."""
    given = [PassageMemory(character_ids=ids, text=text) for ids, text in memories] or [
        PassageMemory(character_ids=["chr_aria"], text="They talked of the cask.")]
    return in_chat(RecordPassageMemories, **{"after_seq": 10, "from_seq": 11, "through_seq": 13, "lines": 3,
                                             "memories": given, **fields})


def test_each_character_remembers_the_summary_of_the_lines_it_witnessed() -> None:
    cmd = passage((["chr_aria"], "All three lines."), (["chr_bram"], "The first two lines."))
    memories = decide(cmd, READ)
    assert [(m.kind, m.character_id, m.text) for m in memories] == [
        ("memory_written", "chr_aria", "All three lines."), ("memory_written", "chr_bram", "The first two lines.")]
    assert {(m.source, m.importance, m.from_seq, m.through_seq) for m in memories} == {("auto", AUTO_IMPORTANCE,
                                                                                       11, 13)}


def test_characters_who_witnessed_the_same_lines_share_one_summary_remembered_once_each() -> None:
    memories = decide(passage((["chr_aria", "chr_bram", "chr_aria"], "Shared.")), READ)
    assert [m.character_id for m in memories] == ["chr_aria", "chr_bram"]


@pytest.mark.parametrize(("cmd", "state", "outcome"), [
    (passage((["chr_cora"], "What she never heard.")), READ, "A character remembers only a passage whose lines it"),
    (passage(), replace(READ, summarised=13), "That passage of the story has been summarised already"),
    (passage(), replace(READ, summarised=8), "That passage of the story has been summarised already"),
    (passage(), replace(READ, lines=PASSAGE[:2]), PASSAGE_CHANGED),  # a line removed meanwhile
    (passage(), replace(READ, lines=[]), PASSAGE_CHANGED),  # rewound past it
    (passage(), replace(READ, lines=[said(12, "chr_aria"), *PASSAGE[1:], said(14, "chr_aria")]), PASSAGE_CHANGED),
    (passage(from_seq=10), READ, "A passage runs forward"),
    (passage(from_seq=14), READ, "A passage runs forward"),
    (passage(), replace(READ, chat=None), NO_STORY),
    (passage(), replace(READ, chat=ENDED_CHAT), ENDED),
], ids=["a character that witnessed none of it", "summarised since", "rewound below the marker", "a line removed",
        "every line gone", "another passage now", "starting at the marker", "ending before it starts", "no story",
        "an ended story"])
def test_a_passage_is_recorded_once_and_only_as_it_was_read(cmd: RecordPassageMemories, state: PassageState,
                                                            outcome: str) -> None:
    with refused(outcome[:40]):
        decide(cmd, state)


def test_a_passage_of_another_servers_story_is_no_story_here() -> None:
    with refused(NO_STORY[:30]):
        decide(passage().model_copy(update={"actor": STRANGER}), READ)
