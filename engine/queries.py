"""Read-only SQL on the world tables → DTOs. Never reads `events`.

Functions are synchronous and take a connection, so the engine runs the same code on the
reader thread (queries) and inside a write transaction (deciding a command).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

from engine.errors import NotFound
from engine.projection.characters import GLOBAL_SCOPE, name_key
from engine.projection.witness import scope_token
from engine.queries_cast import chat_from_rows, chat_with_cast
from engine.queries_names import named
from engine.rows import MEMORY_COLUMNS, MESSAGE_COLUMNS, message_view
from engine.storage.port import Conn, dialect_of
from engine.views import (
    CharacterView,
    ChatView,
    MeanwhileView,
    MemoryView,
    MessageView,
    PersonaView,
    PlaceView,
    RelationshipView,
    SceneView,
    TimelineView,
)
from engine.words import SEARCH_WINDOW, fts_query, words_of

_CHARACTER = ("character_id, guild_id, name, description, personality, scenario, greeting, example_dialogue,"
              " system_prompt, post_history_instructions, avatar_url, author_id, retired, nickname, creator_notes,"
              " alternate_greetings, group_greetings, talkativeness")
_CHAT = ("chat_id, guild_id, channel_id, host_id, guest_id, started_by, status, story_minute, anchor, weather,"
         " active_scene_id, place_id, created_seq, started_at, turn_rule")
# A chat with its open scene's present and its cast, one row per member, in one statement (`chat_from_rows`).
_CHAT_WITH_CAST = (f"SELECT {', '.join('c.' + column.strip() for column in _CHAT.split(','))}, s.present,"
                   " m.character_id, m.muted FROM chats c LEFT JOIN scenes s ON s.scene_id = c.active_scene_id"
                   " LEFT JOIN chat_cast m ON m.chat_id = c.chat_id WHERE {where} ORDER BY m.joined_seq, m.slot")
V = TypeVar("V")
Row = Any  # a result row (sqlite3 or psycopg tuple): columns as selected


def _view(cls: Callable[..., V], *columns: Any) -> V:
    """A DTO from a row's columns, in the DTO's field order."""
    return cls(*columns)


_MESSAGE, _MEMORY = MESSAGE_COLUMNS, MEMORY_COLUMNS
_PERSONA = "user_id, scope, name, description, avatar_url"
_RELATION = ("chat_id, source_id, source_kind, source_name, target_id, target_kind, target_name, affinity, trust,"
             " note")


def _character(row: Row) -> CharacterView:
    return _view(CharacterView, *row[:12], bool(row[12]), row[13], row[14], tuple(json.loads(row[15])),
                 tuple(json.loads(row[16])), float(row[17]))


_message = message_view


def find_character(conn: Conn, guild_id: str, name: str, *, other_than: str | None = None) -> CharacterView | None:
    """An active character of the guild by name: spelled so, else case-insensitively, else the one it looks like
    (engine/names.py); `other_than` leaves one character out (a rename checks against the others). Or None."""
    sql, params = named(name).query(f"SELECT {_CHARACTER} FROM characters",
                                    "guild_id = ? AND retired = 0 AND character_id <> ?", (guild_id, other_than or ""))
    row = conn.execute(sql, params).fetchone()
    return None if row is None else _character(row)


def get_character(conn: Conn, guild_id: str, name: str) -> CharacterView:
    """An active character of the guild by name, or NotFound saying how to list them."""
    found = find_character(conn, guild_id, name)
    if found is None:
        raise NotFound(f"There is no character named '{name[:64]}' in this server. See /character list.")
    return found


def find_character_by_id(conn: Conn, character_id: str) -> CharacterView | None:
    """A character by id (retired ones too), or None."""
    row = conn.execute(f"SELECT {_CHARACTER} FROM characters WHERE character_id = ?", (character_id,)).fetchone()
    return None if row is None else _character(row)


def find_characters_by_ids(conn: Conn, character_ids: tuple[str, ...] | list[str]) -> list[CharacterView]:
    """The characters of `character_ids` that exist (retired ones too), in the order given, in one query."""
    if not character_ids:
        return []
    marks = ", ".join("?" for _ in character_ids)
    rows = conn.execute(f"SELECT {_CHARACTER} FROM characters WHERE character_id IN ({marks})",
                        tuple(character_ids)).fetchall()
    found = {card.character_id: card for card in map(_character, rows)}
    return [found[i] for i in character_ids if i in found]


def list_characters(conn: Conn, guild_id: str, *, prefix: str = "", limit: int = 500) -> list[CharacterView]:
    """The guild's active characters by name, optionally those whose name starts with `prefix`."""
    escaped = re.sub(r"([%_\\])", r"\\\1", name_key(prefix))
    rows = conn.execute(
        f"SELECT {_CHARACTER} FROM characters WHERE guild_id = ? AND retired = 0 AND name_key LIKE ? ESCAPE '\\'"
        " ORDER BY name_key LIMIT ?",
        (guild_id, f"{escaped}%", limit),
    )
    return [_character(row) for row in rows]


def find_persona(conn: Conn, user_id: str, guild_id: str | None) -> PersonaView | None:
    """A person's persona for the guild, falling back to their global one.

    Two key lookups, the second only when the first finds nothing, in one statement: `scope IN (…) ORDER BY` sorted
    its two rows at most in a temporary b-tree, 46 µs a call on SQLite (every line a person says reads it) against
    9 µs."""
    scope = guild_id or GLOBAL_SCOPE
    row = conn.execute(
        f"SELECT {_PERSONA} FROM personas WHERE user_id = ? AND scope = ?"
        f" UNION ALL SELECT {_PERSONA} FROM personas WHERE user_id = ? AND scope = ?"
        " AND NOT EXISTS (SELECT 1 FROM personas WHERE user_id = ? AND scope = ?)",
        (user_id, scope, user_id, GLOBAL_SCOPE, user_id, scope),
    ).fetchone()
    return None if row is None else PersonaView(*row)


def find_open_chat(conn: Conn, channel_id: str) -> ChatView | None:
    """The open chat of a channel, or None."""
    where = "c.channel_id = ? AND c.status = 'open'"
    return chat_from_rows(conn.execute(_CHAT_WITH_CAST.format(where=where), (channel_id,)).fetchall())


def get_open_chat(conn: Conn, channel_id: str) -> ChatView:
    """The open chat of a channel, or NotFound saying how to start one."""
    chat = find_open_chat(conn, channel_id)
    if chat is None:
        raise NotFound("There is no story in this channel yet. Start one with /chat start.")
    return chat


def find_chat(conn: Conn, chat_id: str) -> ChatView | None:
    """A chat by id (open or ended), or None."""
    return chat_from_rows(conn.execute(_CHAT_WITH_CAST.format(where="c.chat_id = ?"), (chat_id,)).fetchall())


def list_chats(conn: Conn, *, guild_id: str | None = None, open_only: bool = False) -> list[ChatView]:
    """Chats, oldest first, optionally of one guild and only open ones."""
    sql, params = f"SELECT {_CHAT} FROM chats WHERE 1 = 1", []
    if guild_id is not None:
        sql, params = sql + " AND guild_id = ?", [guild_id]
    if open_only:
        sql += " AND status = 'open'"
    return [chat_with_cast(conn, row) for row in conn.execute(sql + " ORDER BY created_seq", params).fetchall()]


def find_place(conn: Conn, chat_id: str, name: str) -> PlaceView | None:
    """A place of the chat by name: spelled so, else case-insensitively, else the one it looks like. Or None."""
    sql, params = named(name).query("SELECT place_id, chat_id, name, description, parent_id FROM places",
                                    "chat_id = ?", (chat_id,))
    row = conn.execute(sql, params).fetchone()
    return None if row is None else PlaceView(*row)


def find_place_by_id(conn: Conn, place_id: str) -> PlaceView | None:
    """A place by id, or None."""
    row = conn.execute(
        "SELECT place_id, chat_id, name, description, parent_id FROM places WHERE place_id = ?", (place_id,)
    ).fetchone()
    return None if row is None else PlaceView(*row)


def list_places(conn: Conn, chat_id: str, *, prefix: str = "", limit: int = 500) -> list[PlaceView]:
    """The chat's places by name."""
    escaped = re.sub(r"([%_\\])", r"\\\1", name_key(prefix))
    rows = conn.execute(
        "SELECT place_id, chat_id, name, description, parent_id FROM places WHERE chat_id = ?"
        " AND name_key LIKE ? ESCAPE '\\' ORDER BY name_key LIMIT ?",
        (chat_id, f"{escaped}%", limit),
    )
    return [PlaceView(*row) for row in rows]


def find_scene(conn: Conn, scene_id: str) -> SceneView | None:
    """A scene by id, or None."""
    row = conn.execute(
        "SELECT scene_id, chat_id, place_id, title, present, status, summary FROM scenes WHERE scene_id = ?",
        (scene_id,),
    ).fetchone()
    if row is None:
        return None
    return _view(SceneView, *row[:4], tuple(json.loads(row[4])), row[5], row[6])


def list_messages(
    conn: Conn, chat_id: str, *, limit: int = 50, before_seq: int | None = None,
    include_retracted: bool = False, witness: str | None = None,
) -> list[MessageView]:
    """The newest `limit` transcript lines of a chat (before `before_seq`), oldest first; with `witness`, only those
    that character witnessed (engine/projection/witness.py)."""
    sql = f"SELECT {_MESSAGE} FROM messages m WHERE chat_id = ?"
    params: list[Any] = [chat_id]
    if witness is not None:
        sql += " AND (' ' || m.witnesses || ' ') LIKE ?"
        params.append(f"% {scope_token(witness)} %")
    if before_seq is not None:
        sql, params = sql + " AND seq < ?", params + [before_seq]
    if not include_retracted:
        sql += " AND retracted = 0"
    rows = conn.execute(sql + " ORDER BY seq DESC LIMIT ?", (*params, limit)).fetchall()
    return [_message(row) for row in reversed(rows)]


def find_message_by_id(conn: Conn, chat_id: str | None, message_id: str) -> MessageView | None:
    """A transcript line by its own id (a primary-key lookup), in one chat or (chat_id None) any."""
    if chat_id is None:
        row = conn.execute(f"SELECT {_MESSAGE} FROM messages WHERE message_id = ?", (message_id,)).fetchone()
    else:
        row = conn.execute(f"SELECT {_MESSAGE} FROM messages WHERE message_id = ? AND chat_id = ?",
                           (message_id, chat_id)).fetchone()
    return None if row is None else _message(row)


def find_message(conn: Conn, chat_id: str, message_id: str) -> MessageView | None:
    """A transcript line by its id or by a Discord message id it was posted as (scans the chat's replies)."""
    found = find_message_by_id(conn, chat_id, message_id)
    if found is not None:
        return found
    row = conn.execute(
        f"SELECT {_MESSAGE} FROM messages WHERE chat_id = ? AND role = 'character' AND discord_ids LIKE ?"
        " ORDER BY seq DESC LIMIT 1",
        (chat_id, f'%"{message_id}"%'),
    ).fetchone()
    return None if row is None else _message(row)


def newest_person_line(conn: Conn, chat_id: str) -> MessageView | None:
    """The newest live line a person said in the chat, or None."""
    row = conn.execute(
        f"SELECT {_MESSAGE} FROM messages WHERE chat_id = ? AND retracted = 0 AND role = 'person'"
        " ORDER BY seq DESC LIMIT 1", (chat_id,)).fetchone()
    return None if row is None else _message(row)


def list_removed_by_rewind(conn: Conn, rewind_seq: int) -> list[MessageView]:
    """The live lines a rewind took out of the story, oldest first."""
    rows = conn.execute(f"SELECT {_MESSAGE} FROM rewound_lines WHERE rewind_seq = ? ORDER BY seq", (rewind_seq,))
    return [_message(row) for row in rows]


def list_later_revisions(conn: Conn, chat_id: str, after_seq: int) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(message id, change, text, Discord ids now) of the live revisions after `after_seq` of lines that
    were said at or before it, oldest first: what a rewind to `after_seq` must keep."""
    rows = conn.execute(
        "SELECT r.message_id, r.change, r.text, m.discord_ids FROM message_revisions AS r"
        " JOIN messages AS m ON m.message_id = r.message_id"
        " WHERE r.chat_id = ? AND r.seq > ? AND m.seq <= ? ORDER BY r.seq", (chat_id, after_seq, after_seq))
    return [(row[0], row[1], row[2], tuple(json.loads(row[3]))) for row in rows]


def events_undone(conn: Conn, rewind_seq: int) -> int:
    """How many of its chat's events a rewind undid (0 when there is no such rewind)."""
    row = conn.execute("SELECT events_undone FROM rewinds WHERE seq = ?", (rewind_seq,)).fetchone()
    return row[0] if row else 0


def count_messages(conn: Conn, chat_id: str) -> int:
    """How many live person and character lines the chat has."""
    return int(conn.execute(
        "SELECT COUNT(*) FROM messages WHERE chat_id = ? AND retracted = 0 AND role != 'narrator'", (chat_id,)
    ).fetchone()[0])


def nth_last_message(conn: Conn, chat_id: str, n: int) -> MessageView | None:
    """The n-th newest live person/character line (n=1 is the newest), or None."""
    row = conn.execute(
        f"SELECT {_MESSAGE} FROM messages WHERE chat_id = ? AND retracted = 0 AND role != 'narrator'"
        " ORDER BY seq DESC LIMIT 1 OFFSET ?",
        (chat_id, n - 1),
    ).fetchone()
    return None if row is None else _message(row)


def list_memories(conn: Conn, chat_id: str, character_id: str | None = None, *,
                  limit: int = 50) -> list[MemoryView]:
    """A chat's newest memories, of one character if given, newest first."""
    if character_id is None:
        rows = conn.execute(f"SELECT {_MEMORY} FROM memories WHERE chat_id = ? ORDER BY seq DESC LIMIT ?",
                            (chat_id, limit))
    else:
        rows = conn.execute(
            f"SELECT {_MEMORY} FROM memories WHERE chat_id = ? AND character_id = ? ORDER BY seq DESC LIMIT ?",
            (chat_id, character_id, limit),
        )
    return [MemoryView(*row) for row in rows]


def find_memory(conn: Conn, chat_id: str, memory_id: str) -> MemoryView | None:
    """A memory by id, or None."""
    row = conn.execute(f"SELECT {_MEMORY} FROM memories WHERE memory_id = ? AND chat_id = ?",
                       (memory_id, chat_id)).fetchone()
    return None if row is None else MemoryView(*row)




def _scope_token(prefix: str, value: str) -> str:
    """The index token for a chat ('c…') or character ('h…'): the id's UTF-8 bytes in hex."""
    return f'"{prefix}{value.encode().hex()}"'


def search_memories(conn: Conn, chat_id: str, query: str, *, character_id: str | None = None,
                    limit: int = 10, ignore_names: tuple[str, ...] = ()) -> list[MemoryView]:
    """Memories of the chat (or one character) matching the words of `query`, best match first.

    The index narrows to the chat or character itself, and only the newest SEARCH_WINDOW matches are
    ranked, so a search costs the same with ten memories or a hundred thousand. On PostgreSQL the
    same words are searched in a tsvector (engine.storage.pg_search).
    """
    if dialect_of(conn) == "postgres":
        from engine.storage import pg_search

        return pg_search.search_memories(conn, chat_id, query, character_id=character_id, limit=limit,
                                         ignore_names=ignore_names)
    words = fts_query(query, ignore={w for name in ignore_names for w in words_of(name)})
    if words is None:
        return []
    scope = f"scope : {_scope_token('c', chat_id)}"
    if character_id is not None:
        scope += f" AND scope : {_scope_token('h', character_id)}"
    columns = ", ".join("m." + c.strip() for c in _MEMORY.split(","))
    rows = conn.execute(
        f"SELECT {columns} FROM (SELECT rowid AS hit, bm25(memories_fts) AS score FROM memories_fts"
        " WHERE memories_fts MATCH ? ORDER BY rowid DESC LIMIT ?) AS hits"
        " JOIN memories AS m ON m.rowid = hits.hit ORDER BY hits.score LIMIT ?",
        (f"{scope} AND text : ({words})", SEARCH_WINDOW, limit),
    )
    return [MemoryView(*row) for row in rows]


def find_meanwhile(conn: Conn, meanwhile_id: str) -> MeanwhileView | None:
    """A meanwhile scene by id, or None."""
    row = conn.execute(
        "SELECT meanwhile_id, chat_id, place_id, premise, participants, digest, story_minute FROM meanwhile_scenes"
        " WHERE meanwhile_id = ?",
        (meanwhile_id,),
    ).fetchone()
    if row is None:
        return None
    return _view(MeanwhileView, *row[:4], tuple(json.loads(row[4])), row[5], row[6])


def list_relationships(conn: Conn, chat_id: str, *, involving: str | None = None) -> list[RelationshipView]:
    """A chat's relationships, optionally those involving one id."""
    sql, params = f"SELECT {_RELATION} FROM relationships WHERE chat_id = ?", [chat_id]
    if involving is not None:
        sql, params = sql + " AND (source_id = ? OR target_id = ?)", params + [involving, involving]
    return [RelationshipView(*row) for row in conn.execute(sql + " ORDER BY source_name, target_name", params)]


def find_relationship(conn: Conn, chat_id: str, source_id: str, target_id: str) -> RelationshipView | None:
    """One directed relationship, or None."""
    row = conn.execute(
        f"SELECT {_RELATION} FROM relationships WHERE chat_id = ? AND source_id = ? AND target_id = ?",
        (chat_id, source_id, target_id),
    ).fetchone()
    return None if row is None else RelationshipView(*row)


def list_important_memories(conn: Conn, chat_id: str, character_id: str, *, min_importance: int = 8,
                            limit: int = 8) -> list[MemoryView]:
    """A character's most important memories, newest first."""
    rows = conn.execute(
        f"SELECT {_MEMORY} FROM memories WHERE chat_id = ? AND character_id = ? AND importance >= ?"
        " ORDER BY importance DESC, seq DESC LIMIT ?",
        (chat_id, character_id, min_importance, limit),
    )
    return [MemoryView(*row) for row in rows]


def list_scene_messages(conn: Conn, chat_id: str, scene_id: str, *,
                        limit: int = 200) -> list[MessageView]:
    """The newest live lines of one scene (scenes are recent: walks the chat's index from the end)."""
    rows = conn.execute(
        f"SELECT {_MESSAGE} FROM messages WHERE chat_id = ? AND scene_id = ? AND retracted = 0"
        " ORDER BY seq DESC LIMIT ?",
        (chat_id, scene_id, limit),
    ).fetchall()
    return [_message(row) for row in reversed(rows)]


def story_timeline(conn: Conn, chat: ChatView) -> TimelineView:
    """The chat's scenes, time skips, meanwhile scenes and rewinds with their story minutes, in order.

    Only a time skip moves a story's clock, so each skip starts where the previous one ended (the story's
    start for the first), and a rewind sits at the latest minute of the lines it kept.
    """
    start = int(conn.execute("SELECT start_minute FROM chats WHERE chat_id = ?", (chat.chat_id,)).fetchone()[0])
    scenes = tuple((title, place, opened, closed) for title, place, opened, closed in conn.execute(
        "SELECT s.title, p.name, s.opened_minute, s.closed_minute FROM scenes s"
        " JOIN places p ON p.place_id = s.place_id WHERE s.chat_id = ? ORDER BY s.opened_seq", (chat.chat_id,)))
    skips, clock = [], start
    for minute, summary in conn.execute(  # the narrator lines that time skips write (projection/chats.py)
            "SELECT story_minute, text FROM messages WHERE chat_id = ? AND role = 'narrator'"
            " AND message_id LIKE 'skip-%' ORDER BY seq", (chat.chat_id,)):
        skips.append((clock, int(minute), str(summary)))
        clock = int(minute)
    names = {cid: name for cid, name in conn.execute(
        "SELECT character_id, name FROM characters WHERE guild_id = ?", (chat.guild_id,))}
    meanwhiles = tuple((int(minute), tuple(names.get(i, "someone") for i in json.loads(ids)), str(premise))
                       for minute, ids, premise in conn.execute(
        "SELECT story_minute, participants, premise FROM meanwhile_scenes WHERE chat_id = ? ORDER BY started_seq",
        (chat.chat_id,)))
    rewinds = tuple((int(minute) if minute is not None else start, int(undone)) for minute, undone in conn.execute(
        "SELECT (SELECT MAX(m.story_minute) FROM messages m WHERE m.chat_id = r.chat_id AND m.seq <= r.to_seq),"
        " r.events_undone FROM rewinds r WHERE r.chat_id = ? ORDER BY r.seq", (chat.chat_id,)))
    return TimelineView(chat.chat_id, start, chat.story_minute, scenes, tuple(skips), meanwhiles, rewinds)
