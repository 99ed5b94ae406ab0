"""Deciders for what characters remember: memories and off-screen (meanwhile) scenes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine import queries
from engine.commands import (
    Command,
    ForgetMemory,
    PinMemory,
    RecordMeanwhileDigest,
    RecordPassageMemories,
    StartMeanwhile,
    UnpinMemory,
    WriteMemory,
)
from engine.deciders.base import Context, Decider, emit, load_chat, story_chat
from engine.errors import DomainError, InvalidInput, NotFound
from engine.events import (
    Event,
    MeanwhileDigestRecorded,
    MeanwhileStarted,
    MemoryForgotten,
    MemoryPinned,
    MemoryUnpinned,
    MemoryWritten,
    PlaceCreated,
)
from engine.queries_passages import WitnessedLine, lines_after, summarised_through
from engine.storage.port import Conn
from engine.store import NewEvent
from engine.views import CharacterView, ChatView, MeanwhileView, MemoryView, PlaceView


@dataclass(frozen=True)
class CastState:
    """The chat and the characters a command names (by the names it used)."""

    chat: ChatView | None
    cards: dict[str, CharacterView]


def _cards(world: Conn, chat: ChatView | None, names: list[str]) -> dict[str, CharacterView]:
    if chat is None:
        return {}
    return {name: queries.get_character(world, chat.guild_id, name) for name in names}


def _in_story(chat: ChatView, card: CharacterView) -> str:
    if card.character_id not in chat.character_ids:
        raise DomainError(f"{card.name} is not in this story.")
    return card.character_id


def load_write_memory(world: Conn, cmd: WriteMemory) -> CastState:
    """The chat and the named character."""
    chat = load_chat(world, cmd)
    return CastState(chat, _cards(world, chat, [cmd.character] if cmd.character else []))


def decide_write_memory(cmd: WriteMemory, state: CastState, ctx: Context) -> list[NewEvent]:
    """A person gives a character of the story (the host by default) a memory."""
    chat = story_chat(state.chat, cmd)
    who = _in_story(chat, state.cards[cmd.character]) if cmd.character else chat.host_id
    memory_id = ctx.new_id("mem")
    written = MemoryWritten(chat_id=chat.chat_id, memory_id=memory_id, character_id=who, text=cmd.text,
                            importance=cmd.importance, source="person", source_id=cmd.actor.user_id)
    pinned = [MemoryPinned(chat_id=chat.chat_id, memory_id=memory_id)] if cmd.pinned else []
    return emit(cmd.actor, written, *pinned)


@dataclass(frozen=True)
class MemoryState:
    """The chat and the memory named."""

    chat: ChatView | None
    memory: MemoryView | None


def load_forget_memory(world: Conn, cmd: ForgetMemory) -> MemoryState:
    """The chat and the memory."""
    return MemoryState(load_chat(world, cmd), queries.find_memory(world, cmd.chat_id, cmd.id))


def decide_forget_memory(cmd: ForgetMemory, state: MemoryState, ctx: Context) -> list[NewEvent]:
    """Remove a memory of this story."""
    chat = story_chat(state.chat, cmd)
    if state.memory is None:
        raise NotFound(f"There is no memory '{cmd.id}' in this story. See /memory list.")
    return emit(cmd.actor, MemoryForgotten(chat_id=chat.chat_id, memory_id=cmd.id))


def load_pin_memory(world: Conn, cmd: PinMemory | UnpinMemory) -> MemoryState:
    """The chat and the memory."""
    return MemoryState(load_chat(world, cmd), queries.find_memory(world, cmd.chat_id, cmd.id))


def _story_memory(cmd: PinMemory | UnpinMemory, state: MemoryState) -> tuple[ChatView, MemoryView]:
    chat = story_chat(state.chat, cmd)
    if state.memory is None:
        raise NotFound(f"There is no memory '{cmd.id}' in this story. See /memory list.")
    return chat, state.memory


def decide_pin_memory(cmd: PinMemory, state: MemoryState, ctx: Context) -> list[NewEvent]:
    """Pin a memory of this story (once)."""
    chat, memory = _story_memory(cmd, state)
    if memory.pinned:
        raise DomainError(f"Memory '{cmd.id}' is already pinned. /memory unpin takes it off.")
    return emit(cmd.actor, MemoryPinned(chat_id=chat.chat_id, memory_id=cmd.id))


def decide_unpin_memory(cmd: UnpinMemory, state: MemoryState, ctx: Context) -> list[NewEvent]:
    """Unpin a pinned memory of this story."""
    chat, memory = _story_memory(cmd, state)
    if not memory.pinned:
        raise DomainError(f"Memory '{cmd.id}' is not pinned. /memory pin pins it.")
    return emit(cmd.actor, MemoryUnpinned(chat_id=chat.chat_id, memory_id=cmd.id))


@dataclass(frozen=True)
class MeanwhileState:
    """The chat, the named characters, and the place."""

    chat: ChatView | None
    cards: dict[str, CharacterView]
    place: PlaceView | None


def load_start_meanwhile(world: Conn, cmd: StartMeanwhile) -> MeanwhileState:
    """The chat, the characters and the place."""
    chat = load_chat(world, cmd)
    place = queries.find_place(world, cmd.chat_id, cmd.place) if cmd.place else None
    return MeanwhileState(chat, _cards(world, chat, list(cmd.characters)), place)


def decide_start_meanwhile(cmd: StartMeanwhile, state: MeanwhileState, ctx: Context) -> list[NewEvent]:
    """An off-screen scene with characters of this server, at a place of the story (created if new)."""
    chat = story_chat(state.chat, cmd)
    ids = list(dict.fromkeys(state.cards[n].character_id for n in cmd.characters))
    events: list[Event] = []
    place_id = None
    if cmd.place:
        place_id = state.place.place_id if state.place else ctx.new_id("plc")
        if state.place is None:
            events.append(PlaceCreated(chat_id=chat.chat_id, place_id=place_id, name=cmd.place))
    meanwhile_id = ctx.new_id("mw")
    events.append(MeanwhileStarted(chat_id=chat.chat_id, meanwhile_id=meanwhile_id, character_ids=ids,
                                        place_id=place_id, premise=cmd.premise))
    if cmd.digest is not None:
        events += _digest_events(chat.chat_id, meanwhile_id, ids, cmd.digest, ctx)
    return emit(cmd.actor, *events)


def _digest_events(chat_id: str, meanwhile_id: str, participants: list[str] | tuple[str, ...], digest: str,
                   ctx: Context) -> list[Event]:
    """The digest, and a memory of it for each participant only (knowledge follows presence)."""
    return [MeanwhileDigestRecorded(chat_id=chat_id, meanwhile_id=meanwhile_id, digest=digest),
            *(MemoryWritten(chat_id=chat_id, memory_id=ctx.new_id("mem"), character_id=who, text=digest[:4000],
                            importance=6, source="digest", source_id=meanwhile_id) for who in participants)]


@dataclass(frozen=True)
class DigestState:
    """The chat and the off-screen scene."""

    chat: ChatView | None
    scene: MeanwhileView | None


def load_meanwhile_digest(world: Conn, cmd: RecordMeanwhileDigest) -> DigestState:
    """The chat and the scene."""
    return DigestState(load_chat(world, cmd), queries.find_meanwhile(world, cmd.meanwhile_id))


def decide_record_meanwhile_digest(cmd: RecordMeanwhileDigest, state: DigestState, ctx: Context) -> list[NewEvent]:
    """The digest, and a memory of it for each participant only."""
    chat = story_chat(state.chat, cmd)
    scene = state.scene
    if scene is None or scene.chat_id != chat.chat_id:
        raise NotFound("That off-screen scene is not part of this story.")
    if scene.digest is not None:
        raise DomainError("That off-screen scene already has its digest.")
    return emit(cmd.actor, *_digest_events(chat.chat_id, scene.meanwhile_id, scene.participants, cmd.digest, ctx))


AUTO_IMPORTANCE = 4  # an automatic memory: worth recalling, below a scene's summary (6) or a person's default (5)
PASSAGE_CHANGED = "The passage changed while it was being summarised (a rewind, or a line removed); nothing recorded."


@dataclass(frozen=True)
class PassageState:
    """The chat, how far its lines are summarised, and the passage's lines as they are now."""

    chat: ChatView | None
    summarised: int
    lines: list[WitnessedLine]


def load_passage_memories(world: Conn, cmd: RecordPassageMemories) -> PassageState:
    """The chat, its summarised-through marker and the live lines of the passage."""
    lines = lines_after(world, cmd.chat_id, cmd.after_seq, through_seq=cmd.through_seq, limit=cmd.lines + 1)
    return PassageState(load_chat(world, cmd), summarised_through(world, cmd.chat_id), lines)


def decide_record_passage_memories(cmd: RecordPassageMemories, state: PassageState,
                                   ctx: Context) -> list[NewEvent]:
    """The narrator's summaries of a passage, each remembered by characters who witnessed lines of it; refused when
    the passage was summarised already or is not the one that was read (nothing is then recorded)."""
    chat = story_chat(state.chat, cmd)
    if not cmd.after_seq < cmd.from_seq <= cmd.through_seq:
        raise InvalidInput("A passage runs forward, after the lines summarised before it.")
    if state.summarised != cmd.after_seq:
        raise DomainError("That passage of the story has been summarised already; nothing recorded.")
    if len(state.lines) != cmd.lines or not state.lines or state.lines[0].message.seq != cmd.from_seq:
        raise DomainError(PASSAGE_CHANGED)
    witnessed = {who for line in state.lines for who in line.witnesses}
    if any(who not in witnessed for memory in cmd.memories for who in memory.character_ids):
        raise InvalidInput("A character remembers only a passage whose lines it witnessed.")
    return emit(cmd.actor, *(MemoryWritten(
        chat_id=chat.chat_id, memory_id=ctx.new_id("mem"), character_id=who, text=memory.text,
        importance=AUTO_IMPORTANCE, source="auto", from_seq=cmd.from_seq, through_seq=cmd.through_seq)
        for memory in cmd.memories for who in dict.fromkeys(memory.character_ids)))


DECIDERS: dict[type[Command[Any]], Decider[Any, Any]] = {
    WriteMemory: Decider(load_write_memory, decide_write_memory),
    ForgetMemory: Decider(load_forget_memory, decide_forget_memory),
    PinMemory: Decider(load_pin_memory, decide_pin_memory),
    UnpinMemory: Decider(load_pin_memory, decide_unpin_memory),
    StartMeanwhile: Decider(load_start_meanwhile, decide_start_meanwhile),
    RecordMeanwhileDigest: Decider(load_meanwhile_digest, decide_record_meanwhile_digest),
    RecordPassageMemories: Decider(load_passage_memories, decide_record_passage_memories),
}
