"""Recall's reads: the lines of a chat one character witnessed that match some words, best match first; and the
memories a character has pinned (in every prompt of its own, never another's).

SQLite searches `messages_fts` (FTS5 with Porter stemming, BM25), PostgreSQL the lines' tsvector (the 'english'
configuration, engine/storage/pg_search.py). Either way only lines of the chat whose stored witnesses hold the
character (engine/projection/witness.py) are candidates, so a line it did not witness never is; retracted lines
are empty and skipped, rewound ones are gone.
"""

from __future__ import annotations

from engine.projection.witness import scope_token
from engine.rows import MEMORY_COLUMNS as _MEMORY
from engine.rows import MESSAGE_COLUMNS as _MESSAGE
from engine.rows import message_view as _message
from engine.storage.port import Conn, dialect_of
from engine.views import MemoryView, MessageView
from engine.words import or_query

Hit = tuple[MessageView, float]  # a line and its text relevance (higher is better)
MATCH_ROWS = 1_500  # a search ranks the lines of its rarest words, the newest this many of them at most
_COLUMNS = ", ".join("m." + c.strip() for c in _MESSAGE.split(","))


def search_witnessed_lines(conn: Conn, chat_id: str, character_id: str, terms: list[str], *, before_seq: int,
                           limit: int) -> list[Hit]:
    """Up to `limit` live lines of `chat_id` said before `before_seq` that `character_id` witnessed and that hold
    any of `terms` (words as engine.words.search_terms gives them), most relevant first."""
    if not terms:
        return []
    if dialect_of(conn) == "postgres":
        from engine.storage import pg_search

        return pg_search.search_lines(conn, chat_id, character_id, terms, before_seq=before_seq, limit=limit)
    words = or_query(_selective(conn, terms))
    rows = conn.execute(
        f"SELECT {_COLUMNS}, hits.score FROM (SELECT rowid AS hit, bm25(messages_fts) AS score"
        " FROM messages_fts WHERE messages_fts MATCH ? ORDER BY rowid DESC LIMIT ?) AS hits"
        " JOIN messages AS m ON m.rowid = hits.hit"
        " WHERE m.chat_id = ? AND m.seq < ? AND m.retracted = 0 AND (' ' || m.witnesses || ' ') LIKE ?"
        " ORDER BY hits.score LIMIT ?",
        (words, MATCH_ROWS, chat_id, before_seq, f"% {scope_token(character_id)} %", limit),
    ).fetchall()
    return [(_message(row[:-1]), -float(row[-1])) for row in rows]


def _selective(conn: Conn, terms: list[str]) -> list[str]:
    """The rarest of `terms` whose lines together are at most MATCH_ROWS (at least the rarest one; the search then
    ranks only its newest MATCH_ROWS lines): a search costs what its words match, and a word in thousands of lines
    says little about which one is asked for.
    Counting one word's lines is a walk of its index entry (well under a millisecond at 100,000 lines)."""
    counted = sorted((conn.execute("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?",
                                   (f'"{term}"',)).fetchone()[0], term) for term in terms)
    kept: list[str] = []
    total = 0
    for count, term in counted:
        if count == 0:
            continue
        if kept and total + count > MATCH_ROWS:
            break
        kept.append(term)
        total += count
    return kept or terms[:1]


def list_pinned_memories(conn: Conn, chat_id: str, character_id: str, *, limit: int = 50) -> list[MemoryView]:
    """One character's pinned memories in this chat, oldest first."""
    rows = conn.execute(
        f"SELECT {_MEMORY} FROM memories WHERE chat_id = ? AND character_id = ? AND pinned = 1 ORDER BY seq LIMIT ?",
        (chat_id, character_id, limit),
    )
    return [MemoryView(*row) for row in rows]
