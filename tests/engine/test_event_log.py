"""The log itself: append-only, idempotent intake, atomic append+apply, strict handlers (on both backends)."""

from __future__ import annotations

import json
import sqlite3

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import Actor, Engine, ProjectionError
from engine.commands import SayLine
from engine.events import ChatStarted, SceneOpened
from engine.projection import apply_new, projector
from engine.storage.port import Conn
from engine.store import NewEvent, Stamp, append, stream_version
from tests.conftest import begin_write, count_events, dump_world, raw_connection, story

INTEGRITY_ERRORS = (sqlite3.IntegrityError, psycopg.IntegrityError)


async def test_update_and_delete_on_events_are_refused_by_the_database(engine: Engine, admin: Actor, location):
    await story(engine, admin)
    conn = raw_connection(location)
    try:
        with pytest.raises(INTEGRITY_ERRORS, match="append-only"):
            conn.execute("UPDATE events SET kind = 'x' WHERE seq = 1")
        with pytest.raises(INTEGRITY_ERRORS, match="append-only"):
            conn.execute("DELETE FROM events")
    finally:
        conn.close()
    assert count_events(location) > 0


async def test_a_message_delivered_twice_is_recorded_once(engine: Engine, admin: Actor, location):
    await story(engine, admin)
    first = await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id="discord-123", text="Hello!"))
    events = count_events(location)
    again = await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id="discord-123", text="Hello!"))
    assert again == first
    assert count_events(location) == events
    assert [m.text for m in await engine.reads.transcript(first.chat_id)] == ["Hello!"]


async def test_a_handler_that_raises_leaves_neither_event_nor_partial_row(engine: Engine, admin: Actor, location):
    chat_id = await story(engine, admin)  # the story already has an open scene
    before_world, before_events = dump_world(location), count_events(location)
    # on_scene_opened inserts the scene row, then fails to make it the chat's active scene.
    event = SceneOpened(chat_id=chat_id, scene_id="scn_extra", place_id="missing", title="Second", present=[])

    def write(conn: Conn) -> None:
        stream = event.stream()
        recorded = append(conn, stream, stream_version(conn, stream), [NewEvent(event, "guild-1", "x")],
                          stamp=Stamp("2026-01-01T00:00:00"))
        apply_new(conn, recorded)

    with pytest.raises(ProjectionError, match="scene_opened"):
        await engine.db.write(write)
    assert count_events(location) == before_events
    assert dump_world(location) == before_world


async def test_applying_one_event_twice_raises(engine: Engine, admin: Actor, location):
    """Handlers stay strict: the predecessor's full-replay bug must fail loudly, not pass silently."""
    chat_id = await story(engine, admin)
    conn = raw_connection(location)
    try:
        row = conn.execute("SELECT seq FROM events WHERE kind = 'chat_created' AND chat_id = ?", (chat_id,)).fetchone()
        from engine.store import read_after

        recorded = next(read_after(conn, row[0] - 1))
        assert isinstance(recorded.payload, ChatStarted)
        with pytest.raises(ProjectionError, match=r'UNIQUE constraint failed: chats\.|unique constraint "chats_pkey"'):
            projector.apply(conn, recorded)
    finally:
        conn.close()


async def test_catch_up_twice_changes_nothing(engine: Engine, admin: Actor, location):
    await story(engine, admin)
    world = dump_world(location)
    assert await engine.maintenance.catch_up() == 0
    assert await engine.maintenance.catch_up() == 0
    assert dump_world(location) == world


async def test_catch_up_at_start_up_applies_events_the_projection_missed(location, admin: Actor):
    engine = await Engine.open(location)
    await story(engine, admin)
    world = dump_world(location)
    await engine.close()
    conn = raw_connection(location)
    begin_write(conn)
    conn.execute("UPDATE projection_cursor SET position = 0")
    for table in reversed(projector.tables):
        conn.execute(f"DELETE FROM {table.name}")
    conn.execute("COMMIT")
    conn.close()
    reopened = await Engine.open(location)
    try:
        assert dump_world(location) == world
        assert (await reopened.maintenance.check()).clean
    finally:
        await reopened.close()


async def test_a_second_writer_on_the_same_stream_version_is_a_conflict(engine: Engine, admin: Actor, location):
    from engine.errors import ConcurrencyConflict

    chat_id = await story(engine, admin)
    conn = raw_connection(location)
    try:
        stale = stream_version(conn, f"chat:{chat_id}") - 1
        event = NewEvent(SceneOpened(chat_id=chat_id, scene_id="s", place_id="p", title="t", present=[]), "g", "a")
        begin_write(conn)
        with pytest.raises(ConcurrencyConflict):
            append(conn, f"chat:{chat_id}", stale, [event], stamp=Stamp("now"))
        conn.execute("ROLLBACK")
    finally:
        conn.close()


@given(st.lists(st.text(max_size=12), max_size=5))
def test_the_fast_json_list_is_json_dumps_byte_for_byte(items: list[str]):
    """Rows written by the fast path must equal what json.dumps wrote before, or `check` would see drift."""
    from engine.projection.util import json_list

    assert json_list(items) == json.dumps(items)


async def test_pending_migrations_are_the_backends_own(engine: Engine, location):
    """The doctor's migration check reads the folder of the backend in use (migrations/ or migrations/postgres/)."""
    assert await engine.maintenance.migrations_pending() == []
    conn = raw_connection(location)
    try:
        last = conn.execute("SELECT version, name FROM schema_migrations ORDER BY version DESC LIMIT 1").fetchone()
        conn.execute("DELETE FROM schema_migrations WHERE version = ?", (last[0],))
    finally:
        conn.close()
    assert await engine.maintenance.migrations_pending() == [last[1]]
