"""Event payloads: one frozen, versioned pydantic model per kind of the log, by area (characters, chats, world,
transcript, memory, relationships, lore). Every payload class, limit and type is found here.

Class names pair with the commands that record them (AuthorCharacter → CharacterAuthored); the stored `kind`
strings are the log's schema and never change (`CharacterAuthored.kind == "bot_authored"`).
"""

from engine.events.base import (
    CARD_FIELD_MAX,
    EVENT_TYPES,
    ID_MAX,
    MAX_CHARACTERS_PER_CHAT,
    MESSAGE_MAX,
    NAME_MAX,
    REPLY_MAX,
    SCORE_MAX,
    SCORE_MIN,
    URL_MAX,
    CardText,
    ChatEvent,
    Event,
    Id,
    MessageText,
    Minute,
    Name,
    Recorded,
    ReplyText,
    Score,
    Url,
    load_payload,
    load_stored,
    upcaster,
)
from engine.events.characters import (
    V1_CARD_FIELDS,
    CardAvatar,
    CharacterAuthored,
    CharacterRetired,
    PersonaSet,
)
from engine.events.chats import (
    CastJoined,
    CastLeft,
    CastMuted,
    CastUnmuted,
    ChatEnded,
    ChatRewound,
    ChatStarted,
    TurnRuleSet,
)
from engine.events.lore import LorebookAttached, LorebookCreated, LorebookDetached, LoreEntryRemoved, LoreEntryWritten
from engine.events.memory import (
    MeanwhileDigestRecorded,
    MeanwhileStarted,
    MemoryForgotten,
    MemoryPinned,
    MemoryUnpinned,
    MemoryWritten,
)
from engine.events.relationships import RelationshipAdjusted
from engine.events.transcript import LineSaid, MessageEdited, MessageRetracted, ReplyRecorded, ReplyRevised, Turn
from engine.events.world import (
    PlaceCreated,
    SceneClosed,
    SceneEntered,
    SceneLeft,
    SceneOpened,
    TimeSkipped,
    WeatherSet,
)

__all__ = [
    "CARD_FIELD_MAX", "EVENT_TYPES", "ID_MAX", "MAX_CHARACTERS_PER_CHAT", "MESSAGE_MAX", "NAME_MAX", "REPLY_MAX",
    "SCORE_MAX", "SCORE_MIN", "URL_MAX", "CardText", "ChatEvent", "Event", "Id", "MessageText", "Minute", "Name",
    "Recorded", "ReplyText", "Score", "Url", "load_payload", "load_stored", "upcaster", "V1_CARD_FIELDS",
    "CardAvatar", "CharacterAuthored", "CharacterRetired", "PersonaSet", "ChatStarted", "ChatEnded", "ChatRewound",
    "CastJoined", "CastLeft", "CastMuted", "CastUnmuted",
    "LorebookAttached", "LorebookCreated", "LorebookDetached", "LoreEntryRemoved", "LoreEntryWritten",
    "MeanwhileDigestRecorded", "MeanwhileStarted", "MemoryForgotten", "MemoryPinned", "MemoryUnpinned", "MemoryWritten",
    "RelationshipAdjusted",
    "ReplyRecorded", "MessageEdited", "MessageRetracted", "ReplyRevised", "LineSaid", "PlaceCreated",
    "SceneClosed", "SceneOpened", "TimeSkipped", "WeatherSet", "Turn", "TurnRuleSet", "SceneEntered", "SceneLeft",
]
