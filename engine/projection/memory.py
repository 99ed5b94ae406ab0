"""Memories per character (with an FTS5 index kept by triggers, and pins) and meanwhile scenes."""

from __future__ import annotations

from engine.events import (
    MeanwhileDigestRecorded,
    MeanwhileStarted,
    MemoryForgotten,
    MemoryPinned,
    MemoryUnpinned,
    MemoryWritten,
    Recorded,
)
from engine.projection.projector import projector
from engine.projection.util import expect_one, json_list
from engine.storage.port import Conn

projector.owns(__name__, chat=("memories", "meanwhile_scenes", "memory_passages"))


@projector.on(MemoryWritten)
def on_memory_written(tx: Conn, event: Recorded[MemoryWritten]) -> None:
    """A character now remembers something; a summary of a passage moves the chat's summarised-through marker."""
    p = event.payload
    cursor = tx.execute(
        "INSERT INTO memories (memory_id, chat_id, character_id, text, importance, source, source_id,"
        " story_minute, seq) SELECT ?, chat_id, ?, ?, ?, ?, ?, story_minute, ? FROM chats WHERE chat_id = ?",
        (p.memory_id, p.character_id, p.text, p.importance, p.source, p.source_id, event.seq, p.chat_id),
    )
    expect_one(cursor, event, "a chat")
    if p.through_seq is not None:
        tx.execute(
            "INSERT INTO memory_passages (chat_id, through_seq) VALUES (?, ?) ON CONFLICT (chat_id) DO UPDATE"
            " SET through_seq = CASE WHEN excluded.through_seq > memory_passages.through_seq"
            " THEN excluded.through_seq ELSE memory_passages.through_seq END",
            (p.chat_id, p.through_seq),
        )


@projector.on(MemoryForgotten)
def on_memory_forgotten(tx: Conn, event: Recorded[MemoryForgotten]) -> None:
    """A memory is removed from the world (it stays in the log)."""
    cursor = tx.execute(
        "DELETE FROM memories WHERE memory_id = ? AND chat_id = ?", (event.payload.memory_id, event.chat_id)
    )
    expect_one(cursor, event, "a memory")


@projector.on(MemoryPinned)
def on_memory_pinned(tx: Conn, event: Recorded[MemoryPinned]) -> None:
    """A memory is now in every prompt of its character."""
    cursor = tx.execute("UPDATE memories SET pinned = 1 WHERE memory_id = ? AND chat_id = ? AND pinned = 0",
                        (event.payload.memory_id, event.chat_id))
    expect_one(cursor, event, "an unpinned memory")


@projector.on(MemoryUnpinned)
def on_memory_unpinned(tx: Conn, event: Recorded[MemoryUnpinned]) -> None:
    """A pinned memory goes back among the others."""
    cursor = tx.execute("UPDATE memories SET pinned = 0 WHERE memory_id = ? AND chat_id = ? AND pinned = 1",
                        (event.payload.memory_id, event.chat_id))
    expect_one(cursor, event, "a pinned memory")


@projector.on(MeanwhileStarted)
def on_meanwhile_started(tx: Conn, event: Recorded[MeanwhileStarted]) -> None:
    """An off-screen scene begins with its participants."""
    p = event.payload
    cursor = tx.execute(
        "INSERT INTO meanwhile_scenes (meanwhile_id, chat_id, place_id, premise, participants, digest,"
        " story_minute, started_seq, digest_seq) SELECT ?, chat_id, ?, ?, ?, NULL, story_minute, ?, NULL"
        " FROM chats WHERE chat_id = ?",
        (p.meanwhile_id, p.place_id, p.premise, json_list(p.character_ids), event.seq, p.chat_id),
    )
    expect_one(cursor, event, "a chat")


@projector.on(MeanwhileDigestRecorded)
def on_meanwhile_digest_recorded(tx: Conn, event: Recorded[MeanwhileDigestRecorded]) -> None:
    """The off-screen scene's digest is written."""
    p = event.payload
    cursor = tx.execute(
        "UPDATE meanwhile_scenes SET digest = ?, digest_seq = ? WHERE meanwhile_id = ? AND digest IS NULL",
        (p.digest, event.seq, p.meanwhile_id),
    )
    expect_one(cursor, event, "a meanwhile scene without a digest")
