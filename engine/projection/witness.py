"""Who witnesses a line: the one place that decides it (the transcript, the recall index and privacy follow it).

A line said in a chat is witnessed by the chat's characters (its cast) and, while a scene is open, only by those of
them present in it. The set is decided when the line is projected, from the projected state only (deterministic:
a rebuild or a rewind decides it again from the same events), and stored with the line as scope tokens the
full-text index searches by (`scope_token`).
"""

from __future__ import annotations

import json

from engine.storage.port import Conn


def scope_token(character_id: str) -> str:
    """The index token of one witness: 'h' and the id's UTF-8 bytes in hex (letters and digits only)."""
    return "h" + character_id.encode().hex()


def witnesses_of(tx: Conn, chat_id: str) -> tuple[str, ...]:
    """The characters who witness a line said now in `chat_id`: its cast, narrowed to the open scene's present."""
    row = tx.execute("SELECT host_id, guest_id, active_scene_id FROM chats WHERE chat_id = ?", (chat_id,)).fetchone()
    if row is None:
        return ()
    cast = tuple(i for i in (row[0], row[1]) if i is not None)
    if row[2] is None:
        return cast
    scene = tx.execute("SELECT present FROM scenes WHERE scene_id = ?", (row[2],)).fetchone()
    present = set(json.loads(scene[0])) if scene is not None else set()
    return tuple(i for i in cast if i in present)


def witness_tokens(witnesses: tuple[str, ...]) -> str:
    """The stored form of a line's witnesses: their scope tokens, space-separated."""
    return " ".join(scope_token(i) for i in witnesses)
