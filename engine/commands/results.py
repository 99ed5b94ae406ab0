"""How a command's answer is read back: inside its own transaction, from the rows its events just projected."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from engine import queries, queries_lore
from engine.errors import ProjectionError
from engine.events import Recorded
from engine.storage.port import Conn
from engine.views import (
    CharacterView,
    ChatView,
    LorebookView,
    LoreEntryView,
    MeanwhileView,
    MessageView,
    SceneView,
)

V = TypeVar("V")
Result = Callable[[Conn, Any, list[Recorded[Any]]], V]  # (conn, the command, its recorded events)


def found(value: V | None, what: str) -> V:
    """`value`, or a ProjectionError: a command's own rows are read back inside its transaction."""
    if value is None:
        raise ProjectionError(f"{what} was not found after its command was applied")
    return value


def payload_of(recorded: list[Recorded[Any]], kind: str) -> Any:
    """The payload of the first recorded event of a kind."""
    for event in recorded:
        if event.kind == kind:
            return event.payload
    raise ProjectionError(f"the command recorded no {kind} event")


def character_of(conn: Conn, cmd: Any, recorded: list[Recorded[Any]]) -> CharacterView:
    """The character the command's first event names."""
    return found(queries.find_character_by_id(conn, recorded[0].payload.character_id), "character")


def chat_of(conn: Conn, cmd: Any, recorded: list[Recorded[Any]]) -> ChatView:
    """The chat the command's first event names, as it is now."""
    return found(queries.find_chat(conn, recorded[0].payload.chat_id), "chat")


def scene_of(kind: str) -> Result[SceneView]:
    """The scene an event of `kind` names."""

    def result(conn: Conn, cmd: Any, recorded: list[Recorded[Any]]) -> SceneView:
        return found(queries.find_scene(conn, payload_of(recorded, kind).scene_id), "scene")

    return result


def message_of(kind: str) -> Result[MessageView]:
    """The transcript line an event of `kind` names."""

    def result(conn: Conn, cmd: Any, recorded: list[Recorded[Any]]) -> MessageView:
        p = payload_of(recorded, kind)
        return found(queries.find_message_by_id(conn, p.chat_id, p.message_id), "message")

    return result


def meanwhile_of(kind: str) -> Result[MeanwhileView]:
    """The off-screen scene an event of `kind` names."""

    def result(conn: Conn, cmd: Any, recorded: list[Recorded[Any]]) -> MeanwhileView:
        scene = found(queries.find_meanwhile(conn, payload_of(recorded, kind).meanwhile_id), "off-screen scene")
        cards = [queries.find_character_by_id(conn, i) for i in scene.participants]
        return replace(scene, names=tuple(c.name if c else i for c, i in zip(cards, scene.participants, strict=True)))

    return result


def book_of(conn: Conn, cmd: Any, recorded: list[Recorded[Any]]) -> LorebookView:
    """The book the command's last lore event names, as it is now."""
    event = recorded[-1]
    name = queries_lore.book_name(conn, event.payload.book_id)
    return found(queries_lore.find_lorebook(conn, event.payload.guild_id, name), "lorebook")


def entry_of(conn: Conn, cmd: Any, recorded: list[Recorded[Any]]) -> LoreEntryView:
    """The entry a lore_entry_written event wrote."""
    p = payload_of(recorded, "lore_entry_written")
    book = found(queries_lore.find_lorebook(conn, p.guild_id, queries_lore.book_name(conn, p.book_id)), "lorebook")
    return found(queries_lore.find_lore_entry(conn, book, p.number), "lore entry")
