"""Chronicle's engine: the command table, event log, projection, queries and narrator. Never imports discord.

Frontends build a model of the table (`engine.commands`, options from `engine.table`) and hand it to
`Engine.perform`; they read through `Engine.reads`."""

from engine import commands
from engine.app import Engine
from engine.cards import MAX_CARD_BYTES, Card
from engine.commands import Actor
from engine.deciders import DECIDERS
from engine.deciders.characters import greeting_choices
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
    StorageError,
)
from engine.events import CARD_FIELD_MAX, EVENT_TYPES, MESSAGE_MAX, NAME_MAX, URL_MAX
from engine.lore import MAX_LORE_BYTES, LoreEntry
from engine.maintenance import ChatExport, damage_report
from engine.narrator.lore import LoreReport
from engine.services.library import check_upload
from engine.storytime import format_clock
from engine.table import TABLE, Action, Option, action_of
from engine.views import (
    CardBookView,
    CardExport,
    CardImportView,
    CharacterView,
    ChatView,
    CheckReport,
    EventView,
    LorebookView,
    LoreEntryView,
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
    "SceneView", "Card", "CardBookView", "CardExport", "CardImportView", "LoreEntry", "LoreEntryView", "LorebookView",
    "LoreReport",
    "MAX_CARD_BYTES", "MAX_LORE_BYTES", "check_upload", "greeting_choices", "TimelineView", "StorageError",
    "damage_report", "commands", "TABLE", "Action", "Option", "action_of",
]
