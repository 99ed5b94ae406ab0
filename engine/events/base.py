"""What every event payload shares: the limits, the field types, the base classes, the stored envelope
(`Recorded`), and how a stored payload becomes its current model (upcasters, `load_stored`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Generic

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
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
MAX_CHARACTERS_PER_CHAT = 25  # a chat's cast (a host/guest story is a cast of one or two)
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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A class that declares its own `kind` joins EVENT_TYPES (a kind declared twice is a bug)."""
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("kind")
        if isinstance(kind, str):
            if kind in EVENT_TYPES:
                raise RuntimeError(f"the event kind {kind!r} is declared twice")
            EVENT_TYPES[kind] = cls

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



EVENT_TYPES: dict[str, type[Event]] = {}  # kind → its payload class, filled as the area modules load


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
