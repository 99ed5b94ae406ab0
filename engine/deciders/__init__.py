"""The story's rules, by area: for each command, what it needs to know (`load`, a read in its transaction) and a
pure decision (`decide`: state in, events or a refusal out)."""

from __future__ import annotations

from typing import Any

from engine.deciders import cast, characters, chats, lore, memory, relationships, transcript, world
from engine.deciders.base import Decider
from engine.errors import EngineError

DECIDERS: dict[type[Any], Decider[Any, Any]] = {
    **characters.DECIDERS, **chats.DECIDERS, **cast.DECIDERS, **world.DECIDERS, **transcript.DECIDERS,
    **memory.DECIDERS, **relationships.DECIDERS, **lore.DECIDERS,
}


def decider_for(cmd: Any) -> Decider[Any, Any]:
    """The decider of a command (a command model derived from another, like /reply regenerate, uses its base's)."""
    for cls in (cmd if isinstance(cmd, type) else type(cmd)).__mro__:
        found = DECIDERS.get(cls)
        if found is not None:
            return found
    raise EngineError(f"no decider for {type(cmd).__name__}")
