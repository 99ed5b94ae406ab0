"""Small helpers shared by projection handlers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import NamedTuple

from engine.errors import ProjectionError
from engine.events import Recorded
from engine.projection.witness import LineContext, line_contexts, witness_tokens
from engine.storage.port import Conn, Cursor, when_answered


def expect_one(cursor: Cursor, event: Recorded, what: str) -> None:
    """Fail the projection unless the statement touched exactly one row (checked once its answer is in: on
    PostgreSQL, a fill batch's writes are answered together, `when_answered`)."""
    def check(done: Cursor) -> None:
        if done.rowcount != 1:
            raise missing(event, what)

    when_answered(cursor, check)


def missing(event: Recorded, what: str) -> ProjectionError:
    """The error for an event that refers to a row that is not there."""
    return ProjectionError(f"{event.kind} #{event.seq} refers to {what} that does not exist")


class Line(NamedTuple):
    """A transcript line's own fields (the chat's story time, scene and witnesses are added when it is projected)."""

    message_id: str
    role: str
    author_id: str
    speaker: str
    character_id: str | None
    text: str
    discord_ids: list[str]


_INSERT_MESSAGE = (
    "INSERT INTO messages (message_id, chat_id, seq, role, author_id, speaker, character_id, text,"
    " discord_ids, revision, retracted, story_minute, scene_id, recorded_at, witnesses)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?, ?)"
)


def _message_row(event: Recorded, line: Line, context: LineContext) -> tuple[object, ...]:
    return (line.message_id, event.chat_id, event.seq, line.role, line.author_id, line.speaker, line.character_id,
            line.text, json_list(line.discord_ids), context.story_minute, context.scene_id, event.recorded_at,
            witness_tokens(context.witnesses))


def insert_message(tx: Conn, event: Recorded, line: Line) -> None:
    """Add a transcript line stamped with the chat's current story time and scene, and who witnessed it.

    Reads then a single-row INSERT … VALUES, not INSERT … SELECT: SQLite treats an INSERT … SELECT
    into `messages` as a possible multi-row write and scans `message_revisions` for each row
    (its foreign key to messages), which doubled the cost of the commonest event.
    """
    insert_messages(tx, [(event, line)], {})


def insert_messages(tx: Conn, lines: Sequence[tuple[Recorded, Line]], known: dict[str, LineContext]) -> None:
    """`insert_message` for consecutive events, with the same rows: the story time, scene and witnesses of the chats
    not in `known` are read at once (and kept there: adding transcript lines changes none of them), and the rows go
    in with one `executemany`."""
    wanted = list(dict.fromkeys(e.chat_id or "" for e, _ in lines if (e.chat_id or "") not in known))
    if wanted:
        known.update(line_contexts(tx, wanted))
    rows = []
    for event, line in lines:
        context = known.get(event.chat_id or "")
        if context is None:
            raise missing(event, "a chat")
        rows.append(_message_row(event, line, context))
    if len(rows) == 1:
        tx.execute(_INSERT_MESSAGE, rows[0])
    else:
        tx.executemany(_INSERT_MESSAGE, rows)


def json_list(items: list[str]) -> str:
    """`json.dumps(items)`, byte for byte, with a fast path for plain ASCII strings (ids)."""
    if all(_plain(item) for item in items):
        return '["' + '", "'.join(items) + '"]' if items else "[]"
    return json.dumps(items)


def _plain(text: str) -> bool:
    """True when json.dumps would copy `text` unchanged between its quotes."""
    return text.isascii() and text.isprintable() and '"' not in text and "\\" not in text
