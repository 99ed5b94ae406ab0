"""The column lists and row mappings the read modules share (engine.queries, engine.queries_recall and the
PostgreSQL searches), so that a backend's search reads a line or a memory exactly as the queries do."""

from __future__ import annotations

import json
from typing import Any

from engine.views import MessageView

MESSAGE_COLUMNS = ("message_id, chat_id, seq, role, author_id, speaker, character_id, text, discord_ids, revision,"
                   " retracted, story_minute, scene_id")
MEMORY_COLUMNS = "memory_id, chat_id, character_id, text, importance, source, source_id, story_minute, seq, pinned"


def ids_of(raw: str) -> tuple[str, ...]:
    """A JSON list of ids; the common shapes (none, one plain id) without the JSON decoder (prompts read hundreds)."""
    if raw == "[]":
        return ()
    if raw.startswith('["') and raw.endswith('"]') and '"' not in raw[2:-2] and "\\" not in raw:
        return (raw[2:-2],)
    return tuple(json.loads(raw))


def message_view(row: Any) -> MessageView:
    """A transcript line from a row of MESSAGE_COLUMNS (any extra columns after them ignored)."""
    columns: list[Any] = [*row[:8], ids_of(row[8]), row[9], bool(row[10]), row[11], row[12]]
    return MessageView(*columns)
