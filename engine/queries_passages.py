"""Automatic memories' reads: how far a chat's lines are summarised, and the witnessed lines after that.

A passage is a run of a chat's live lines (not retracted, not rewound) that someone witnessed, oldest first; each
comes with who witnessed it (engine/projection/witness.py), so each character remembers only what it witnessed.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.queries import _MESSAGE, _message
from engine.storage.port import Conn
from engine.views import MessageView

_COLUMNS = ", ".join("m." + c.strip() for c in _MESSAGE.split(","))


@dataclass(frozen=True, slots=True)
class WitnessedLine:
    """A line of the transcript and the characters who witnessed it."""

    message: MessageView
    witnesses: tuple[str, ...]


def summarised_through(conn: Conn, chat_id: str) -> int:
    """The seq of the newest line an automatic memory of the chat covers (0: none yet)."""
    row = conn.execute("SELECT through_seq FROM memory_passages WHERE chat_id = ?", (chat_id,)).fetchone()
    return 0 if row is None else int(row[0])


def lines_after(conn: Conn, chat_id: str, after_seq: int, *, limit: int,
                through_seq: int | None = None) -> list[WitnessedLine]:
    """Up to `limit` live, witnessed lines of the chat after `after_seq` (through `through_seq`), oldest first, with
    their witnesses."""
    bound, params = ("", ()) if through_seq is None else (" AND m.seq <= ?", (through_seq,))
    rows = conn.execute(
        f"SELECT {_COLUMNS}, m.witnesses FROM messages AS m WHERE m.chat_id = ? AND m.seq > ?{bound}"
        " AND m.retracted = 0 AND m.witnesses <> '' ORDER BY m.seq LIMIT ?",
        (chat_id, after_seq, *params, limit)).fetchall()
    return [WitnessedLine(_message(row[:-1]), witness_ids(row[-1])) for row in rows]


def witness_ids(tokens: str) -> tuple[str, ...]:
    """The character ids of a line's stored witnesses (the inverse of witness_tokens)."""
    return tuple(bytes.fromhex(token[1:]).decode() for token in tokens.split())
