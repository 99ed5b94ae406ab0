"""The engine's own projection handlers and read queries, unmodified, give the same world on PostgreSQL as on SQLite."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

import engine.projection
from engine import queries as q
from engine import queries_lore as ql
from engine import queries_names as qn
from engine import store
from engine.errors import ProjectionError
from engine.events import Event, LineSaid, WeatherSet
from engine.projection import apply_new, catch_up_in, projector
from engine.storage import pg_conn
from engine.storage.pg_conn import PgConnection
from engine.store import NewEvent, Stamp
from tests.pg import round_trips
from tests.storage.story import ADMIN, CHAT, ENDED_CHAT, GUILD, OTHER_GUILD, PLAYER, build_story

Query = Callable[[Any], Any]
# Columns that exist on one backend only: SQLite's FTS scope, PostgreSQL's tsvector, the new write model's column.
NOT_COMPARED = {"scope", "search", "started_at"}


def _dump(conn: Any) -> dict[str, list[tuple]]:
    """Every projected table's rows (columns both backends have, in a fixed order), sorted."""
    out = {}
    for table in projector.tables:
        columns = [c for c in _columns(conn, table.name) if c not in NOT_COMPARED]
        rows = conn.execute(f"SELECT {', '.join(columns)} FROM {table.name}").fetchall()
        out[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return out


def _columns(conn: Any, table: str) -> list[str]:
    if isinstance(conn, sqlite3.Connection):
        return sorted(row[1] for row in conn.execute(f"PRAGMA table_xinfo({table})"))
    return sorted(row[0] for row in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", (table,)))


QUERIES: dict[str, Query] = {
    "find_character": lambda c: q.find_character(c, GUILD, "  ARIA "),
    "find_character_retired": lambda c: q.find_character(c, GUILD, "Old Tom"),
    "get_character": lambda c: q.get_character(c, GUILD, "élodie"),
    "find_character_by_id": lambda c: q.find_character_by_id(c, "ch-tom"),
    "list_characters": lambda c: q.list_characters(c, GUILD),
    "list_characters_prefix": lambda c: q.list_characters(c, GUILD, prefix="b"),
    "list_characters_other_guild": lambda c: q.list_characters(c, OTHER_GUILD),
    "find_persona_guild": lambda c: q.find_persona(c, ADMIN, GUILD),
    "find_persona_global": lambda c: q.find_persona(c, PLAYER, GUILD),
    "find_persona_none": lambda c: q.find_persona(c, "nobody", None),
    "find_open_chat": lambda c: q.find_open_chat(c, "chan-1"),
    "get_open_chat": lambda c: q.get_open_chat(c, "chan-1"),
    "find_chat_ended": lambda c: q.find_chat(c, ENDED_CHAT),
    "list_chats": lambda c: q.list_chats(c),
    "list_chats_open": lambda c: q.list_chats(c, guild_id=GUILD, open_only=True),
    "find_place": lambda c: q.find_place(c, CHAT, "the rusty anchor"),
    "find_place_by_id": lambda c: q.find_place_by_id(c, "pl-town"),
    "list_places": lambda c: q.list_places(c, CHAT),
    "list_places_prefix": lambda c: q.list_places(c, CHAT, prefix="h"),
    "find_scene": lambda c: q.find_scene(c, "sc-1"),
    "list_messages": lambda c: q.list_messages(c, CHAT),
    "list_messages_all": lambda c: q.list_messages(c, CHAT, include_retracted=True, limit=4, before_seq=40),
    "story_timeline": lambda c: q.story_timeline(c, q.find_chat(c, CHAT)),
    "find_message_by_id": lambda c: q.find_message_by_id(c, None, "r-2"),
    "find_message_by_discord_id": lambda c: q.find_message(c, CHAT, "d-2"),
    "count_messages": lambda c: q.count_messages(c, CHAT),
    "nth_last_message": lambda c: q.nth_last_message(c, CHAT, 2),
    "list_memories": lambda c: q.list_memories(c, CHAT),
    "list_memories_character": lambda c: q.list_memories(c, CHAT, "ch-aria", limit=2),
    "find_memory": lambda c: q.find_memory(c, CHAT, "mem-2"),
    "find_memory_forgotten": lambda c: q.find_memory(c, CHAT, "mem-5"),
    "find_meanwhile": lambda c: q.find_meanwhile(c, "mw-1"),
    "list_relationships": lambda c: q.list_relationships(c, CHAT),
    "list_relationships_involving": lambda c: q.list_relationships(c, CHAT, involving="ch-bram"),
    "find_relationship": lambda c: q.find_relationship(c, CHAT, "ch-aria", ADMIN),
    "find_speaker_persona": lambda c: qn.find_speaker_persona(c, CHAT, " PIP "),
    "find_character_look_alike": lambda c: q.find_character(c, GUILD, "\u0412ram"),
    "list_important_memories": lambda c: q.list_important_memories(c, CHAT, "ch-aria", min_importance=5),
    "list_scene_messages": lambda c: q.list_scene_messages(c, CHAT, "sc-1"),
    "find_card_whole": lambda c: ql.find_card(c, "ch-sera"),
    "find_card_plain": lambda c: ql.find_card(c, "ch-aria"),
    "find_character_book": lambda c: ql.find_character_book(c, "ch-sera"),
    "find_character_sera": lambda c: q.find_character_by_id(c, "ch-sera"),
    "find_lorebook": lambda c: ql.find_lorebook(c, GUILD, " harbour LORE "),
    "list_lorebooks": lambda c: ql.list_lorebooks(c, GUILD),
    "list_lorebooks_prefix": lambda c: ql.list_lorebooks(c, GUILD, prefix="w"),
    "list_lore_entries": lambda c: ql.list_lore_entries(c, ql.get_lorebook(c, GUILD, "Harbour lore")),
    "load_book": lambda c: ql.load_book(c, "lb-1"),
    "next_entry_number": lambda c: ql.next_entry_number(c, "lb-1"),
    "chat_book_ids": lambda c: ql.chat_book_ids(c, CHAT),
    "character_book_ids": lambda c: ql.character_book_ids(c, "ch-aria"),
    "count_lines": lambda c: ql.count_lines(c, CHAT, before_seq=40),
}


def test_the_projected_world_is_the_same_row_for_row(sqlite_world: sqlite3.Connection,
                                                     pg_world_shared: PgConnection):
    sqlite_rows, pg_rows = _dump(sqlite_world), _dump(pg_world_shared)
    assert pg_rows == sqlite_rows
    assert sqlite_rows["rewinds"] and sqlite_rows["message_revisions"] and sqlite_rows["relationship_history"]


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_every_read_query_answers_the_same(sqlite_world: sqlite3.Connection, pg_world_shared: PgConnection,
                                           name: str):
    assert QUERIES[name](pg_world_shared) == QUERIES[name](sqlite_world)


def test_the_story_exercised_what_it_should(sqlite_world: sqlite3.Connection):
    """Guards the comparisons above against comparing empty answers."""
    assert [m.message_id for m in q.list_messages(sqlite_world, CHAT)] == ["m-1", "r-1", "m-2", "r-2", "skip-40",
                                                                          "m-4", "r-5"]
    assert q.find_open_chat(sqlite_world, "chan-1").weather == "storm"  # the rewind undid the hail
    assert [c.name for c in q.list_characters(sqlite_world, GUILD)] == ["Aria", "Bram", "Élodie"]
    assert [r.source_name for r in q.list_relationships(sqlite_world, CHAT)] == ["Aria", "bram (smith)"]
    harbour = ql.get_lorebook(sqlite_world, GUILD, "Harbour lore")
    assert [v.number for v in ql.list_lore_entries(sqlite_world, harbour)] == [1, 3]
    assert (harbour.characters, harbour.channels, ql.next_entry_number(sqlite_world, "lb-1")) == (("Aria",),
                                                                                                   ("chan-1",), 4)
    assert ql.chat_book_ids(sqlite_world, CHAT) == ["lb-1"]  # the rewind undid Well notes' attachment
    assert ql.find_card(sqlite_world, "ch-sera")[0].nickname == "Sera"
    timeline = q.story_timeline(sqlite_world, q.find_chat(sqlite_world, CHAT))
    assert timeline.scenes and timeline.skips and timeline.rewinds and timeline.meanwhiles


def test_rebuilding_from_empty_on_postgresql_reproduces_the_world(pg_world: PgConnection):
    """Reprojection from the log works on PostgreSQL with the portable steps (clear, reset the cursor, catch up)."""
    before = _dump(pg_world)
    with pg_conn.write_transaction(pg_world):
        projector.clear_all(pg_world)
        pg_world.execute("UPDATE projection_cursor SET position = 0 WHERE name = 'world'")
        assert catch_up_in(pg_world) == len(build_story().events)
    assert _dump(pg_world) == before


def test_a_catch_up_on_postgresql_waits_for_the_server_a_few_times_not_for_each_line(pg_world: PgConnection):
    """Consecutive lines (a replay, a catch-up) are projected together: the story time, scene and witnesses of their
    chats read once for all and kept while no event of their chat changes them, their rows sent with one
    `executemany` (one line at a time: five waits a line)."""
    said: list[Event] = [LineSaid(chat_id=chat, message_id=f"late-{chat}-{n}", author_id=PLAYER, persona_name="Wren",
                                  text=f"line {n}") for n in range(20) for chat in (CHAT, ENDED_CHAT)]
    for weather in ("rain", "snow"):  # another chat's weather: the ended chat's lines need not read theirs again
        said += [WeatherSet(chat_id=CHAT, weather=weather)]
        said += [LineSaid(chat_id=ENDED_CHAT, message_id=f"later-{weather}-{n}", author_id=PLAYER,
                          persona_name="Wren", text=f"{weather} {n}") for n in range(3)]
    with pg_conn.write_transaction(pg_world):
        for payload in said:
            stream = payload.stream()
            store.append(pg_world, stream, store.stream_version(pg_world, stream), [NewEvent(payload, GUILD, PLAYER)],
                         stamp=Stamp("now"))

    def catch_up() -> None:
        with pg_conn.write_transaction(pg_world):
            assert catch_up_in(pg_world) == len(said)

    # BEGIN+LOCK, the cursor, the events and the end of them, the chats, their casts, the 40 rows, then twice the
    # weather and 3 rows, the cursor's move+COMMIT
    assert round_trips(pg_world, catch_up) == 12
    texts = [m.text for m in q.list_messages(pg_world, CHAT, limit=100) if m.message_id.startswith("late-")]
    assert texts == [f"line {n}" for n in range(20)]
    assert q.find_chat(pg_world, CHAT).weather == "snow"


def test_a_commands_append_and_the_cursor_position_come_back_in_one_round_trip(pg_world: PgConnection):
    """The writer asks the cursor's position (taking the log's lock late) just before it appends, and the question
    goes with the append: recording a person's line waits for the server six times, not seven."""
    said = LineSaid(chat_id=CHAT, message_id="late-1", author_id=PLAYER, persona_name="Wren", text="One more.")

    stream = said.stream()
    version = store.stream_version(pg_world, stream)  # a story command carries the version it was decided at

    def command() -> None:
        pg_conn.begin_write(pg_world, late=True)
        at = engine.projection.position_later(pg_world)
        recorded = store.append(pg_world, stream, version, [NewEvent(said, GUILD, PLAYER)], stamp=Stamp("now"))
        apply_new(pg_world, recorded, at=at)
        pg_world.execute("COMMIT")

    # BEGIN, the lock+position+append, the chat's time and scene, its cast, the line, the cursor's move+COMMIT
    assert round_trips(pg_world, command) == 6
    assert engine.projection.position(pg_world) == store.last_seq(pg_world)
    assert q.find_message_by_id(pg_world, CHAT, "late-1") is not None


def test_projection_passes_a_hole_in_seq(pg_world: PgConnection):
    """A rolled-back append leaves a hole; the next event is still projected (apply_new's catch-up finds nothing)."""
    last = store.last_seq(pg_world)
    with pytest.raises(RuntimeError), pg_conn.write_transaction(pg_world):
        store.append(pg_world, f"chat:{CHAT}", store.stream_version(pg_world, f"chat:{CHAT}"),
                         build_story().events[-1:], stamp=Stamp("now"))
        raise RuntimeError("the command failed after appending")
    new = build_story().events[-1]
    reply = new.payload.model_copy(update={"message_id": "r-6"})
    with pg_conn.write_transaction(pg_world):
        recorded = store.append(pg_world, f"chat:{CHAT}", store.stream_version(pg_world, f"chat:{CHAT}"),
                                    [type(new)(reply, new.guild_id, new.actor_id)], stamp=Stamp("now"))
        apply_new(pg_world, recorded)
    assert recorded[0].seq == last + 2
    assert engine.projection.position(pg_world) == last + 2
    assert q.find_message_by_id(pg_world, CHAT, "r-6") is not None


def test_applying_one_event_twice_fails_loudly_on_postgresql_too(pg_world: PgConnection):
    """DESIGN §2.3: strict handlers; psycopg's error reaches the caller as a ProjectionError, as sqlite3's does."""
    chat_created = next(e for e in store.read_after(pg_world, 0) if e.kind == "chat_created")
    with pytest.raises(ProjectionError, match="chat_created") as caught, pg_conn.write_transaction(pg_world):
        projector.apply(pg_world, chat_created)
    assert isinstance(caught.value.__cause__, psycopg.errors.UniqueViolation)
    assert len(q.list_chats(pg_world)) == 2


def test_columns_that_queries_sort_by_compare_bytes_as_sqlite_does(pg_world: PgConnection):
    collated = set(pg_world.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE collation_name = 'C'").fetchall())
    assert {("characters", "name_key"), ("places", "name_key"), ("relationships", "source_name"),
            ("relationships", "target_name")} <= collated
