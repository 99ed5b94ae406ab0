"""Memory search on PostgreSQL: `engine.queries.search_memories` with a tsvector instead of FTS5.

The words searched for are chosen exactly as on SQLite (`engine.words.fts_query`: distinctive
words, stop words and the scene's names left out), then OR-ed into a tsquery. Only the newest
SEARCH_WINDOW matches of the chat (or character) are ranked, by ts_rank.
"""

from __future__ import annotations

import re

from engine.rows import MEMORY_COLUMNS, MESSAGE_COLUMNS, message_view
from engine.storage.port import Conn
from engine.views import MemoryView, MessageView
from engine.words import FAMILY_LETTERS, SEARCH_WINDOW, fts_query

_MEMORY = MEMORY_COLUMNS
_QUOTED = re.compile(r'"([^"]+)"')


def search_words(query: str, *, ignore_names: tuple[str, ...] = ()) -> list[str]:
    """The distinctive words of `query` that a search looks for, as SQLite's search picks them."""
    ignore = {word for name in ignore_names for word in _QUOTED.findall(fts_query(name) or "")}
    return _QUOTED.findall(fts_query(query, ignore=ignore) or "")


def tsquery_text(words: list[str], *, family_letters: int = 0) -> str | None:
    """`to_tsquery` input OR-ing `words` (letters and digits only, so nothing in them is an operator); with
    `family_letters`, a word at least that long finds its family too (its stem as a prefix)."""
    safe = [word + (":*" if family_letters and len(word) >= family_letters else "") for word in words
            if word.isalnum()]
    return " | ".join(safe) or None


def search_memories(conn: Conn, chat_id: str, query: str, *, character_id: str | None = None,
                    limit: int = 10, ignore_names: tuple[str, ...] = ()) -> list[MemoryView]:
    """Memories of the chat (or one character) matching the words of `query`, best match first."""
    text = tsquery_text(search_words(query, ignore_names=ignore_names))
    if text is None:
        return []
    scope, params = "chat_id = ?", [text, chat_id]
    if character_id is not None:
        scope, params = scope + " AND character_id = ?", params + [character_id]
    rows = conn.execute(
        f"SELECT {_MEMORY} FROM (SELECT {_MEMORY}, ts_rank(search, q) AS score"
        f" FROM memories, to_tsquery('simple', ?) AS q WHERE {scope} AND search @@ q"
        " ORDER BY seq DESC LIMIT ?) AS hits ORDER BY score DESC, seq DESC LIMIT ?",
        (*params, SEARCH_WINDOW, limit),
    )
    return [MemoryView(*row) for row in rows]


def search_lines(conn: Conn, chat_id: str, character_id: str, terms: list[str], *, before_seq: int,
                 limit: int) -> list[tuple[MessageView, float]]:
    """engine.queries_recall.search_witnessed_lines on PostgreSQL: the lines' tsvector, ranked by ts_rank."""
    from engine.projection.witness import scope_token

    text = tsquery_text(terms, family_letters=FAMILY_LETTERS)
    if text is None:
        return []
    rows = conn.execute(
        f"SELECT {MESSAGE_COLUMNS}, ts_rank(search, q) AS score FROM messages, to_tsquery('english', ?) AS q"
        " WHERE chat_id = ? AND search @@ q AND retracted = 0 AND seq < ?"
        " AND (' ' || witnesses || ' ') LIKE ? ORDER BY score DESC, seq DESC LIMIT ?",
        (text, chat_id, before_seq, f"% {scope_token(character_id)} %", limit),
    ).fetchall()
    return [(message_view(row[:-1]), float(row[-1])) for row in rows]
