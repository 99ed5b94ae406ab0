"""Read-only SQL on a chat's cast → DTOs."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from engine.projection.witness import scope_token
from engine.storage.port import Conn
from engine.views import CastMemberView, CastView, ChatView


def chat_with_cast(conn: Conn, row: Any) -> ChatView:
    """A chat's view from its `chats` row, with its cast (joined, not left, in the order they joined) and who of it
    is muted and who is away from the open scene (not in its present)."""
    chat = ChatView(*row)
    members = conn.execute("SELECT character_id, muted FROM chat_cast WHERE chat_id = ? ORDER BY joined_seq, slot",
                           (chat.chat_id,)).fetchall()
    scene = None if chat.active_scene_id is None else conn.execute(
        "SELECT present FROM scenes WHERE scene_id = ?", (chat.active_scene_id,)).fetchone()
    return _with_cast(chat, members, None if scene is None else scene[0])


def chat_from_rows(rows: list[Any]) -> ChatView | None:
    """A chat's view from one statement's rows (engine.queries `_CHAT_WITH_CAST`): each row the chat's columns, its
    open scene's `present`, then one cast member's id and muted flag (both NULL for a chat without a cast). Several
    chats' rows: the first chat's."""
    if not rows:
        return None
    own = [row for row in rows if row[0] == rows[0][0]]
    members = [row[-2:] for row in own if row[-2] is not None]
    return _with_cast(ChatView(*own[0][:-3]), members, own[0][-3])


def _with_cast(chat: ChatView, members: Any, present: str | None) -> ChatView:
    """A chat's view with its cast members' (id, muted) rows and its open scene's present (JSON), if any."""
    cast, muted = tuple(m[0] for m in members), tuple(m[0] for m in members if m[1])
    if chat.active_scene_id is None:
        return replace(chat, cast=cast, muted=muted)
    here = set(json.loads(present)) if present is not None else set()
    return replace(chat, cast=cast, muted=muted, absent=tuple(i for i in cast if i not in here))


def list_cast(conn: Conn, chat_id: str, *, named: str = "") -> CastView:
    """The chat's cast in the order it joined, with each member's name now (`named`: the id of the member a command
    was about, answered by name)."""
    rows = conn.execute(
        "SELECT m.character_id, COALESCE(c.name, m.character_id), m.muted, c.avatar_url FROM chat_cast m"
        " LEFT JOIN characters c ON c.character_id = m.character_id WHERE m.chat_id = ?"
        " ORDER BY m.joined_seq, m.slot", (chat_id,)).fetchall()
    members = tuple(CastMemberView(row[0], row[1], bool(row[2]), row[3]) for row in rows)
    name = next((m.name for m in members if m.character_id == named), "")
    if named and not name:
        found = conn.execute("SELECT name FROM characters WHERE character_id = ?", (named,)).fetchone()
        name = found[0] if found else named
    return CastView(chat_id, members, name)


def witnessed_throughout(conn: Conn, chat_id: str, scene_id: str, present: tuple[str, ...]) -> tuple[str, ...]:
    """Those of `present` who witnessed every live line of a scene (not away for any of it, not joined late)."""
    rows = conn.execute("SELECT DISTINCT witnesses FROM messages WHERE chat_id = ? AND scene_id = ? AND retracted = 0",
                        (chat_id, scene_id)).fetchall()
    seen = [set((row[0] or "").split()) for row in rows]
    return tuple(i for i in present if all(scope_token(i) in tokens for tokens in seen))


def list_turn_members(conn: Conn, character_ids: tuple[str, ...]) -> list[tuple[str, str, float]]:
    """(id, name, talkativeness) of the given characters that exist, in the order given (one query, no card)."""
    if not character_ids:
        return []
    marks = ", ".join("?" for _ in character_ids)
    rows = conn.execute(f"SELECT character_id, name, talkativeness FROM characters WHERE character_id IN ({marks})",
                        character_ids).fetchall()
    found = {row[0]: (row[0], row[1], float(row[2])) for row in rows}
    return [found[i] for i in character_ids if i in found]


def list_recent_speakers(conn: Conn, chat_id: str, *, limit: int,
                         before_seq: int | None) -> list[tuple[str, str | None]]:
    """(role, character id) of the newest `limit` live lines of a chat before `before_seq`, oldest first."""
    sql = "SELECT role, character_id FROM messages WHERE chat_id = ? AND retracted = 0"
    params: list[Any] = [chat_id]
    if before_seq is not None:
        sql, params = sql + " AND seq < ?", [*params, before_seq]
    rows = conn.execute(sql + " ORDER BY seq DESC LIMIT ?", (*params, limit)).fetchall()
    return [(row[0], row[1]) for row in reversed(rows)]
