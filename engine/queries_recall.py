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
from engine.words import FAMILY_LETTERS

Hit = tuple[MessageView, float]  # a line and its text relevance (higher is better)
MATCH_ROWS = 1_500  # a search ranks the lines of its rarest words, the newest this many of them at most
FAMILY_RARE = 30  # a word of FAMILY_LETTERS or more in this many lines at most is searched with its family when
# that finds more ('reception' finds 'receptionist')
MIN_CHUNK, MIN_PASSING = 16, 0.05  # the fewest lines read at once, and the lowest share passing a chunk is taken for


def search_witnessed_lines(conn: Conn, chat_id: str, character_id: str, terms: list[str], *, before_seq: int,
                           limit: int) -> list[Hit]:
    """Up to `limit` live lines of `chat_id` said before `before_seq` that `character_id` witnessed and that hold
    any of `terms` (words as engine.words.search_terms gives them), most relevant first."""
    if not terms:
        return []
    if dialect_of(conn) == "postgres":
        from engine.storage import pg_search

        return pg_search.search_lines(conn, chat_id, character_id, terms, before_seq=before_seq, limit=limit)
    words = " OR ".join(_selective(conn, terms))
    hits = conn.execute("SELECT rowid, bm25(messages_fts) FROM messages_fts WHERE messages_fts MATCH ?"
                        " ORDER BY rowid DESC LIMIT ?", (words, MATCH_ROWS)).fetchall()
    hits.sort(key=lambda hit: hit[1])  # best first (bm25 is lower for a better match)
    scope = f"% {scope_token(character_id)} %"
    found: list[Hit] = []
    start, size = 0, limit + limit // 8  # whole lines are read only for the best matches, a chunk at a time
    while start < len(hits) and len(found) < limit:
        chunk = hits[start:start + size]
        start += len(chunk)
        score = {rowid: -float(bm25) for rowid, bm25 in chunk}
        rows = conn.execute(
            f"SELECT {_MESSAGE}, rowid FROM messages WHERE rowid IN ({', '.join('?' * len(chunk))})"
            " AND +chat_id = ? AND +seq < ? AND +retracted = 0 AND (' ' || witnesses || ' ') LIKE ?",
            (*score, chat_id, before_seq, scope)).fetchall()
        found += [(_message(row), score[row[-1]]) for row in rows]
        size = _next_chunk(limit - len(found), len(found) / start)
    found.sort(key=lambda hit: -hit[1])
    return found[:limit]


def _next_chunk(wanted: int, passing: float) -> int:
    """How many more of the best matches to read for `wanted` more lines, when a share `passing` of those read so
    far passed the chat and witness test (a character away for part of the story passes fewer): a quarter more
    than that share predicts, and never fewer than MIN_CHUNK."""
    return max(MIN_CHUNK, int(wanted / max(passing, MIN_PASSING) * 1.25))


def _selective(conn: Conn, terms: list[str]) -> list[str]:
    """The rarest of `terms` whose lines together are at most MATCH_ROWS (at least the rarest one; the search then
    ranks only its newest MATCH_ROWS lines), as FTS5 phrases: a search costs what its words match, and a word in
    thousands of lines says little about which one is asked for.
    Counting one word's lines is a walk of its index entry, stopped past MATCH_ROWS (a word with more is never kept
    beside another: its exact count matters only when every word has more)."""
    counted = sorted(_with_family(conn, _count(conn, phrase, MATCH_ROWS + 1), phrase) for phrase in map(_phrase, terms))
    if all(count == 0 or count > MATCH_ROWS for count, _ in counted):  # every word found is common: the rarest
        counted = sorted((_count(conn, phrase, None) if count else 0, phrase) for count, phrase in counted)
    kept: list[str] = []
    total = 0
    for count, phrase in counted:
        if count == 0:
            continue
        if kept and total + count > MATCH_ROWS:
            break
        kept.append(phrase)
        total += count
    return kept or [_phrase(terms[0])]


def _with_family(conn: Conn, count: int, phrase: str) -> tuple[int, str]:
    """A rare word of FAMILY_LETTERS or more (in at most FAMILY_RARE lines) searched with its family when that
    finds more: its stem as a prefix, so 'reception' (in no line) finds 'receptionist'. A common word is searched
    as it is: its family would add little, and a prefix search costs more."""
    if count > FAMILY_RARE or len(phrase) - 2 < FAMILY_LETTERS:
        return count, phrase
    family = _count(conn, phrase + "*", MATCH_ROWS + 1)
    return (family, phrase + "*") if family > count else (count, phrase)


def _count(conn: Conn, phrase: str, cap: int | None) -> int:
    """How many lines hold `phrase` (at most `cap` of them counted)."""
    match = "SELECT 1 FROM messages_fts WHERE messages_fts MATCH ?"
    sql = f"SELECT count(*) FROM ({match} LIMIT {int(cap)})" if cap is not None else f"SELECT count(*) FROM ({match})"
    return int(conn.execute(sql, (phrase,)).fetchone()[0])


def _phrase(term: str) -> str:
    """`term` as an FTS5 phrase (a word as engine.words.search_terms gives it: nothing in it needs escaping)."""
    return f'"{term}"'


def list_pinned_memories(conn: Conn, chat_id: str, character_id: str, *, limit: int = 50) -> list[MemoryView]:
    """One character's pinned memories in this chat, oldest first."""
    rows = conn.execute(
        f"SELECT {_MEMORY} FROM memories WHERE chat_id = ? AND character_id = ? AND pinned = 1 ORDER BY seq LIMIT ?",
        (chat_id, character_id, limit),
    )
    return [MemoryView(*row) for row in rows]
