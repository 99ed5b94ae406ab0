"""The transcript: people's lines, characters' replies, edits, retractions and revised replies."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from engine.events.base import (
    ChatEvent,
    Id,
    MessageText,
    Name,
    ReplyText,
)


class LineSaid(ChatEvent):
    """A person's in-character message."""

    kind: ClassVar[str] = "user_said"
    message_id: Id
    author_id: Id
    persona_name: Name
    text: MessageText


class ReplyRecorded(ChatEvent):
    """A character's reply."""

    kind: ClassVar[str] = "bot_replied"
    message_id: Id
    character_id: Id
    character_name: Name
    text: ReplyText
    discord_message_ids: list[Id] = Field(default_factory=list, max_length=10)


class MessageEdited(ChatEvent):
    """A person edited a story message."""

    kind: ClassVar[str] = "message_edited"
    message_id: Id
    text: MessageText


class MessageRetracted(ChatEvent):
    """A story message was deleted."""

    kind: ClassVar[str] = "message_retracted"
    message_id: Id


class ReplyRevised(ChatEvent):
    """A reply replaced by a new generation (or extended, mode 'continue')."""

    kind: ClassVar[str] = "reply_regenerated"
    message_id: Id
    text: ReplyText
    mode: Literal["regenerate", "continue"] = "regenerate"
    discord_message_ids: list[Id] = Field(default_factory=list, max_length=10)
