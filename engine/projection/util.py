"""Small helpers shared by projection handlers."""

from __future__ import annotations

import json

from engine.errors import ProjectionError
from engine.events import Recorded
from engine.projection.witness import witness_tokens, witnesses_of
from engine.storage.port import Conn, Cursor


def expect_one(cursor: Cursor, event: Recorded, what: str) -> None:
    """Fail the projection unless the statement touched exactly one row."""
    if cursor.rowcount != 1:
        raise missing(event, what)


def missing(event: Recorded, what: str) -> ProjectionError:
    """The error for an event that refers to a row that is not there."""
    return ProjectionError(f"{event.kind} #{event.seq} refers to {what} that does not exist")


def insert_message(
    tx: Conn,
    event: Recorded,
    *,
    message_id: str,
    role: str,
    author_id: str,
    speaker: str,
    character_id: str | None,
    text: str,
    discord_ids: list[str],
) -> None:
    """Add a transcript line stamped with the chat's current story time and scene, and who witnessed it.

    A read then a single-row INSERT … VALUES, not INSERT … SELECT: SQLite treats an INSERT … SELECT
    into `messages` as a possible multi-row write and scans `message_revisions` for each row
    (its foreign key to messages), which doubled the cost of the commonest event.
    """
    chat = tx.execute("SELECT story_minute, active_scene_id FROM chats WHERE chat_id = ?",
                      (event.chat_id,)).fetchone()
    if chat is None:
        raise missing(event, "a chat")
    tx.execute(
        "INSERT INTO messages (message_id, chat_id, seq, role, author_id, speaker, character_id, text,"
        " discord_ids, revision, retracted, story_minute, scene_id, recorded_at, witnesses)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?, ?)",
        (message_id, event.chat_id, event.seq, role, author_id, speaker, character_id, text,
         json_list(discord_ids), chat[0], chat[1], event.recorded_at,
         witness_tokens(witnesses_of(tx, event.chat_id or ""))),
    )


def json_list(items: list[str]) -> str:
    """`json.dumps(items)`, byte for byte, with a fast path for plain ASCII strings (ids)."""
    if all(_plain(item) for item in items):
        return '["' + '", "'.join(items) + '"]' if items else "[]"
    return json.dumps(items)


def _plain(text: str) -> bool:
    """True when json.dumps would copy `text` unchanged between its quotes."""
    return text.isascii() and text.isprintable() and '"' not in text and "\\" not in text
