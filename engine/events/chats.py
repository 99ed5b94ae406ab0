"""A story's life: started in a channel, ended, rewound; who is in its cast."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints, model_validator

from engine.events.base import (
    ChatEvent,
    Id,
    Minute,
    Name,
)


class ChatStarted(ChatEvent):
    """A story starts in a channel."""

    kind: ClassVar[str] = "chat_created"
    guild_id: Id
    channel_id: Id
    host_id: Id
    guest_id: Id | None = None
    started_by: Id
    start_minute: Minute
    anchor: Name
    weather: Name

    @model_validator(mode="after")
    def _two_characters_at_most(self) -> ChatStarted:
        if self.guest_id is not None and self.guest_id == self.host_id:
            raise ValueError("the guest must be a different character from the host")
        return self


class ChatEnded(ChatEvent):
    """The channel's story is closed."""

    kind: ClassVar[str] = "chat_ended"
    ended_by: Id
    reason: Annotated[str, StringConstraints(max_length=200)] | None = None  # e.g. "the channel was deleted"


class ChatRewound(ChatEvent):
    """An admin rewound the chat: its events after `to_seq` no longer count."""

    kind: ClassVar[str] = "chat_rewound"
    to_seq: int = Field(ge=1)
    actor_id: Id


class CastJoined(ChatEvent):
    """A character joins the chat's cast, after the members already in it (a story's host and guest are its
    first members, upcast from `chat_created`)."""

    kind: ClassVar[str] = "cast_joined"
    character_id: Id


class CastLeft(ChatEvent):
    """A character leaves the chat's cast (what it said stays in the story)."""

    kind: ClassVar[str] = "cast_left"
    character_id: Id


class CastMuted(ChatEvent):
    """A cast member stops speaking; it stays in the others' "who is here"."""

    kind: ClassVar[str] = "cast_muted"
    character_id: Id


class CastUnmuted(ChatEvent):
    """A muted cast member may speak again."""

    kind: ClassVar[str] = "cast_unmuted"
    character_id: Id


class TurnRuleSet(ChatEvent):
    """How the chat picks who speaks next (engine/turns.py); a chat that never set one answers as a host/guest
    story always has (the host, unless a line names others)."""

    kind: ClassVar[str] = "turn_rule_set"
    rule: Literal["natural", "list", "pooled", "mentioned", "manual", "director"]
