"""Registration: every event kind has one handler, every command one decider; old payloads are upcast."""

from __future__ import annotations

import json
import sqlite3

import pytest

from engine import DECIDERS, EVENT_TYPES, TABLE, Actor, Engine
from engine.commands import Command
from engine.deciders import decider_for
from engine.events import WeatherSet, load_payload, upcaster
from engine.projection import projector
from engine.projection.projector import Projector
from tests.conftest import story


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _subclasses(sub)
    return found


def test_every_kind_of_the_catalogue_has_exactly_one_handler():
    projector.verify(EVENT_TYPES)  # raises if one is missing
    assert set(EVENT_TYPES) == {
        "bot_authored", "bot_retired", "you_authored", "chat_created", "chat_ended", "container_created",
        "scene_opened", "scene_closed", "user_said", "bot_replied", "message_edited", "message_retracted",
        "reply_regenerated", "memory_written", "memory_forgotten", "meanwhile_scene_started",
        "meanwhile_digest_created", "edge_update", "time_skip_elision", "weather_changed", "chat_rewound",
        "lorebook_created", "lore_entry_written", "lore_entry_removed", "lorebook_attached", "lorebook_detached",
        "memory_pinned", "memory_unpinned", "cast_joined", "cast_left", "cast_muted", "cast_unmuted", "turn_rule_set",
        "scene_entered", "scene_left"}


def test_every_command_has_a_decider():
    concrete = {entry.model for entry in TABLE.values() if issubclass(entry.model, Command)}
    assert concrete and all(decider_for(model) for model in concrete)
    assert set(DECIDERS) <= concrete


def test_a_second_handler_or_a_missing_one_fails_loudly():
    registry = Projector()
    registry.on(WeatherSet)(lambda tx, event: None)
    with pytest.raises(RuntimeError, match="a second handler for weather_changed"):
        registry.on(WeatherSet)(lambda tx, event: None)
    with pytest.raises(RuntimeError, match="without a projection handler: chat_created"):
        registry.verify(["weather_changed", "chat_created"])
    with pytest.raises(RuntimeError, match="already owned"):
        registry.owns("a", chat=("t",))
        registry.owns("b", world=("t",))


@upcaster("weather_changed", from_version=0)
def _weather_v0(data: dict) -> dict:
    """Version 0 called the field 'sky'."""
    return {"chat_id": data["chat_id"], "weather": data["sky"]}


def test_an_old_payload_version_is_upcast_when_read_and_never_rewritten():
    assert load_payload("weather_changed", 0, {"chat_id": "c", "sky": "hail"}) == WeatherSet(chat_id="c",
                                                                                                 weather="hail")
    with pytest.raises(ValueError, match="newer than this code"):
        load_payload("weather_changed", 2, {"chat_id": "c", "weather": "x"})


async def test_a_stored_old_version_replays_through_its_upcaster(admin: Actor, db_path):
    engine = await Engine.open(db_path)
    chat_id = await story(engine, admin)
    await engine.close()
    conn = sqlite3.connect(db_path)
    with conn:
        version = conn.execute("SELECT MAX(stream_version) FROM events WHERE stream = ?", (f"chat:{chat_id}",))
        conn.execute(
            "INSERT INTO events (stream, stream_version, kind, version, chat_id, guild_id, actor_id, payload,"
            " recorded_at) VALUES (?, ?, 'weather_changed', 0, ?, 'guild-1', 'x', ?, '2026-01-01')",
            (f"chat:{chat_id}", version.fetchone()[0] + 1, chat_id, json.dumps({"chat_id": chat_id, "sky": "hail"})))
    conn.close()
    reopened = await Engine.open(db_path)  # start-up catch-up applies the old event
    try:
        assert (await reopened.reads.get_chat("chan-1")).weather == "hail"
        await reopened.maintenance.rebuild()
        assert (await reopened.reads.get_chat("chan-1")).weather == "hail"
        [event] = await reopened.reads.recent_events(limit=1)
        assert event.kind == "weather_changed" and event.payload == {"chat_id": chat_id, "weather": "hail"}
    finally:
        await reopened.close()
