"""Loading what a prompt needs from the world tables, in one read (runs on the database's reader thread, which
every channel's reads share), then activating its lore on a worker thread of its own (`with_lore`)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from engine import queries
from engine.errors import NotFound
from engine.events.memory import IMPORTANCE_MAX
from engine.narrator.lore import NO_LORE, LoreReport, LoreSource, activate_lore, load_sources
from engine.narrator.recall import Recalled, recall
from engine.queries_lore import count_lines
from engine.queries_recall import list_pinned_memories
from engine.storage.port import Conn
from engine.views import (
    CharacterView,
    ChatView,
    MemoryView,
    MessageView,
    PlaceView,
    RelationshipView,
    SceneView,
)

HISTORY_WINDOW = 300  # the newest lines considered for a prompt; the budget usually keeps fewer
LORE_THREADS = 8  # prompts whose lore is activated at once (each takes at most about LORE_SECONDS)
LORE_NICE = 5  # how much lower the lore threads' CPU priority is (Linux), so they yield to the rest
MAX_PERSONAS = 6
MEMORY_CANDIDATES = 40
PINNED_MAX = 50  # pinned memories read for a prompt (the prompt's cap usually keeps fewer)
FLOOR_LINES = 12  # the newest lines always in a prompt (when they fit): recall looks only before them


@dataclass(frozen=True)
class PromptInputs:
    """Everything a reply prompt is built from."""

    character: CharacterView
    others: tuple[CharacterView, ...]
    user_name: str
    personas: tuple[tuple[str, str], ...]
    chat: ChatView
    place: PlaceView | None
    scene: SceneView | None
    present: tuple[str, ...]
    relationships: tuple[RelationshipView, ...]
    memories: tuple[MemoryView, ...]
    history: tuple[MessageView, ...]
    persona_ids: tuple[str, ...] = ()  # who each of `personas` is (user ids), in the same order
    lore: LoreReport = NO_LORE
    lore_sources: tuple[LoreSource, ...] = ()  # the books in play, for `with_lore`
    line_count: int = 0  # the chat's lines in all (sticky, cooldown and delay count them)
    lore_budget: int = 0
    recalled: tuple[Recalled, ...] = ()  # older witnessed lines the newest ones ask about, best first
    pinned: tuple[MemoryView, ...] = ()  # the character's own pinned memories, oldest first


def load_inputs(conn: Conn, chat: ChatView, character_id: str, *, before_seq: int | None = None,
                lore_budget: int = 0, line: MessageView | None = None) -> PromptInputs:
    """Read the card, cast, personas, world state, relationships, relevant memories and recent lines, and the
    books in play (when `lore_budget` is above 0; `with_lore` activates them). `line` is a hypothetical newest
    line (never recorded), read as if it had been said after the others."""
    card = queries.find_character_by_id(conn, character_id)
    if card is None:
        raise NotFound("That character no longer exists.")
    others = tuple(queries.find_characters_by_ids(
        conn, [i for i in chat.character_ids if i != character_id and i not in chat.absent]))
    added = () if line is None else (line,)
    history = (*queries.list_messages(conn, chat.chat_id, limit=HISTORY_WINDOW - len(added), before_seq=before_seq,
                                      witness=character_id), *added)
    persona_ids, personas = _personas(conn, chat, history)
    scene = queries.find_scene(conn, chat.active_scene_id) if chat.active_scene_id else None
    place = queries.find_place_by_id(conn, chat.place_id) if chat.place_id else None
    present_ids = scene.present if scene else chat.character_ids
    present = tuple(c.name for c in (card, *others) if c.character_id in present_ids)
    in_play = {character_id, *(c.character_id for c in others), *_speaker_ids(history)}
    relationships = tuple(r for r in queries.list_relationships(conn, chat.chat_id, involving=character_id)
                          if r.source_id in in_play and r.target_id in in_play)
    query_text = " ".join(m.text for m in history[-3:])
    names = (card.name, *(o.name for o in others), *(name for name, _ in personas))
    pinned = tuple(list_pinned_memories(conn, chat.chat_id, character_id, limit=PINNED_MAX))
    memories = tuple(m for m in rank_memories(conn, chat.chat_id, character_id, query_text, ignore_names=names)
                     if not m.pinned)
    recorded = history[:len(history) - len(added)]
    floor = recorded[-FLOOR_LINES] if len(recorded) >= FLOOR_LINES else (recorded[0] if recorded else None)
    recalled = () if floor is None else recall(conn, chat.chat_id, character_id, history, before_seq=floor.seq,
                                                ignore_names=names)
    user_name = next((m.speaker for m in reversed(history) if m.role == "person"),
                     personas[0][0] if personas else "you")
    sources = load_sources(conn, chat.chat_id, card) if lore_budget > 0 else ()
    lines = count_lines(conn, chat.chat_id, before_seq=before_seq) + len(added) if sources else 0
    return PromptInputs(card, others, user_name, personas, chat, place, scene, present, relationships,
                        memories, history, persona_ids, lore_sources=sources, line_count=lines,
                        lore_budget=lore_budget, recalled=recalled, pinned=pinned)


def _lower_priority() -> None:
    """Start a lore thread at a lower CPU priority: its own nice value (Linux threads have one each)."""
    if sys.platform == "linux":
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LORE_NICE)


@functools.cache
def _lore_threads() -> ThreadPoolExecutor:
    """The threads lore is activated on (made on first use; idle ones end by themselves at exit)."""
    return ThreadPoolExecutor(LORE_THREADS, thread_name_prefix="chronicle-lore", initializer=_lower_priority)


async def with_lore(inputs: PromptInputs, seconds: float) -> PromptInputs:
    """The inputs with their lore activated within `seconds` on a lore thread: never on the event loop, nor on the
    reader thread every channel's reads share, and at a lower CPU priority, so a costly book delays only its own
    prompt, by about `seconds` (plus the one search running when time is up)."""
    if not inputs.lore_sources:
        return inputs
    activation = functools.partial(
        activate_lore, inputs.lore_sources, inputs.history, chat_id=inputs.chat.chat_id, card=inputs.character,
        user=inputs.user_name, budget=inputs.lore_budget, line_count=inputs.line_count, seconds=seconds)
    report = await asyncio.get_running_loop().run_in_executor(_lore_threads(), activation)
    return replace(inputs, lore=report, lore_sources=())


HIDDEN = "[hidden: only admins see a card's own instructions]"


def redact_inputs(inputs: PromptInputs, viewer_id: str) -> PromptInputs:
    """The inputs as a member may see them: no hidden card instructions, no other people's persona descriptions."""

    def hide(card: CharacterView) -> CharacterView:
        return replace(card, system_prompt=HIDDEN if card.system_prompt else "",
                       post_history_instructions=HIDDEN if card.post_history_instructions else "")

    personas = tuple((name, desc if who == viewer_id else "") for (name, desc), who
                     in zip(inputs.personas, inputs.persona_ids, strict=True))
    return replace(inputs, character=hide(inputs.character), others=tuple(hide(o) for o in inputs.others),
                   personas=personas)


def _speaker_ids(history: tuple[MessageView, ...]) -> set[str]:
    return {m.author_id for m in history if m.role == "person"}


def _personas(conn: Conn, chat: ChatView,
              history: tuple[MessageView, ...]) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """(user ids, (name, description)) of the people speaking, most recent speaker first."""
    seen: dict[str, tuple[str, str]] = {}
    for message in reversed(history):
        if message.role != "person" or message.author_id in seen:
            continue
        persona = queries.find_persona(conn, message.author_id, chat.guild_id)
        seen[message.author_id] = (message.speaker, persona.description if persona else "")
        if len(seen) >= MAX_PERSONAS:
            break
    return tuple(seen), tuple(seen.values())


def rank_memories(conn: Conn, chat_id: str, character_id: str, query_text: str, *,
                  ignore_names: tuple[str, ...] = ()) -> tuple[MemoryView, ...]:
    """This character's memories, best first: full-text relevance to the latest lines, recency, importance."""
    matched = queries.search_memories(conn, chat_id, query_text, character_id=character_id, limit=24,
                                      ignore_names=ignore_names)
    recent = queries.list_memories(conn, chat_id, character_id, limit=8)
    important = queries.list_important_memories(conn, chat_id, character_id, limit=8)
    newest = max((m.seq for m in (*matched, *recent, *important)), default=1)
    scores: dict[str, tuple[float, MemoryView]] = {}
    for rank, memory in enumerate(matched):
        scores[memory.memory_id] = (2.0 / (1 + rank), memory)
    for memory in (*recent, *important):
        scores.setdefault(memory.memory_id, (0.0, memory))
    ranked = sorted(
        ((relevance + memory.importance / IMPORTANCE_MAX + memory.seq / newest * 0.5, memory)
         for relevance, memory in scores.values()),
        key=lambda pair: -pair[0],
    )
    return tuple(memory for _, memory in ranked[:MEMORY_CANDIDATES])


def hypothetical_line(conn: Conn, chat: ChatView, actor: Any, text: str) -> MessageView:
    """A person's line as if said now by `actor`, under the name recording it would use (never recorded)."""
    persona = queries.find_persona(conn, actor.user_id, actor.guild_id)
    name = persona.name if persona else (actor.display_name or f"User {actor.user_id}")
    return MessageView(message_id="hypothetical", chat_id=chat.chat_id, seq=0, role="person", author_id=actor.user_id,
                       speaker=name, character_id=None, text=text, discord_ids=(), revision=0, retracted=False,
                       story_minute=chat.story_minute, scene_id=chat.active_scene_id)
