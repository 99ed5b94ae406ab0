"""Deciders for the story's world: places, scenes, in-story time and weather."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from engine import queries
from engine.commands import CloseScene, Command, CreatePlace, OpenScene, SetWeather, SkipTime
from engine.deciders.base import Context, Decider, emit, load_chat, story_chat
from engine.errors import DomainError, InvalidInput, NotFound
from engine.events import (
    Event,
    MemoryWritten,
    PlaceCreated,
    SceneClosed,
    SceneOpened,
    TimeSkipped,
    WeatherSet,
)
from engine.names import look_alike
from engine.queries_cast import witnessed_throughout
from engine.storage.port import Conn
from engine.store import NewEvent
from engine.storytime import default_anchor, format_duration
from engine.views import CharacterView, ChatView, PlaceView, SceneView

ONE_UNIT = re.compile(r"1 [a-z]+")


@dataclass(frozen=True)
class PlaceState:
    """The chat, a place of the same name, and the parent place."""

    chat: ChatView | None
    same_name: PlaceView | None
    parent: PlaceView | None


def load_create_place(world: Conn, cmd: CreatePlace) -> PlaceState:
    """The chat and the places the new one is checked against."""
    parent = queries.find_place(world, cmd.chat_id, cmd.parent) if cmd.parent else None
    return PlaceState(load_chat(world, cmd), queries.find_place(world, cmd.chat_id, cmd.name), parent)


def decide_create_place(cmd: CreatePlace, state: PlaceState, ctx: Context) -> list[NewEvent]:
    """Place names are unique within a story, and can't look like another place's (engine/names.py)."""
    chat = story_chat(state.chat, cmd)
    if state.same_name is not None:
        if state.same_name.name != cmd.name:
            raise look_alike(cmd.name, state.same_name.name, "place")
        raise DomainError(f"This story already has a place named '{cmd.name}'.")
    if cmd.parent is not None and state.parent is None:
        raise NotFound(f"There is no place named '{cmd.parent}' in this story. See /place list.")
    return emit(cmd.actor, PlaceCreated(chat_id=chat.chat_id, place_id=ctx.new_id("plc"),
                                            name=cmd.name, description=cmd.description,
                                            parent_id=state.parent.place_id if state.parent else None))


@dataclass(frozen=True)
class SceneState:
    """The chat, its open scene, and the place named by the command."""

    chat: ChatView | None
    open_scene: SceneView | None
    place: PlaceView | None
    absent: CharacterView | None = None  # the character the command leaves out of the scene (OpenScene)
    throughout: tuple[str, ...] = ()  # who witnessed every line of the open scene (CloseScene)


def _open_scene(world: Conn, chat: ChatView | None) -> SceneView | None:
    if chat is None or chat.active_scene_id is None:
        return None
    return queries.find_scene(world, chat.active_scene_id)


def load_open_scene(world: Conn, cmd: OpenScene) -> SceneState:
    """The chat, its open scene and the place."""
    chat = load_chat(world, cmd)
    absent = queries.find_character(world, cmd.actor.guild_id, cmd.absent) if cmd.absent else None
    return SceneState(chat, _open_scene(world, chat), queries.find_place(world, cmd.chat_id, cmd.place), absent)


def decide_open_scene(cmd: OpenScene, state: SceneState, ctx: Context) -> list[NewEvent]:
    """A scene can't open while another is open; an unknown place is created."""
    chat = story_chat(state.chat, cmd)
    if chat.active_scene_id is not None:
        title = state.open_scene.title if state.open_scene else "the current scene"
        raise DomainError(f"'{title}' is still open. Close it with /scene close first.")
    if cmd.absent and (state.absent is None or state.absent.character_id not in chat.character_ids):
        raise InvalidInput(f"absent: '{cmd.absent}' is not a character of this story; name one of its characters.")
    left_out = state.absent.character_id if state.absent else None
    events: list[Event] = []
    place = state.place
    place_id = place.place_id if place else ctx.new_id("plc")
    if place is None:
        events.append(PlaceCreated(chat_id=chat.chat_id, place_id=place_id, name=cmd.place))
    events.append(SceneOpened(chat_id=chat.chat_id, scene_id=ctx.new_id("scn"), place_id=place_id,
                              title=cmd.title or (place.name if place else cmd.place),
                              present=[i for i in chat.character_ids if i != left_out]))
    return emit(cmd.actor, *events)


def load_close_scene(world: Conn, cmd: CloseScene) -> SceneState:
    """The chat and its open scene."""
    chat = load_chat(world, cmd)
    scene = _open_scene(world, chat)
    throughout = () if chat is None or scene is None else witnessed_throughout(world, chat.chat_id, scene.scene_id,
                                                                               scene.present)
    return SceneState(chat, scene, None, throughout=throughout)


def decide_close_scene(cmd: CloseScene, state: SceneState, ctx: Context) -> list[NewEvent]:
    """Close the open scene (the one the summary was written for); those present who witnessed all of it remember
    its summary (one who was away for part of it, or joined late, keeps only the lines it witnessed)."""
    chat = story_chat(state.chat, cmd)
    scene = state.open_scene
    if scene is None:
        raise DomainError("No scene is open. Open one with /scene open.")
    summary = cmd.summary or ""
    events: list[Event] = [SceneClosed(chat_id=chat.chat_id, scene_id=scene.scene_id, summary=summary)]
    if summary.strip():
        events += [MemoryWritten(chat_id=chat.chat_id, memory_id=ctx.new_id("mem"), character_id=who,
                                 text=summary[:4000], importance=6, source="scene", source_id=scene.scene_id)
                   for who in scene.present if who in state.throughout]
    return emit(cmd.actor, *events)


def decide_skip_time(cmd: SkipTime, chat: ChatView | None, ctx: Context) -> list[NewEvent]:
    """Time only moves forward."""
    chat = story_chat(chat, cmd)
    to = chat.story_minute + cmd.by
    passed = format_duration(cmd.by)
    verb = "passes" if ONE_UNIT.fullmatch(passed) else "pass"  # "1 hour passes", "1 hour 30 minutes pass"
    summary = cmd.summary or f"{passed.capitalize()} {verb}."
    return emit(cmd.actor, TimeSkipped(chat_id=chat.chat_id, from_minute=chat.story_minute, to_minute=to,
                                           anchor=default_anchor(to), summary=summary))


def decide_set_weather(cmd: SetWeather, chat: ChatView | None, ctx: Context) -> list[NewEvent]:
    """Change the weather."""
    chat = story_chat(chat, cmd)
    return emit(cmd.actor, WeatherSet(chat_id=chat.chat_id, weather=cmd.weather))


DECIDERS: dict[type[Command[Any]], Decider[Any, Any]] = {
    CreatePlace: Decider(load_create_place, decide_create_place),
    OpenScene: Decider(load_open_scene, decide_open_scene),
    CloseScene: Decider(load_close_scene, decide_close_scene),
    SkipTime: Decider(load_chat, decide_skip_time),
    SetWeather: Decider(load_chat, decide_set_weather),
}
