"""The story's world: places, scenes (who is present), in-story time and weather."""

from __future__ import annotations

import json

from engine.events import (
    PlaceCreated,
    Recorded,
    SceneClosed,
    SceneEntered,
    SceneLeft,
    SceneOpened,
    TimeSkipped,
    WeatherSet,
)
from engine.projection.characters import look_key, unique_key
from engine.projection.projector import projector
from engine.projection.util import Line, expect_one, insert_message, json_list, missing
from engine.storage.port import Conn

projector.owns(__name__, chat=("places", "scenes"))


@projector.on(PlaceCreated)
def on_place_created(tx: Conn, event: Recorded[PlaceCreated]) -> None:
    """A place in the chat's world."""
    p = event.payload
    tx.execute(
        "INSERT INTO places (place_id, chat_id, name, name_key, look_key, description, parent_id, created_seq)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (p.place_id, p.chat_id, p.name, unique_key(tx, "places", "chat_id", p.chat_id, "place_id", p.place_id, p.name),
         look_key(p.name), p.description, p.parent_id, event.seq),
    )


@projector.on(SceneOpened)
def on_scene_opened(tx: Conn, event: Recorded[SceneOpened]) -> None:
    """A scene opens at a place and becomes the chat's active scene."""
    p = event.payload
    tx.execute(
        "INSERT INTO scenes (scene_id, chat_id, place_id, title, present, status, opened_minute,"
        " closed_minute, summary, opened_seq, closed_seq)"
        " SELECT ?, chat_id, ?, ?, ?, 'open', story_minute, NULL, NULL, ?, NULL FROM chats WHERE chat_id = ?",
        (p.scene_id, p.place_id, p.title, json_list(p.present), event.seq, p.chat_id),
    )
    cursor = tx.execute(
        "UPDATE chats SET active_scene_id = ?, place_id = ? WHERE chat_id = ? AND active_scene_id IS NULL",
        (p.scene_id, p.place_id, p.chat_id),
    )
    expect_one(cursor, event, "a chat without an open scene")


def _set_present(tx: Conn, event: Recorded[SceneEntered] | Recorded[SceneLeft], present: bool) -> None:
    p = event.payload
    row = tx.execute("SELECT present FROM scenes WHERE scene_id = ? AND status = 'open'", (p.scene_id,)).fetchone()
    if row is None:
        raise missing(event, "an open scene")
    others = [i for i in json.loads(row[0]) if i != p.character_id]
    tx.execute("UPDATE scenes SET present = ? WHERE scene_id = ?",
               (json_list([*others, p.character_id] if present else others), p.scene_id))


@projector.on(SceneEntered)
def on_scene_entered(tx: Conn, event: Recorded[SceneEntered]) -> None:
    """The character is present again: it witnesses what is said from here on."""
    _set_present(tx, event, True)


@projector.on(SceneLeft)
def on_scene_left(tx: Conn, event: Recorded[SceneLeft]) -> None:
    """The character is away from here on: it witnesses nothing until it enters again."""
    _set_present(tx, event, False)


@projector.on(SceneClosed)
def on_scene_closed(tx: Conn, event: Recorded[SceneClosed]) -> None:
    """Close the active scene with its summary."""
    p = event.payload
    cursor = tx.execute(
        "UPDATE scenes SET status = 'closed', summary = ?, closed_seq = ?,"
        " closed_minute = (SELECT story_minute FROM chats WHERE chat_id = ?)"
        " WHERE scene_id = ? AND status = 'open'",
        (p.summary, event.seq, p.chat_id, p.scene_id),
    )
    expect_one(cursor, event, "an open scene")
    tx.execute("UPDATE chats SET active_scene_id = NULL WHERE chat_id = ?", (p.chat_id,))


@projector.on(TimeSkipped)
def on_time_skipped(tx: Conn, event: Recorded[TimeSkipped]) -> None:
    """Move the chat's clock forward and note the skip in the transcript."""
    p = event.payload
    cursor = tx.execute(
        "UPDATE chats SET story_minute = ?, anchor = ? WHERE chat_id = ? AND story_minute = ?",
        (p.to_minute, p.anchor, p.chat_id, p.from_minute),
    )
    expect_one(cursor, event, "a chat at that time")
    insert_message(tx, event, Line(f"skip-{event.seq}", "narrator", "narrator", "Narrator", None, p.summary, []))


@projector.on(WeatherSet)
def on_weather_set(tx: Conn, event: Recorded[WeatherSet]) -> None:
    """Set the chat's weather."""
    cursor = tx.execute(
        "UPDATE chats SET weather = ? WHERE chat_id = ?", (event.payload.weather, event.payload.chat_id)
    )
    expect_one(cursor, event, "a chat")
