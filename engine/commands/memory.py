"""What characters remember: /memory add, list, search, forget, pin, unpin; /meanwhile start (an off-screen scene)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from engine import queries
from engine.commands.base import (
    CharacterName,
    InChat,
    InStory,
    Line,
    Narrated,
    NarratorTask,
    PlaceName,
)
from engine.commands.results import found, meanwhile_of, payload_of
from engine.events import CARD_FIELD_MAX, MAX_CHARACTERS_PER_CHAT, Id, MessageText, Recorded
from engine.events.memory import Importance
from engine.storage.port import Conn
from engine.table import INTERNAL, NOWHERE, Lookup, action
from engine.views import ChatView, MeanwhileView, MemoryView

MEANWHILE_TASK = ("You are the narrator of a roleplay story. Write a short off-screen scene (one or two paragraphs, "
                  "past tense, third person) in which {names}{place}: {premise}\n\n{cards}\n\nWrite only the scene.")
MemoryId = Annotated[Id, Lookup("memory")]
Digest = Annotated[str, StringConstraints(min_length=1, max_length=CARD_FIELD_MAX)]


def named(conn: Conn, memories: Iterable[MemoryView]) -> list[MemoryView]:
    """Memories with the name of the character who remembers each."""
    names: dict[str, str] = {}
    out = []
    for memory in memories:
        if memory.character_id not in names:
            card = queries.find_character_by_id(conn, memory.character_id)
            names[memory.character_id] = card.name if card else memory.character_id
        out.append(replace(memory, character_name=names[memory.character_id]))
    return out


def _memory(conn: Conn, cmd: Any, recorded: list[Recorded[Any]]) -> MemoryView:
    p = payload_of(recorded, "memory_written")
    return named(conn, [found(queries.find_memory(conn, p.chat_id, p.memory_id), "memory")])[0]


def _remembered(cmd: WriteMemory, m: MemoryView) -> str:
    pinned = " It is pinned: it is in every prompt of theirs." if m.pinned else ""
    return f"Remembered (`{m.memory_id}`): **{m.character_name}** will remember that.{pinned}"


@action("memory add", "Give a character a memory", result=_memory, told=_remembered)
class WriteMemory(InChat[MemoryView]):
    """Give a character of the story (the host by default) a memory."""

    text: Line = Field(description="What they remember")
    character: CharacterName | None = Field(default=None, description="Who remembers (default: the host)")
    importance: Importance = 5
    pinned: bool = Field(default=False, description="Pin it at once: in every prompt of this character")


def memory_lines(q: Any, memories: list[MemoryView]) -> str:
    """Memories with their ids (for /memory forget), one a line."""
    lines = [f"`{m.memory_id}` {'📌 ' if m.pinned else ''}**{m.character_name}** ({m.importance}): {m.text[:200]}"
             for m in memories]
    return "\n".join(lines) or "No memories found."


def _listed(conn: Conn, q: ListMemories) -> list[MemoryView]:
    chat = queries.get_open_chat(conn, q.channel_id)
    who = queries.get_character(conn, chat.guild_id, q.character).character_id if q.character else None
    return named(conn, queries.list_memories(conn, chat.chat_id, who, limit=25))


@action("memory list", "List the story's newest memories", answer=_listed, told=memory_lines, title="Memories")
class ListMemories(InStory[list[MemoryView]]):
    """The story's newest memories (of one character, when given)."""

    character: CharacterName | None = Field(default=None, description="Only this character's memories")


def _found(conn: Conn, q: SearchMemories) -> list[MemoryView]:
    chat = queries.get_open_chat(conn, q.channel_id)
    return named(conn, queries.search_memories(conn, chat.chat_id, q.query))


@action("memory search", "Search the story's memories", answer=_found, told=memory_lines,
        title=lambda q: f"Memories matching “{q.query}”")
class SearchMemories(InStory[list[MemoryView]]):
    """Memories matching the words of `query`, best first."""

    query: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(description="Words to look for")


@action("memory forget", "Make a character forget a memory",
        result=lambda conn, cmd, recorded: payload_of(recorded, "memory_forgotten").memory_id,
        told=lambda cmd, memory_id: f"Forgotten: `{memory_id}`.")
class ForgetMemory(InChat[str]):
    """Remove a memory of this story."""

    id: MemoryId = Field(description="The memory's id (see /memory list)")


def _pinned(conn: Conn, cmd: Any, recorded: list[Recorded[Any]]) -> MemoryView:
    return named(conn, [found(queries.find_memory(conn, cmd.chat_id, cmd.id), "memory")])[0]


@action("memory pin", "Pin a memory: it is in every prompt of its character", result=_pinned,
        told=lambda cmd, m: f"Pinned `{m.memory_id}`: **{m.character_name}** will always have it in mind.")
class PinMemory(InChat[MemoryView]):
    """Pin a memory of this story: it is in every prompt of the character who remembers it (within a cap)."""

    id: MemoryId = Field(description="The memory's id (see /memory list)")


@action("memory unpin", "Unpin a memory: it comes back only when relevant", result=_pinned,
        told=lambda cmd, m: f"Unpinned `{m.memory_id}`: **{m.character_name}** recalls it when it is relevant.")
class UnpinMemory(InChat[MemoryView]):
    """Unpin a memory of this story: it comes back to its character's prompt only when relevant."""

    id: MemoryId = Field(description="The memory's id (see /memory list)")


def _meanwhile_task(cmd: StartMeanwhile, chat: ChatView, conn: Conn) -> NarratorTask:
    """The off-screen scene's people and premise."""
    cards = [queries.get_character(conn, chat.guild_id, name) for name in cmd.characters]
    instruction = MEANWHILE_TASK.format(
        names=" and ".join(c.name for c in cards), place=f" at {cmd.place}" if cmd.place else "",
        premise=cmd.premise.strip(), cards="\n".join(f"{c.name}: {c.description}" for c in cards))
    return NarratorTask(instruction, (), 8_000)


def meanwhile_text(cmd: Any, scene: MeanwhileView) -> str:
    """An off-screen scene's digest, for the channel."""
    digest = scene.digest or "*(no digest yet)*"
    return f"🌒 **Meanwhile** — {' and '.join(scene.names)}: *{scene.premise}*\n{digest}"


@action("meanwhile start", "Play out an off-screen scene; the narrator writes it", public=True,
        result=meanwhile_of("meanwhile_scene_started"), told=meanwhile_text)
class StartMeanwhile(InChat[MeanwhileView]):
    """An off-screen scene with one or two characters; only they remember its digest."""

    character: CharacterName = Field(description="Who is in it")
    premise: Annotated[str, StringConstraints(min_length=1, max_length=2_000, strip_whitespace=True)] = Field(
        description="What it is about")
    place: PlaceName | None = Field(default=None, description="Where it happens")
    other: CharacterName | None = Field(default=None, description="A second character")
    digest: Annotated[Digest | None, Narrated(_meanwhile_task), INTERNAL] = None

    @property
    def characters(self) -> list[str]:
        """Who is in the scene, in the order named."""
        return [self.character, *([self.other] if self.other else [])]


@action("meanwhile digest", "An off-screen scene's digest written elsewhere", frontends=NOWHERE,
        result=meanwhile_of("meanwhile_digest_created"), told=meanwhile_text)
class RecordMeanwhileDigest(InChat[MeanwhileView]):
    """Record an off-screen scene's digest; only its participants remember it."""

    meanwhile_id: Id
    digest: Digest


class PassageMemory(BaseModel):
    """One summary of a passage and the characters who remember it (they witnessed the same lines of it)."""

    model_config = ConfigDict(frozen=True)
    character_ids: list[Id] = Field(min_length=1, max_length=MAX_CHARACTERS_PER_CHAT)
    text: MessageText


def _passage_memories(conn: Conn, cmd: Any, recorded: list[Recorded[Any]]) -> list[MemoryView]:
    ids = [e.payload.memory_id for e in recorded if e.kind == "memory_written"]
    return named(conn, [found(queries.find_memory(conn, cmd.chat_id, i), "memory") for i in ids])


@action("memory passage", "The narrator's memories of a passage of the story", frontends=NOWHERE,
        result=_passage_memories, told=lambda cmd, memories: memory_lines(cmd, memories))
class RecordPassageMemories(InChat[list[MemoryView]]):
    """Record the narrator's summaries of a passage (an automatic memory): the chat's witnessed lines after
    `after_seq` (how far they were summarised when it was read) from `from_seq` through `through_seq`, `lines` of
    them; each character remembers the summary of the lines it witnessed."""

    after_seq: int = Field(ge=0)
    from_seq: int = Field(ge=1)
    through_seq: int = Field(ge=1)
    lines: int = Field(ge=1)
    memories: list[PassageMemory] = Field(min_length=1, max_length=MAX_CHARACTERS_PER_CHAT)
