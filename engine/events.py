"""Event payload models: one frozen, versioned pydantic model per kind of DESIGN.md §3."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Generic, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from typing_extensions import TypeVar

from engine.lore.fields import TEXT_MAX

# Limits shared by events and commands (and declared to Discord by the bot). Card text allows what real
# community cards hold: one limit with the card importer's (engine.lore.fields.TEXT_MAX).
NAME_MAX = 64
CARD_FIELD_MAX = TEXT_MAX
MESSAGE_MAX = 4_000
REPLY_MAX = 8_000
ID_MAX = 80
URL_MAX = 2_000
MAX_CHARACTERS_PER_CHAT = 2
SCORE_MIN, SCORE_MAX = -100, 100

Id = Annotated[str, StringConstraints(min_length=1, max_length=ID_MAX, strip_whitespace=True)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=NAME_MAX, strip_whitespace=True)]
CardText = Annotated[str, StringConstraints(max_length=CARD_FIELD_MAX)]
MessageText = Annotated[str, StringConstraints(min_length=1, max_length=MESSAGE_MAX)]
ReplyText = Annotated[str, StringConstraints(min_length=1, max_length=REPLY_MAX)]
Url = Annotated[str, StringConstraints(max_length=URL_MAX, pattern=r"^https?://\S+$")]
Score = Annotated[int, Field(ge=SCORE_MIN, le=SCORE_MAX)]
Minute = Annotated[int, Field(ge=0)]


class Event(BaseModel):
    """Base of every payload. `kind` and `version` are the log's schema; never rename a kind."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: ClassVar[str]
    version: ClassVar[int] = 1

    def stream(self) -> str:
        """The stream this event belongs to (`chat:<id>`, `guild:<id>` or `user:<id>`)."""
        return f"chat:{getattr(self, 'chat_id')}"  # noqa: B009 (only chat events lack an override)

    @property
    def chat(self) -> str | None:
        """The chat this event belongs to, if any."""
        return getattr(self, "chat_id", None)


class ChatEvent(Event):
    """An event in one chat's stream."""

    chat_id: Id


E = TypeVar("E", bound=Event, covariant=True, default=Event)  # a bare `Recorded` holds any event


@dataclass(frozen=True, slots=True)
class Recorded(Generic[E]):
    """An event as stored in the log: its envelope plus the typed payload."""

    seq: int
    stream: str
    stream_version: int
    kind: str
    version: int
    chat_id: str | None
    guild_id: str | None
    actor_id: str | None
    payload: E
    recorded_at: str
    idempotency_key: str | None
    command_id: str | None = None
    cause: str | None = None


class BotRetired(Event):
    """A character removed from use; its history stays."""

    kind: ClassVar[str] = "bot_retired"
    character_id: Id
    guild_id: Id

    def stream(self) -> str:
        """Characters live in their guild's stream."""
        return f"guild:{self.guild_id}"


class YouAuthored(Event):
    """A person's persona, for one guild or (guild_id None) everywhere."""

    kind: ClassVar[str] = "you_authored"
    user_id: Id
    guild_id: Id | None = None
    name: Name
    description: CardText = ""
    avatar_url: Url | None = None

    def stream(self) -> str:
        """Personas live in their person's stream."""
        return f"user:{self.user_id}"


class ChatCreated(ChatEvent):
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
    def _two_characters_at_most(self) -> ChatCreated:
        if self.guest_id is not None and self.guest_id == self.host_id:
            raise ValueError("the guest must be a different character from the host")
        return self


class ChatEnded(ChatEvent):
    """The channel's story is closed."""

    kind: ClassVar[str] = "chat_ended"
    ended_by: Id
    reason: Annotated[str, StringConstraints(max_length=200)] | None = None  # e.g. "the channel was deleted"


class ContainerCreated(ChatEvent):
    """A place in the story's world."""

    kind: ClassVar[str] = "container_created"
    place_id: Id
    name: Name
    description: CardText = ""
    parent_id: Id | None = None


class SceneOpened(ChatEvent):
    """A scene starts at a place with the characters present."""

    kind: ClassVar[str] = "scene_opened"
    scene_id: Id
    place_id: Id
    title: Name
    present: list[Id] = Field(max_length=MAX_CHARACTERS_PER_CHAT)


class SceneClosed(ChatEvent):
    """A scene ends, with a summary."""

    kind: ClassVar[str] = "scene_closed"
    scene_id: Id
    summary: CardText = ""


class UserSaid(ChatEvent):
    """A person's in-character message."""

    kind: ClassVar[str] = "user_said"
    message_id: Id
    author_id: Id
    persona_name: Name
    text: MessageText


class BotReplied(ChatEvent):
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


class ReplyRegenerated(ChatEvent):
    """A reply replaced by a new generation (or extended, mode 'continue')."""

    kind: ClassVar[str] = "reply_regenerated"
    message_id: Id
    text: ReplyText
    mode: Literal["regenerate", "continue"] = "regenerate"
    discord_message_ids: list[Id] = Field(default_factory=list, max_length=10)


class MemoryWritten(ChatEvent):
    """A fact a character remembers."""

    kind: ClassVar[str] = "memory_written"
    memory_id: Id
    character_id: Id
    text: MessageText
    importance: int = Field(5, ge=1, le=10)
    source: Literal["person", "scene", "digest", "skip"] = "person"
    source_id: Id | None = None


class MemoryForgotten(ChatEvent):
    """A memory removed."""

    kind: ClassVar[str] = "memory_forgotten"
    memory_id: Id


class MeanwhileSceneStarted(ChatEvent):
    """An off-screen scene with chosen characters."""

    kind: ClassVar[str] = "meanwhile_scene_started"
    meanwhile_id: Id
    character_ids: list[Id] = Field(min_length=1, max_length=MAX_CHARACTERS_PER_CHAT)
    place_id: Id | None = None
    premise: MessageText


class MeanwhileDigestCreated(ChatEvent):
    """The written digest of an off-screen scene."""

    kind: ClassVar[str] = "meanwhile_digest_created"
    meanwhile_id: Id
    digest: Annotated[str, StringConstraints(min_length=1, max_length=CARD_FIELD_MAX)]


class EdgeUpdate(ChatEvent):
    """A change in a relationship; carries the deltas and the resulting values."""

    kind: ClassVar[str] = "edge_update"
    source_id: Id
    source_kind: Literal["character", "persona"]
    source_name: Name
    target_id: Id
    target_kind: Literal["character", "persona"]
    target_name: Name
    affinity_delta: int = Field(0, ge=-200, le=200)
    trust_delta: int = Field(0, ge=-200, le=200)
    affinity: Score
    trust: Score
    note: Annotated[str, StringConstraints(max_length=500)] | None = None


class TimeSkipElision(ChatEvent):
    """In-story time jumps forward, with a summary of what was skipped."""

    kind: ClassVar[str] = "time_skip_elision"
    from_minute: Minute
    to_minute: Minute
    anchor: Name
    summary: MessageText

    @model_validator(mode="after")
    def _forward_only(self) -> TimeSkipElision:
        if self.to_minute <= self.from_minute:
            raise ValueError("a time skip must move forward")
        return self


class WeatherChanged(ChatEvent):
    """The chat's weather."""

    kind: ClassVar[str] = "weather_changed"
    weather: Name


class ChatRewound(ChatEvent):
    """An admin rewound the chat: its events after `to_seq` no longer count."""

    kind: ClassVar[str] = "chat_rewound"
    to_seq: int = Field(ge=1)
    actor_id: Id



Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
_UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def upcaster(kind: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register a function that turns a `kind` payload of `from_version` into `from_version + 1`."""

    def register(fn: Upcaster) -> Upcaster:
        key = (kind, from_version)
        if key in _UPCASTERS:
            raise RuntimeError(f"a second upcaster for {kind} v{from_version}")
        _UPCASTERS[key] = fn
        return fn

    return register


def load_stored(kind: str, version: int, text: str) -> Event:
    """Turn a stored JSON payload into its current model (validated; upcast when old).

    The common case (a payload at its kind's current version) is parsed and validated in one
    step by pydantic's JSON parser, without a `json.loads` dict in between.
    """
    cls = EVENT_TYPES.get(kind)
    if cls is not None and version == cls.version:
        return cls.model_validate_json(text)
    return load_payload(kind, version, json.loads(text))


def load_payload(kind: str, version: int, data: dict[str, Any]) -> Event:
    """Turn a stored payload into its current model, upcasting old versions on the way."""
    cls = EVENT_TYPES.get(kind)
    if cls is None:
        raise ValueError(f"unknown event kind {kind!r}")
    while version < cls.version:
        step = _UPCASTERS.get((kind, version))
        if step is None:
            raise ValueError(f"no upcaster for {kind} v{version} → v{version + 1}")
        data = step(data)
        version += 1
    if version > cls.version:
        raise ValueError(f"{kind} v{version} is newer than this code (v{cls.version}); upgrade Chronicle")
    return cls.model_validate(data)


# Cards and lorebooks live in engine/events_cards.py; imported here, once everything above is defined,
# so `engine.events` stays the one place every payload class is found.
from engine.events_cards import (  # noqa: E402 (re-exported: every payload class is found here)
    BotAuthored as BotAuthored,
)
from engine.events_cards import (  # noqa: E402
    CardAvatar as CardAvatar,
)
from engine.events_cards import (  # noqa: E402
    LorebookAttached as LorebookAttached,
)
from engine.events_cards import (  # noqa: E402
    LorebookCreated as LorebookCreated,
)
from engine.events_cards import (  # noqa: E402
    LorebookDetached as LorebookDetached,
)
from engine.events_cards import (  # noqa: E402
    LoreEntryRemoved as LoreEntryRemoved,
)
from engine.events_cards import (  # noqa: E402
    LoreEntryWritten as LoreEntryWritten,
)

EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        BotAuthored, BotRetired, YouAuthored, ChatCreated, ChatEnded, ContainerCreated,
        SceneOpened, SceneClosed, UserSaid, BotReplied, MessageEdited, MessageRetracted,
        ReplyRegenerated, MemoryWritten, MemoryForgotten, MeanwhileSceneStarted,
        MeanwhileDigestCreated, EdgeUpdate, TimeSkipElision, WeatherChanged, ChatRewound,
        LorebookCreated, LoreEntryWritten, LoreEntryRemoved, LorebookAttached, LorebookDetached,
    )
}
