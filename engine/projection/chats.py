"""Chats and their state, places, scenes, time and weather."""

from __future__ import annotations

from engine.events import (
    ChatCreated,
    ChatEnded,
    ContainerCreated,
    Recorded,
    SceneClosed,
    SceneOpened,
    TimeSkipElision,
    WeatherChanged,
)
from engine.projection.characters import look_key, unique_key
from engine.projection.projector import projector
from engine.projection.util import expect_one, insert_message, json_list
from engine.storage.port import Conn

projector.owns(__name__, chat=("chats", "places", "scenes"))


@projector.on(ChatCreated)
def on_chat_created(tx: Conn, event: Recorded[ChatCreated]) -> None:
    """A new open chat in a channel (strict INSERT: a second one with the same id fails)."""
    p = event.payload
    tx.execute(
        "INSERT INTO chats (chat_id, guild_id, channel_id, host_id, guest_id, started_by, status,"
        " start_minute, story_minute, anchor, weather, active_scene_id, place_id, created_seq, ended_seq,"
        " started_at) VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, NULL, NULL, ?, NULL, ?)",
        (p.chat_id, p.guild_id, p.channel_id, p.host_id, p.guest_id, p.started_by, p.start_minute,
         p.start_minute, p.anchor, p.weather, event.seq, event.recorded_at),
    )


@projector.on(ChatEnded)
def on_chat_ended(tx: Conn, event: Recorded[ChatEnded]) -> None:
    """Close the chat; the channel may start another."""
    cursor = tx.execute(
        "UPDATE chats SET status = 'ended', ended_seq = ? WHERE chat_id = ? AND status = 'open'",
        (event.seq, event.payload.chat_id),
    )
    expect_one(cursor, event, "an open chat")


@projector.on(ContainerCreated)
def on_container_created(tx: Conn, event: Recorded[ContainerCreated]) -> None:
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


@projector.on(TimeSkipElision)
def on_time_skip(tx: Conn, event: Recorded[TimeSkipElision]) -> None:
    """Move the chat's clock forward and note the skip in the transcript."""
    p = event.payload
    cursor = tx.execute(
        "UPDATE chats SET story_minute = ?, anchor = ? WHERE chat_id = ? AND story_minute = ?",
        (p.to_minute, p.anchor, p.chat_id, p.from_minute),
    )
    expect_one(cursor, event, "a chat at that time")
    insert_message(tx, event, message_id=f"skip-{event.seq}", role="narrator", author_id="narrator",
                   speaker="Narrator", character_id=None, text=p.summary, discord_ids=[])


@projector.on(WeatherChanged)
def on_weather_changed(tx: Conn, event: Recorded[WeatherChanged]) -> None:
    """Set the chat's weather."""
    cursor = tx.execute(
        "UPDATE chats SET weather = ? WHERE chat_id = ?", (event.payload.weather, event.payload.chat_id)
    )
    expect_one(cursor, event, "a chat")
