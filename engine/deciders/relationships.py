"""Deciders for relationships between characters, and between characters and people's personas."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from engine import queries, queries_names
from engine.commands import (
    AdjustRelationship,
    Command,
)
from engine.deciders.base import Context, Decider, emit, load_chat, story_chat
from engine.errors import DomainError, NotFound
from engine.events import (
    SCORE_MAX,
    SCORE_MIN,
    RelationshipAdjusted,
)
from engine.storage.port import Conn
from engine.store import NewEvent
from engine.views import CharacterView, ChatView, RelationshipView

Target = tuple[str, Literal["character", "persona"], str]  # (id, kind, name)


@dataclass(frozen=True)
class EdgeState:
    """The chat, the feeling character, the target (character or speaking persona), the current edge."""

    chat: ChatView | None
    source: CharacterView | None
    target: Target | None
    current: RelationshipView | None


def _target(world: Conn, chat: ChatView, name: str) -> Target | None:
    """(id, kind, name) of a character of the server or a persona that spoke in this story."""
    card = queries.find_character(world, chat.guild_id, name)
    if card is not None:
        return card.character_id, "character", card.name
    speaker = queries_names.find_speaker_persona(world, chat.chat_id, name)
    return (speaker[0], "persona", speaker[1]) if speaker is not None else None


def load_adjust_relationship(world: Conn, cmd: AdjustRelationship) -> EdgeState:
    """The two ends and the edge between them."""
    chat = load_chat(world, cmd)
    if chat is None:
        return EdgeState(None, None, None, None)
    source = queries.get_character(world, chat.guild_id, cmd.character)
    target = _target(world, chat, cmd.target)
    current = queries.find_relationship(world, chat.chat_id, source.character_id, target[0]) if target else None
    return EdgeState(chat, source, target, current)


def _clamp(value: int) -> int:
    return max(SCORE_MIN, min(SCORE_MAX, value))


def decide_adjust_relationship(cmd: AdjustRelationship, state: EdgeState, ctx: Context) -> list[NewEvent]:
    """Shift affinity and trust (kept within -100..100) and/or note how a character sees someone."""
    chat = story_chat(state.chat, cmd)
    source, target = state.source, state.target
    if source is None or target is None:
        raise NotFound(f"'{cmd.target[:64]}' is neither a character here nor someone who has spoken in this story.")
    target_id, target_kind, target_name = target
    if target_id == source.character_id:
        raise DomainError("A relationship needs two different people.")
    if cmd.affinity == 0 and cmd.trust == 0 and not cmd.note:
        raise DomainError("Give an affinity or trust change, or a note.")
    current = state.current
    affinity = _clamp((current.affinity if current else 0) + cmd.affinity)
    trust = _clamp((current.trust if current else 0) + cmd.trust)
    return emit(cmd.actor, RelationshipAdjusted(
        chat_id=chat.chat_id, source_id=source.character_id, source_kind="character", source_name=source.name,
        target_id=target_id, target_kind=target_kind, target_name=target_name, affinity_delta=cmd.affinity,
        trust_delta=cmd.trust, affinity=affinity, trust=trust, note=cmd.note))


DECIDERS: dict[type[Command[Any]], Decider[Any, Any]] = {
    AdjustRelationship: Decider(load_adjust_relationship, decide_adjust_relationship),
}
