"""Chronicle's engine: event log, projection, queries and narrator. Never imports discord."""

from engine.app import DECIDERS, Engine
from engine.commands import Actor
from engine.errors import (
    AlreadyHandled,
    ConcurrencyConflict,
    DomainError,
    EngineError,
    InvalidInput,
    NarratorUnavailable,
    NoStory,
    NotFound,
    PermissionDenied,
    ProjectionError,
    SlowDown,
)
from engine.events import CARD_FIELD_MAX, EVENT_TYPES, MESSAGE_MAX, NAME_MAX, URL_MAX
from engine.maintenance import ChatExport
from engine.storytime import format_clock
from engine.views import (
    CharacterView,
    ChatView,
    CheckReport,
    EventView,
    MeanwhileView,
    MemoryView,
    MessageView,
    PersonaView,
    PlaceView,
    RelationshipView,
    RespondResult,
    RewindResult,
    SceneView,
    TimelineView,
)

__all__ = [
    "AlreadyHandled", "NoStory", "SlowDown", "RespondResult",
    "DECIDERS", "Engine", "Actor", "ConcurrencyConflict", "DomainError", "EngineError", "InvalidInput",
    "NarratorUnavailable", "NotFound", "PermissionDenied", "ProjectionError", "EVENT_TYPES", "MESSAGE_MAX",
    "NAME_MAX", "CARD_FIELD_MAX", "URL_MAX", "format_clock", "ChatExport", "CharacterView", "ChatView", "CheckReport",
    "EventView",
    "MeanwhileView", "MemoryView", "MessageView", "PersonaView", "PlaceView", "RelationshipView", "RewindResult",
    "SceneView", "TimelineView",
]
