"""The world's projection: importing this package registers every handler and checks coverage."""

from engine.events import EVENT_TYPES

# Parents before children: a module's tables may refer to those of the modules imported before it.
from engine.projection import characters, chats, world  # noqa: F401  # isort: skip
from engine.projection import lore, memory, relationships, transcript  # noqa: F401  # isort: skip
from engine.projection.projector import (
    apply_new,
    catch_up_in,
    effective_chat_events,
    position,
    position_later,
    projector,
    rebuild_in,
    reproject_chat,
    settle_ordered,
)

projector.verify(EVENT_TYPES)

__all__ = [
    "apply_new", "catch_up_in", "effective_chat_events", "position", "position_later", "projector", "rebuild_in",
    "reproject_chat", "settle_ordered",
]
