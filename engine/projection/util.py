"""Small helpers shared by projection handlers."""

from __future__ import annotations

import json
import sqlite3

from engine.errors import ProjectionError
from engine.events import Recorded


def expect_one(cursor: sqlite3.Cursor, event: Recorded, what: str) -> None:
    """Fail the projection unless the statement touched exactly one row."""
    if cursor.rowcount != 1:
        raise missing(event, what)


def missing(event: Recorded, what: str) -> ProjectionError:
    """The error for an event that refers to a row that is not there."""
    return ProjectionError(f"{event.kind} #{event.seq} refers to {what} that does not exist")


def insert_message(
    tx: sqlite3.Connection,
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
    """Add a transcript line stamped with the chat's current story time and scene."""
    cursor = tx.execute(
        "INSERT INTO messages (message_id, chat_id, seq, role, author_id, speaker, character_id, text,"
        " discord_ids, revision, retracted, story_minute, scene_id, recorded_at)"
        " SELECT ?, chat_id, ?, ?, ?, ?, ?, ?, ?, 0, 0, story_minute, active_scene_id, ?"
        " FROM chats WHERE chat_id = ?",
        (message_id, event.seq, role, author_id, speaker, character_id, text, json.dumps(discord_ids),
         event.recorded_at, event.chat_id),
    )
    expect_one(cursor, event, "a chat")
