"""How characters stand with each other and with people's personas."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints

from engine.events.base import (
    ChatEvent,
    Id,
    Name,
    Score,
)

Shift = Annotated[int, Field(ge=-200, le=200)]  # one change of affinity or trust


class RelationshipAdjusted(ChatEvent):
    """A change in a relationship; carries the deltas and the resulting values."""

    kind: ClassVar[str] = "edge_update"
    source_id: Id
    source_kind: Literal["character", "persona"]
    source_name: Name
    target_id: Id
    target_kind: Literal["character", "persona"]
    target_name: Name
    affinity_delta: Shift = 0
    trust_delta: Shift = 0
    affinity: Score
    trust: Score
    note: Annotated[str, StringConstraints(max_length=500)] | None = None
