"""The rules of off-screen scenes and pinned memories: anyone in the story starts a meanwhile with one or two
characters of the server, at a place of the story (made when new); its digest comes once and only its participants
remember it. A memory of this story is pinned once and unpinned only when pinned."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from engine.commands import PinMemory, RecordMeanwhileDigest, StartMeanwhile, UnpinMemory
from engine.deciders.base import ENDED, NO_STORY
from engine.deciders.memory import DigestState, MeanwhileState, MemoryState
from engine.errors import DomainError, NotFound
from engine.views import MeanwhileView, MemoryView, PlaceView
from tests.engine.deciders.test_rules import (
    ADMIN,
    CHAT,
    ENDED_CHAT,
    MEMBER,
    STARTER,
    STRANGER,
    card,
    decide,
    in_chat,
)

ARIA, BRAM, CORA = card("chr_aria", "Aria"), card("chr_bram", "Bram"), card("chr_cora", "Cora")
CARDS = {"Aria": ARIA, "Bram": BRAM, "Cora": CORA}
DOCKS = PlaceView(place_id="plc_docks", chat_id="chat_1", name="Docks", description="", parent_id=None)
AWAY = MeanwhileState(CHAT, CARDS, None)


def meanwhile(actor: Any = MEMBER, **fields: Any) -> StartMeanwhile:
    """/meanwhile start character:Aria premise:… in CHAT."""
    return in_chat(StartMeanwhile, actor=actor, **{"character": "Aria", "premise": "Aria counts the takings.",
                                                   **fields})


# --- starting an off-screen scene --------------------------------------------------------------------------------

@pytest.mark.parametrize("actor", [STARTER, MEMBER, ADMIN], ids=["starter", "member", "admin"])
def test_anyone_in_the_story_starts_a_meanwhile(actor: Any) -> None:
    [started] = decide(meanwhile(actor), AWAY)
    assert (started.kind, started.chat_id, started.meanwhile_id) == ("meanwhile_scene_started", "chat_1", "mw_new")
    assert (started.character_ids, started.place_id, started.premise) == (["chr_aria"], None,
                                                                          "Aria counts the takings.")


@pytest.mark.parametrize(("fields", "state", "kinds", "characters", "place"), [
    ({}, AWAY, ["meanwhile_scene_started"], ["chr_aria"], None),
    ({"other": "Bram"}, AWAY, ["meanwhile_scene_started"], ["chr_aria", "chr_bram"], None),
    ({"other": "Cora"}, AWAY, ["meanwhile_scene_started"], ["chr_aria", "chr_cora"], None),  # not in the cast
    ({"other": "Aria"}, AWAY, ["meanwhile_scene_started"], ["chr_aria"], None),  # named twice: once
    ({"place": "Docks"}, replace(AWAY, place=DOCKS), ["meanwhile_scene_started"], ["chr_aria"], "plc_docks"),
    ({"place": "Docks"}, AWAY, ["container_created", "meanwhile_scene_started"], ["chr_aria"], "plc_new"),
], ids=["one character", "two characters", "a character outside the cast", "the same character twice",
        "at a known place", "at a new place"])
def test_a_meanwhile_has_its_characters_once_at_a_place_of_the_story(fields: dict[str, Any], state: MeanwhileState,
                                                                    kinds: list[str], characters: list[str],
                                                                    place: str | None) -> None:
    events = decide(meanwhile(**fields), state)
    assert [e.kind for e in events] == kinds
    assert (events[-1].character_ids, events[-1].place_id) == (characters, place)
    if len(events) == 2:
        assert (events[0].place_id, events[0].name, events[0].chat_id) == ("plc_new", "Docks", "chat_1")


def test_a_meanwhile_written_at_once_is_remembered_by_its_participants_only() -> None:
    events = decide(meanwhile(other="Cora", digest="They split the gold."), AWAY)
    assert [e.kind for e in events] == ["meanwhile_scene_started", "meanwhile_digest_created", "memory_written",
                                        "memory_written"]
    assert (events[1].meanwhile_id, events[1].digest) == ("mw_new", "They split the gold.")
    assert [(m.character_id, m.text, m.source, m.source_id, m.importance) for m in events[2:]] == [
        ("chr_aria", "They split the gold.", "digest", "mw_new", 6),
        ("chr_cora", "They split the gold.", "digest", "mw_new", 6)]  # Bram, in the cast but not there: nothing


# --- the digest, written later -----------------------------------------------------------------------------------

SCENE = MeanwhileView(meanwhile_id="mw_1", chat_id="chat_1", place_id=None, premise="Aria counts the takings.",
                      participants=("chr_aria", "chr_cora"), digest=None, story_minute=8 * 60)


@pytest.mark.parametrize(("scene", "outcome"), [
    (SCENE, ["chr_aria", "chr_cora"]),
    (replace(SCENE, participants=("chr_bram",)), ["chr_bram"]),
    (None, "That off-screen scene is not part of this story."),
    (replace(SCENE, chat_id="chat_2"), "That off-screen scene is not part of this story."),
    (replace(SCENE, digest="Done."), "That off-screen scene already has its digest."),
], ids=["two participants", "one participant", "no such scene", "another story's scene", "a digest already"])
def test_a_digest_comes_once_and_only_the_participants_remember_it(scene: MeanwhileView | None,
                                                                   outcome: list[str] | str) -> None:
    cmd = in_chat(RecordMeanwhileDigest, meanwhile_id="mw_1", digest="The till was short.")
    state = DigestState(CHAT, scene)
    if isinstance(outcome, list):
        [digest, *memories] = decide(cmd, state)
        assert (digest.kind, digest.meanwhile_id, digest.digest) == ("meanwhile_digest_created", "mw_1",
                                                                     "The till was short.")
        assert [(m.character_id, m.source, m.source_id) for m in memories] == [(c, "digest", "mw_1") for c in outcome]
    else:
        with pytest.raises((NotFound, DomainError), match="^" + re.escape(outcome)):
            decide(cmd, state)


def test_a_long_digest_is_remembered_by_its_first_4000_characters() -> None:
    long = "x" * 5_000
    [digest, memory, _] = decide(in_chat(RecordMeanwhileDigest, meanwhile_id="mw_1", digest=long),
                                 DigestState(CHAT, SCENE))
    assert (len(digest.digest), memory.text) == (5_000, long[:4_000])


# --- pinning memories --------------------------------------------------------------------------------------------

MEMORY = MemoryView(memory_id="mem_1", chat_id="chat_1", character_id="chr_aria", text="owes Bram a song",
                    importance=5, source="person", source_id=None, story_minute=0, seq=9)
PINNED = replace(MEMORY, pinned=True)


@pytest.mark.parametrize(("cmd_type", "memory", "outcome"), [
    (PinMemory, MEMORY, "memory_pinned"),
    (PinMemory, PINNED, "Memory 'mem_1' is already pinned. /memory unpin takes it off."),
    (PinMemory, None, "There is no memory 'mem_1' in this story. See /memory list."),
    (UnpinMemory, PINNED, "memory_unpinned"),
    (UnpinMemory, MEMORY, "Memory 'mem_1' is not pinned. /memory pin pins it."),
    (UnpinMemory, None, "There is no memory 'mem_1' in this story. See /memory list."),
], ids=["pin", "pin twice", "pin none", "unpin", "unpin an unpinned one", "unpin none"])
@pytest.mark.parametrize("actor", [STARTER, MEMBER, ADMIN], ids=["starter", "member", "admin"])
def test_a_memory_of_this_story_is_pinned_once_and_unpinned_when_pinned(cmd_type: type[Any], memory: Any,
                                                                        outcome: str, actor: Any) -> None:
    cmd = in_chat(cmd_type, actor=actor, id="mem_1")
    if outcome.startswith("memory_"):
        [event] = decide(cmd, MemoryState(CHAT, memory))
        assert (event.kind, event.chat_id, event.memory_id) == (outcome, "chat_1", "mem_1")
    else:
        with pytest.raises((NotFound, DomainError), match="^" + re.escape(outcome)):
            decide(cmd, MemoryState(CHAT, memory))


# --- every one of them: no story, an ended story, another server's story -----------------------------------------

WHERE = [(lambda actor: meanwhile(actor), lambda chat: replace(AWAY, chat=chat)),
         (lambda actor: in_chat(RecordMeanwhileDigest, actor=actor, meanwhile_id="mw_1", digest="x"),
          lambda chat: DigestState(chat, SCENE)),
         (lambda actor: in_chat(PinMemory, actor=actor, id="mem_1"), lambda chat: MemoryState(chat, MEMORY)),
         (lambda actor: in_chat(UnpinMemory, actor=actor, id="mem_1"), lambda chat: MemoryState(chat, PINNED))]


@pytest.mark.parametrize(("actor", "chat", "error", "text"), [
    (MEMBER, None, NotFound, NO_STORY), (MEMBER, ENDED_CHAT, DomainError, ENDED), (STRANGER, CHAT, NotFound, NO_STORY),
], ids=["no story", "an ended story", "another server's story"])
@pytest.mark.parametrize(("cmd", "state"), WHERE, ids=["start", "digest", "pin", "unpin"])
def test_these_need_this_servers_open_story(actor: Any, chat: Any, error: type[Exception], text: str,
                                            cmd: Callable[[Any], Any], state: Callable[[Any], Any]) -> None:
    with pytest.raises(error, match="^" + re.escape(text)):
        decide(cmd(actor), state(chat))
