"""How characters feel about each other and about people's personas: /relationship adjust, show, map."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints

from engine import queries
from engine.commands.base import CharacterName, InChat, InStory
from engine.commands.results import found, payload_of
from engine.events import Recorded
from engine.events.relationships import Shift
from engine.storage.port import Conn
from engine.table import Lookup, action
from engine.views import RelationshipView


def relationship_lines(q: Any, edges: list[RelationshipView]) -> str:
    """Relationships, one a line."""
    lines = [f"**{e.source_name}** → **{e.target_name}**: affinity {e.affinity:+d}, trust {e.trust:+d}"
             + (f" — {e.note[:100]}" if e.note else "") for e in edges]
    return "\n".join(lines) or "No relationships recorded yet."


def _edge(conn: Conn, cmd: Any, recorded: list[Recorded[Any]]) -> RelationshipView:
    p = payload_of(recorded, "edge_update")
    return found(queries.find_relationship(conn, p.chat_id, p.source_id, p.target_id), "relationship")


@action("relationship adjust", "Shift how a character feels about someone", public=True, result=_edge,
        told=lambda cmd, edge: relationship_lines(cmd, [edge]))
class AdjustRelationship(InChat[RelationshipView]):
    """Shift how a character feels about another character or a persona (affinity and trust stay in -100..100)."""

    character: CharacterName = Field(description="Who feels")
    target: Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True),
                      Lookup("character")] = Field(description="About whom (a character or a persona)")
    affinity: Shift = Field(default=0, description="Change in liking")
    trust: Shift = Field(default=0, description="Change in trust")
    note: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = Field(
        default=None, description="A note about the relationship")


def _edges(conn: Conn, q: ListRelationships) -> list[RelationshipView]:
    edges = queries.list_relationships(conn, queries.get_open_chat(conn, q.channel_id).chat_id)
    if q.character is None:
        return edges
    wanted = q.character.strip().casefold()
    return [e for e in edges if wanted in (e.source_name.casefold(), e.target_name.casefold())]


@action("relationship show", "How the story's characters feel", answer=_edges, told=relationship_lines,
        title="Relationships")
class ListRelationships(InStory[list[RelationshipView]]):
    """The story's relationships (involving one character or persona, when given)."""

    character: CharacterName | None = Field(default=None,
        description="Only relationships involving this character or persona")


@action("relationship map", "A picture of who feels what about whom", public=True,
        answer=lambda conn, q: queries.get_open_chat(conn, q.channel_id))
class RelationshipMap(InStory[Any]):
    """The relationship map: characters and personas, affinity as colour, trust as width, notes as labels."""
