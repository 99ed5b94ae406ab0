"""Read-only SQL for finding things by a name a person typed (engine/names.py says how names compare).

A typed name finds the row spelled exactly so first, then the one with the same case-insensitive key, then the
one that looks the same (`look_key`), the oldest first: an old log may hold two look-alikes (no key is unique
there), and a lookup still gives the same row every time.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.names import look_key, looks_alike, name_key
from engine.storage.port import Conn


@dataclass(frozen=True)
class Named:
    """The WHERE condition and ORDER BY for rows named like `name` (columns name, name_key, look_key and
    created_seq, under an optional table alias), with their parameters in order."""

    where: str
    order: str
    params: tuple[str, ...]

    def query(self, select: str, scope: str, scope_params: tuple[object, ...]) -> tuple[str, tuple[object, ...]]:
        """`SELECT … WHERE <scope> AND <named> ORDER BY <best first> LIMIT 1` and its parameters."""
        return (f"{select} WHERE {scope} AND {self.where} ORDER BY {self.order} LIMIT 1",
                (*scope_params, *self.params))


def named(name: str, alias: str = "") -> Named:
    """Rows named `name`, spelled exactly so first, then case-insensitively, then by look."""
    a = f"{alias}." if alias else ""
    typed, key = name.strip(), name_key(name)
    return Named(where=f"({a}name = ? OR {a}name_key = ? OR {a}look_key = ?)",
                 order=f"CASE WHEN {a}name = ? THEN 0 WHEN {a}name_key = ? THEN 1 ELSE 2 END, {a}created_seq",
                 params=(typed, key, look_key(name), typed, key))


def find_speaker_persona(conn: Conn, chat_id: str, name: str) -> tuple[str, str] | None:
    """(author_id, persona name) of a person who spoke in the chat under `name` (spelled so, else the newest
    whose name looks like it), or None."""
    rows = conn.execute(
        "SELECT author_id, speaker, MAX(seq) FROM messages WHERE chat_id = ? AND role = 'person'"
        " GROUP BY author_id, speaker ORDER BY MAX(seq) DESC", (chat_id,),
    ).fetchall()
    typed = name.strip()
    best = next((r for r in rows if r[1] == typed), None) or next((r for r in rows if looks_alike(r[1], typed)), None)
    return None if best is None else (best[0], best[1])
