"""Deciders for a chat's life and its world: start/end, places, scenes, time, weather."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine import queries
from engine.commands import CloseScene, Command, CreatePlace, EndChat, OpenScene, SetWeather, SkipTime, StartChat
from engine.deciders.base import Context, Decider, emit, load_chat, story_chat
from engine.deciders.cards import greeting_choices
from engine.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from engine.events import (
    ChatCreated,
    ChatEnded,
    ContainerCreated,
    Event,
    MemoryWritten,
    SceneClosed,
    SceneOpened,
    TimeSkipElision,
    WeatherChanged,
)
from engine.names import look_alike
from engine.storage.port import Conn
from engine.store import NewEvent
from engine.storytime import default_anchor, format_duration
from engine.views import CharacterView, ChatView, PlaceView, SceneView


@dataclass(frozen=True)
class StartState:
    """The channel's open chat (if any) and the named characters."""

    existing: ChatView | None
    host: CharacterView | None
    guest: CharacterView | None


def load_start_chat(world: Conn, cmd: StartChat) -> StartState:
    """What starting a story depends on."""
    host = queries.find_character(world, cmd.actor.guild_id, cmd.character)
    guest = queries.find_character(world, cmd.actor.guild_id, cmd.guest) if cmd.guest else None
    return StartState(queries.find_open_chat(world, cmd.channel_id), host, guest)


def _named(card: CharacterView | None, name: str) -> CharacterView:
    if card is None:
        raise NotFound(f"There is no character named '{name[:64]}' in this server. See /character list.")
    return card


def decide_start_chat(cmd: StartChat, state: StartState, ctx: Context) -> list[NewEvent]:
    """One open chat per channel; the characters must be active in this guild. The opening line is a
    command of its own (the reply recorded once it is posted), so a rewind can undo it alone."""
    if state.existing is not None:
        raise DomainError("This channel already has a story going. End it with /chat end (or ask an admin), "
                          "then start a new one.")
    host = _named(state.host, cmd.character)
    guest = _named(state.guest, cmd.guest) if cmd.guest else None
    if guest is not None and guest.character_id == host.character_id:
        raise DomainError("The guest must be a different character from the host.")
    choices = greeting_choices(host, group=guest is not None)
    if cmd.greeting is not None and cmd.greeting > len(choices):
        raise InvalidInput(f"greeting: {host.name} has {len(choices)} greeting(s); pick 1 to {len(choices)}.")
    chat_id = ctx.new_id("chat")
    events: list[Event] = [ChatCreated(
        chat_id=chat_id, guild_id=cmd.actor.guild_id, channel_id=cmd.channel_id, host_id=host.character_id,
        guest_id=guest.character_id if guest else None, started_by=cmd.actor.user_id,
        start_minute=cmd.start_minute, anchor=cmd.anchor or default_anchor(cmd.start_minute),
        weather=cmd.weather)]
    if cmd.place:
        place_id = ctx.new_id("plc")
        present = [host.character_id] + ([guest.character_id] if guest else [])
        events += [ContainerCreated(chat_id=chat_id, place_id=place_id, name=cmd.place),
                   SceneOpened(chat_id=chat_id, scene_id=ctx.new_id("scn"), place_id=place_id, title=cmd.place,
                               present=present)]
    return emit(cmd.actor, *events)


def decide_end_chat(cmd: EndChat, chat: ChatView | None, ctx: Context) -> list[NewEvent]:
    """The starter or an admin ends the chat."""
    chat = story_chat(chat, cmd)
    if chat.started_by != cmd.actor.user_id and not cmd.actor.is_admin:
        raise PermissionDenied("Only the person who started this story, or a server admin, can end it.")
    return emit(cmd.actor, ChatEnded(chat_id=chat.chat_id, ended_by=cmd.actor.user_id, reason=cmd.reason))


@dataclass(frozen=True)
class PlaceState:
    """The chat, a place of the same name, and the parent place."""

    chat: ChatView | None
    same_name: PlaceView | None
    parent: PlaceView | None


def load_create_place(world: Conn, cmd: CreatePlace) -> PlaceState:
    """The chat and the places the new one is checked against."""
    parent = queries.find_place(world, cmd.chat_id, cmd.parent) if cmd.parent else None
    return PlaceState(load_chat(world, cmd), queries.find_place(world, cmd.chat_id, cmd.place_name), parent)


def decide_create_place(cmd: CreatePlace, state: PlaceState, ctx: Context) -> list[NewEvent]:
    """Place names are unique within a story, and can't look like another place's (engine/names.py)."""
    chat = story_chat(state.chat, cmd)
    if state.same_name is not None:
        if state.same_name.name != cmd.place_name:
            raise look_alike(cmd.place_name, state.same_name.name, "place")
        raise DomainError(f"This story already has a place named '{cmd.place_name}'.")
    if cmd.parent is not None and state.parent is None:
        raise NotFound(f"There is no place named '{cmd.parent}' in this story. See /place list.")
    return emit(cmd.actor, ContainerCreated(chat_id=chat.chat_id, place_id=ctx.new_id("plc"),
                                            name=cmd.place_name, description=cmd.description,
                                            parent_id=state.parent.place_id if state.parent else None))


@dataclass(frozen=True)
class SceneState:
    """The chat, its open scene, and the place named by the command."""

    chat: ChatView | None
    open_scene: SceneView | None
    place: PlaceView | None


def _open_scene(world: Conn, chat: ChatView | None) -> SceneView | None:
    if chat is None or chat.active_scene_id is None:
        return None
    return queries.find_scene(world, chat.active_scene_id)


def load_open_scene(world: Conn, cmd: OpenScene) -> SceneState:
    """The chat, its open scene and the place."""
    chat = load_chat(world, cmd)
    return SceneState(chat, _open_scene(world, chat), queries.find_place(world, cmd.chat_id, cmd.place))


def decide_open_scene(cmd: OpenScene, state: SceneState, ctx: Context) -> list[NewEvent]:
    """A scene can't open while another is open; an unknown place is created."""
    chat = story_chat(state.chat, cmd)
    if chat.active_scene_id is not None:
        title = state.open_scene.title if state.open_scene else "the current scene"
        raise DomainError(f"'{title}' is still open. Close it with /scene close first.")
    events: list[Event] = []
    place = state.place
    place_id = place.place_id if place else ctx.new_id("plc")
    if place is None:
        events.append(ContainerCreated(chat_id=chat.chat_id, place_id=place_id, name=cmd.place))
    events.append(SceneOpened(chat_id=chat.chat_id, scene_id=ctx.new_id("scn"), place_id=place_id,
                              title=cmd.title or (place.name if place else cmd.place),
                              present=list(chat.character_ids)))
    return emit(cmd.actor, *events)


def load_close_scene(world: Conn, cmd: CloseScene) -> SceneState:
    """The chat and its open scene."""
    chat = load_chat(world, cmd)
    return SceneState(chat, _open_scene(world, chat), None)


def decide_close_scene(cmd: CloseScene, state: SceneState, ctx: Context) -> list[NewEvent]:
    """Close the open scene (the one the summary was written for); everyone present remembers it."""
    chat = story_chat(state.chat, cmd)
    scene = state.open_scene
    if scene is None:
        raise DomainError("No scene is open. Open one with /scene open.")
    if scene.scene_id != cmd.scene_id:
        raise DomainError("The scene changed while its summary was being written; nothing was recorded.")
    events: list[Event] = [SceneClosed(chat_id=chat.chat_id, scene_id=scene.scene_id, summary=cmd.summary)]
    if cmd.summary.strip():
        events += [MemoryWritten(chat_id=chat.chat_id, memory_id=ctx.new_id("mem"), character_id=who,
                                 text=cmd.summary[:4000], importance=6, source="scene", source_id=scene.scene_id)
                   for who in scene.present]
    return emit(cmd.actor, *events)


def decide_skip_time(cmd: SkipTime, chat: ChatView | None, ctx: Context) -> list[NewEvent]:
    """Time only moves forward."""
    chat = story_chat(chat, cmd)
    to = chat.story_minute + cmd.minutes
    summary = cmd.summary or f"{format_duration(cmd.minutes).capitalize()} pass."
    return emit(cmd.actor, TimeSkipElision(chat_id=chat.chat_id, from_minute=chat.story_minute, to_minute=to,
                                           anchor=default_anchor(to), summary=summary))


def decide_set_weather(cmd: SetWeather, chat: ChatView | None, ctx: Context) -> list[NewEvent]:
    """Change the weather."""
    chat = story_chat(chat, cmd)
    return emit(cmd.actor, WeatherChanged(chat_id=chat.chat_id, weather=cmd.weather))


DECIDERS: dict[type[Command], Decider[Any, Any]] = {
    StartChat: Decider(load_start_chat, decide_start_chat),
    EndChat: Decider(load_chat, decide_end_chat),
    CreatePlace: Decider(load_create_place, decide_create_place),
    OpenScene: Decider(load_open_scene, decide_open_scene),
    CloseScene: Decider(load_close_scene, decide_close_scene),
    SkipTime: Decider(load_chat, decide_skip_time),
    SetWeather: Decider(load_chat, decide_set_weather),
}
