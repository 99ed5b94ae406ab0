"""The transcript: people's lines, characters' replies, edits, retractions and revised replies."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

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


class Turn(BaseModel):
    """Why a character spoke: the chat's rule then, how it was chosen (named by the line, its talkativeness roll
    won, a random pick, next in the list, nudged by a person, the first of the cast, named by the director), the
    random number drawn, when one was, and the director's answer, when the model was asked. Decided before the
    reply was recorded; replaying it never draws or asks again."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    rule: Annotated[str, StringConstraints(max_length=20)]
    reason: Literal["named", "rolled", "random", "list", "nudged", "first", "directed"]
    roll: float | None = Field(default=None, ge=0, le=1)
    answer: Annotated[str, StringConstraints(max_length=100)] | None = None


class ReplyRecorded(ChatEvent):
    """A character's reply (and, in a group story, the turn that chose its speaker)."""

    kind: ClassVar[str] = "bot_replied"
    message_id: Id
    character_id: Id
    character_name: Name
    text: ReplyText
    discord_message_ids: list[Id] = Field(default_factory=list, max_length=10)
    turn: Turn | None = None


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
