"""Deciders for a chat's life and its world: start/end, places, scenes, time, weather."""

from __future__ import annotations

import sqlite3

from engine import queries
from engine.commands import CloseScene, CreatePlace, EndChat, OpenScene, SetWeather, SkipTime, StartChat
from engine.deciders.base import Context, emit, open_chat
from engine.errors import DomainError, NotFound, PermissionDenied
from engine.events import (
    BotReplied, ChatCreated, ChatEnded, ContainerCreated, Event, MemoryWritten, SceneClosed, SceneOpened, TimeSkipElision,
    WeatherChanged,
)
from engine.storytime import default_anchor, format_duration
from engine.text import substitute
from engine.store import NewEvent
from engine.views import ChatView


def decide_start_chat(cmd: StartChat, world: sqlite3.Connection, ctx: Context) -> list[NewEvent]:
    """One open chat per channel; the characters must be active in this guild."""
    existing = queries.find_open_chat(world, cmd.channel_id)
    if existing is not None:
        raise DomainError("This channel already has a story going. End it with /chat end (or ask an admin), "
                          "then start a new one.")
    host = queries.get_character(world, cmd.actor.guild_id, cmd.character)
    guest = queries.get_character(world, cmd.actor.guild_id, cmd.guest) if cmd.guest else None
    if guest is not None and guest.character_id == host.character_id:
        raise DomainError("The guest must be a different character from the host.")
    chat_id = ctx.new_id("chat")
    events: list[Event] = [ChatCreated(
        chat_id=chat_id, guild_id=cmd.actor.guild_id, channel_id=cmd.channel_id, host_id=host.character_id,
        guest_id=guest.character_id if guest else None, started_by=cmd.actor.user_id,
        start_minute=cmd.start_minute, anchor=cmd.anchor or default_anchor(cmd.start_minute),
        weather=cmd.weather)]
    if host.greeting.strip():
        persona = queries.find_persona(world, cmd.actor.user_id, cmd.actor.guild_id)
        user = persona.name if persona else (cmd.actor.display_name or "you")
        events.append(BotReplied(chat_id=chat_id, message_id=ctx.new_id("msg"), character_id=host.character_id,
                                 character_name=host.name, text=substitute(host.greeting, host.name, user)[:8000]))
    if cmd.place:
        place_id = ctx.new_id("plc")
        present = [host.character_id] + ([guest.character_id] if guest else [])
        events += [ContainerCreated(chat_id=chat_id, place_id=place_id, name=cmd.place),
                   SceneOpened(chat_id=chat_id, scene_id=ctx.new_id("scn"), place_id=place_id, title=cmd.place,
                               present=present)]
    return emit(cmd.actor, *events)


def decide_end_chat(cmd: EndChat, world: sqlite3.Connection, ctx: Context) -> list[NewEvent]:
    """The starter or an admin ends the chat."""
    chat = open_chat(world, cmd)
    if chat.started_by != cmd.actor.user_id and not cmd.actor.is_admin:
        raise PermissionDenied("Only the person who started this story, or a server admin, can end it.")
    return emit(cmd.actor, ChatEnded(chat_id=chat.chat_id, ended_by=cmd.actor.user_id))


def _resolve_parent(world: sqlite3.Connection, chat: ChatView, parent: str | None) -> str | None:
    if parent is None:
        return None
    found = queries.find_place(world, chat.chat_id, parent)
    if found is None:
        raise NotFound(f"There is no place named '{parent}' in this story. See /place list.")
    return found.place_id


def decide_create_place(cmd: CreatePlace, world: sqlite3.Connection, ctx: Context) -> list[NewEvent]:
    """Place names are unique within a story."""
    chat = open_chat(world, cmd)
    if queries.find_place(world, chat.chat_id, cmd.place_name) is not None:
        raise DomainError(f"This story already has a place named '{cmd.place_name}'.")
    parent_id = _resolve_parent(world, chat, cmd.parent)
    return emit(cmd.actor, ContainerCreated(chat_id=chat.chat_id, place_id=ctx.new_id("plc"),
                                            name=cmd.place_name, description=cmd.description,
                                            parent_id=parent_id))


def decide_open_scene(cmd: OpenScene, world: sqlite3.Connection, ctx: Context) -> list[NewEvent]:
    """A scene can't open while another is open; an unknown place is created."""
    chat = open_chat(world, cmd)
    if chat.active_scene_id is not None:
        scene = queries.find_scene(world, chat.active_scene_id)
        title = scene.title if scene else "the current scene"
        raise DomainError(f"'{title}' is still open. Close it with /scene close first.")
    events: list[Event] = []
    place = queries.find_place(world, chat.chat_id, cmd.place)
    place_id = place.place_id if place else ctx.new_id("plc")
    if place is None:
        events.append(ContainerCreated(chat_id=chat.chat_id, place_id=place_id, name=cmd.place))
    events.append(SceneOpened(chat_id=chat.chat_id, scene_id=ctx.new_id("scn"), place_id=place_id,
                              title=cmd.title or (place.name if place else cmd.place),
                              present=list(chat.character_ids)))
    return emit(cmd.actor, *events)


def decide_close_scene(cmd: CloseScene, world: sqlite3.Connection, ctx: Context) -> list[NewEvent]:
    """Close the open scene; everyone present remembers its summary."""
    chat = open_chat(world, cmd)
    if chat.active_scene_id is None:
        raise DomainError("No scene is open. Open one with /scene open.")
    scene = queries.find_scene(world, chat.active_scene_id)
    assert scene is not None
    events: list[Event] = [SceneClosed(chat_id=chat.chat_id, scene_id=scene.scene_id, summary=cmd.summary)]
    if cmd.summary.strip():
        events += [MemoryWritten(chat_id=chat.chat_id, memory_id=ctx.new_id("mem"), character_id=who,
                                 text=cmd.summary[:4000], importance=6, source="scene", source_id=scene.scene_id)
                   for who in scene.present]
    return emit(cmd.actor, *events)


def decide_skip_time(cmd: SkipTime, world: sqlite3.Connection, ctx: Context) -> list[NewEvent]:
    """Time only moves forward."""
    chat = open_chat(world, cmd)
    to = chat.story_minute + cmd.minutes
    summary = cmd.summary or f"{format_duration(cmd.minutes).capitalize()} pass."
    return emit(cmd.actor, TimeSkipElision(chat_id=chat.chat_id, from_minute=chat.story_minute, to_minute=to,
                                           anchor=default_anchor(to), summary=summary))


def decide_set_weather(cmd: SetWeather, world: sqlite3.Connection, ctx: Context) -> list[NewEvent]:
    """Change the weather."""
    chat = open_chat(world, cmd)
    return emit(cmd.actor, WeatherChanged(chat_id=chat.chat_id, weather=cmd.weather))
