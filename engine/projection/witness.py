"""Who witnesses a line: the one place that decides it (the transcript, the recall index and privacy follow it).

A line said in a chat is witnessed by the chat's cast (chat_cast: who joined and has not left) and, while a scene is
open, only by those of them present in it (scene_entered / scene_left and /scene open's list change who is).
The set is decided when the line is projected, from the projected state only (deterministic: a rebuild or a rewind
decides it again from the same events), and stored with the line as scope tokens the full-text index searches by
(`scope_token`). The prompt's transcript, recall and the inspector all read it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import NamedTuple

from engine.storage.port import Conn


def scope_token(character_id: str) -> str:
    """The index token of one witness: 'h' and the id's UTF-8 bytes in hex (letters and digits only)."""
    return "h" + character_id.encode().hex()


class LineContext(NamedTuple):
    """What a line said now in a chat is stamped with: the story's time, the open scene, who witnesses it."""

    story_minute: int
    scene_id: str | None
    witnesses: tuple[str, ...]


def line_contexts(tx: Conn, chat_ids: Sequence[str]) -> dict[str, LineContext]:
    """Each chat's story time, open scene and witnesses (its cast, narrowed to the open scene's present); a chat
    that does not exist is left out. Two reads whatever the number of chats: the chats with their open scenes,
    then their casts."""
    marks = ", ".join("?" for _ in chat_ids)
    chats = tx.execute("SELECT c.chat_id, c.story_minute, c.active_scene_id, s.present FROM chats c"
                       f" LEFT JOIN scenes s ON s.scene_id = c.active_scene_id WHERE c.chat_id IN ({marks})",
                       tuple(chat_ids)).fetchall()
    if not chats:
        return {}
    casts: dict[str, list[str]] = {row[0]: [] for row in chats}
    for chat_id, character_id in tx.execute(f"SELECT chat_id, character_id FROM chat_cast WHERE chat_id IN ({marks})"
                                            " ORDER BY joined_seq, slot", tuple(chat_ids)):
        casts[chat_id].append(character_id)
    out = {}
    for chat_id, minute, scene_id, present in chats:
        cast = casts[chat_id]
        if scene_id is not None:
            shown = set(json.loads(present)) if present is not None else set()
            cast = [i for i in cast if i in shown]
        out[chat_id] = LineContext(minute, scene_id, tuple(cast))
    return out


def witness_tokens(witnesses: tuple[str, ...]) -> str:
    """The stored form of a line's witnesses: their scope tokens, space-separated."""
    return " ".join(scope_token(i) for i in witnesses)
