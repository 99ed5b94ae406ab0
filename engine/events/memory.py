"""What characters remember: memories, and off-screen (meanwhile) scenes with their digests."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints

from engine.events.base import (
    CARD_FIELD_MAX,
    MAX_CHARACTERS_PER_CHAT,
    ChatEvent,
    Id,
    MessageText,
)

IMPORTANCE_MAX = 10
Importance = Annotated[int, Field(ge=1, le=IMPORTANCE_MAX, description="1 (trivia) to 10 (life-changing)")]


class MemoryWritten(ChatEvent):
    """A fact a character remembers."""

    kind: ClassVar[str] = "memory_written"
    memory_id: Id
    character_id: Id
    text: MessageText
    importance: Importance = 5
    source: Literal["person", "scene", "digest", "skip"] = "person"
    source_id: Id | None = None


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
