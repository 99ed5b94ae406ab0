"""Who witnesses a line: the one place that decides it (the transcript, the recall index and privacy follow it).

A line said in a chat is witnessed by the chat's cast (chat_cast: who joined and has not left) and, while a scene is
open, only by those of them present in it (scene_entered / scene_left and /scene open's list change who is).
The set is decided when the line is projected, from the projected state only (deterministic: a rebuild or a rewind
decides it again from the same events), and stored with the line as scope tokens the full-text index searches by
(`scope_token`). The prompt's transcript, recall and the inspector all read it.
"""

from __future__ import annotations

import json

from engine.storage.port import Conn


def scope_token(character_id: str) -> str:
    """The index token of one witness: 'h' and the id's UTF-8 bytes in hex (letters and digits only)."""
    return "h" + character_id.encode().hex()


def witnesses_of(tx: Conn, chat_id: str) -> tuple[str, ...]:
    """The characters who witness a line said now in `chat_id`: its cast, narrowed to the open scene's present."""
    row = tx.execute("SELECT active_scene_id FROM chats WHERE chat_id = ?", (chat_id,)).fetchone()
    if row is None:
        return ()
    cast = tuple(r[0] for r in tx.execute("SELECT character_id FROM chat_cast WHERE chat_id = ?"
                                          " ORDER BY joined_seq, slot", (chat_id,)))
    if row[0] is None:
        return cast
    scene = tx.execute("SELECT present FROM scenes WHERE scene_id = ?", (row[0],)).fetchone()
    present = set(json.loads(scene[0])) if scene is not None else set()
    return tuple(i for i in cast if i in present)


def witness_tokens(witnesses: tuple[str, ...]) -> str:
    """The stored form of a line's witnesses: their scope tokens, space-separated."""
    return " ".join(scope_token(i) for i in witnesses)
