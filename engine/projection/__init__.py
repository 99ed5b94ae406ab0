"""The world's projection: importing this package registers every handler and checks coverage."""

from engine.events import EVENT_TYPES
from engine.projection import characters, chats, lore, memory, relationships, rewind, transcript  # noqa: F401
from engine.projection.projector import (
    apply_new,
    catch_up_in,
    effective_chat_events,
    position,
    projector,
    rebuild_in,
    reproject_chat,
)

projector.verify(EVENT_TYPES)

__all__ = [
    "apply_new", "catch_up_in", "effective_chat_events", "position", "projector", "rebuild_in", "reproject_chat",
]
