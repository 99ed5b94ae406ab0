"""What characters remember: memories, and off-screen (meanwhile) scenes with their digests."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, StringConstraints

from engine.events.base import (
    CARD_FIELD_MAX,
    MAX_CHARACTERS_PER_CHAT,
    ChatEvent,
    Id,
    MessageText,
    upcaster,
)

IMPORTANCE_MAX = 10
Importance = Annotated[int, Field(ge=1, le=IMPORTANCE_MAX, description="1 (trivia) to 10 (life-changing)")]


class MemoryWritten(ChatEvent):
    """A fact a character remembers. An automatic memory (`source` "auto", from version 2 on) is the narrator's
    summary of a passage of lines the character witnessed: the chat's lines from `from_seq` through `through_seq`."""

    kind: ClassVar[str] = "memory_written"
    version: ClassVar[int] = 2
    memory_id: Id
    character_id: Id
    text: MessageText
    importance: Importance = 5
    source: Literal["person", "scene", "digest", "skip", "auto"] = "person"
    source_id: Id | None = None
    from_seq: int | None = Field(default=None, ge=1)
    through_seq: int | None = Field(default=None, ge=1)


@upcaster("memory_written", 1)
def _memory_written_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 had no passage: no memory of it summarised one (`from_seq` and `through_seq` stay unset)."""
    return data


class MemoryForgotten(ChatEvent):
    """A memory removed."""

    kind: ClassVar[str] = "memory_forgotten"
    memory_id: Id


class MemoryPinned(ChatEvent):
    """A memory that is in every prompt of its character (within a cap)."""

    kind: ClassVar[str] = "memory_pinned"
    memory_id: Id


class MemoryUnpinned(ChatEvent):
    """A pinned memory back among the others (recalled when relevant)."""

    kind: ClassVar[str] = "memory_unpinned"
    memory_id: Id


class MeanwhileStarted(ChatEvent):
    """An off-screen scene with chosen characters."""

    kind: ClassVar[str] = "meanwhile_scene_started"
    meanwhile_id: Id
    character_ids: list[Id] = Field(min_length=1, max_length=MAX_CHARACTERS_PER_CHAT)
    place_id: Id | None = None
    premise: MessageText


class MeanwhileDigestRecorded(ChatEvent):
    """The written digest of an off-screen scene."""

    kind: ClassVar[str] = "meanwhile_digest_created"
    meanwhile_id: Id
    digest: Annotated[str, StringConstraints(min_length=1, max_length=CARD_FIELD_MAX)]
