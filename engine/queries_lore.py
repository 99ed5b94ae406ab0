"""Read-only SQL for character cards in full and for lorebooks → DTOs and card/book models. Never reads `events`."""

from __future__ import annotations

import base64
import re
from typing import Any

from engine.cards.model import Card
from engine.errors import NotFound
from engine.lore.model import Lorebook, LoreEntry
from engine.projection.characters import name_key
from engine.queries_names import named
from engine.storage.port import Conn
from engine.views import CardBookView, ChatView, LorebookView, LoreEntryView

_BOOK = ("b.book_id, b.guild_id, b.name, b.author_id, (SELECT COUNT(*) FROM lore_entries AS e"
         " WHERE e.book_id = b.book_id), b.book_json")


def find_card(conn: Conn, character_id: str) -> tuple[Card, bytes | None] | None:
    """A character's whole card and its imported image (PNG bytes), or None when there is no such character."""
    row = conn.execute(
        "SELECT card_json, avatar_png, name, description, personality, scenario, greeting, example_dialogue,"
        " system_prompt, post_history_instructions FROM characters WHERE character_id = ?", (character_id,),
    ).fetchone()
    if row is None:
        return None
    if row[0] is not None:
        card = Card.model_validate_json(row[0])
    else:
        card = Card(name=row[2], description=row[3], personality=row[4], scenario=row[5], first_mes=row[6],
                    mes_example=row[7], system_prompt=row[8], post_history_instructions=row[9])
    return card, base64.b64decode(row[1]) if row[1] is not None else None


def find_image(conn: Conn, character_id: str) -> str | None:
    """A character's imported image (base64 PNG), or None."""
    row = conn.execute("SELECT avatar_png FROM characters WHERE character_id = ?", (character_id,)).fetchone()
    return None if row is None else row[0]


def find_character_book(conn: Conn, character_id: str) -> Lorebook | None:
    """The lorebook inside a character's card, or None."""
    row = conn.execute("SELECT book_json FROM characters WHERE character_id = ?", (character_id,)).fetchone()
    return None if row is None or row[0] is None else Lorebook.model_validate_json(row[0])


def list_card_books(conn: Conn, chat: ChatView) -> list[CardBookView]:
    """The books inside the cards of a story's characters (those with entries), in cast order."""
    out = []
    for character_id in chat.character_ids:
        row = conn.execute("SELECT name, book_json FROM characters WHERE character_id = ?", (character_id,)).fetchone()
        book = None if row is None or row[1] is None else Lorebook.model_validate_json(row[1])
        if book is not None and book.entries:
            out.append(CardBookView(row[0], book.name or f"{row[0]}'s card", len(book.entries)))
    return out


def _book_view(conn: Conn, row: tuple[Any, ...]) -> LorebookView:
    settings = Lorebook.model_validate_json(row[5])
    names = tuple(r[0] for r in conn.execute(
        "SELECT c.name FROM lore_character_books AS a JOIN characters AS c ON c.character_id = a.character_id"
        " WHERE a.book_id = ? AND c.retired = 0 ORDER BY c.name_key", (row[0],)))
    channels = tuple(r[0] for r in conn.execute(
        "SELECT c.channel_id FROM lore_chat_books AS a JOIN chats AS c ON c.chat_id = a.chat_id"
        " WHERE a.book_id = ? AND c.status = 'open' ORDER BY c.created_seq", (row[0],)))
    return LorebookView(row[0], row[1], row[2], row[3], row[4], settings.description, names, channels)


def find_lorebook(conn: Conn, guild_id: str, name: str) -> LorebookView | None:
    """A guild's lorebook by name: spelled so, else case-insensitively, else the one it looks like. Or None."""
    sql, params = named(name, "b").query(f"SELECT {_BOOK} FROM lorebooks AS b", "b.guild_id = ?", (guild_id,))
    row = conn.execute(sql, params).fetchone()
    return None if row is None else _book_view(conn, row)


def get_lorebook(conn: Conn, guild_id: str, name: str) -> LorebookView:
    """A guild's lorebook by name, or NotFound saying how to list them."""
    book = find_lorebook(conn, guild_id, name)
    if book is None:
        raise NotFound(f"There is no lorebook named '{name[:100]}' in this server. See /lore list.")
    return book


def list_lorebooks(conn: Conn, guild_id: str, *, prefix: str = "", limit: int = 500) -> list[LorebookView]:
    """A guild's lorebooks by name, optionally those whose name starts with `prefix`."""
    escaped = re.sub(r"([%_\\])", r"\\\1", name_key(prefix))
    rows = conn.execute(
        f"SELECT {_BOOK} FROM lorebooks AS b WHERE b.guild_id = ? AND b.name_key LIKE ? ESCAPE '\\'"
        " ORDER BY b.name_key LIMIT ?", (guild_id, f"{escaped}%", limit)).fetchall()
    return [_book_view(conn, row) for row in rows]


def list_lore_entries(conn: Conn, book: LorebookView) -> list[LoreEntryView]:
    """A book's entries in number order."""
    rows = conn.execute("SELECT number, entry_json FROM lore_entries WHERE book_id = ? ORDER BY number",
                        (book.book_id,))
    return [LoreEntryView(book.book_id, book.name, row[0], LoreEntry.model_validate_json(row[1])) for row in rows]


def find_lore_entry(conn: Conn, book: LorebookView, number: int) -> LoreEntryView | None:
    """One entry of a book by its number, or None."""
    row = conn.execute("SELECT entry_json FROM lore_entries WHERE book_id = ? AND number = ?",
                       (book.book_id, number)).fetchone()
    return None if row is None else LoreEntryView(book.book_id, book.name, number,
                                                  LoreEntry.model_validate_json(row[0]))


def next_entry_number(conn: Conn, book_id: str) -> int:
    """The number the book's next new entry gets."""
    row = conn.execute("SELECT next_number FROM lorebooks WHERE book_id = ?", (book_id,)).fetchone()
    return 1 if row is None else row[0]


def load_book(conn: Conn, book_id: str) -> Lorebook:
    """A whole book (settings and entries in number order), as a file would hold it."""
    row = conn.execute("SELECT book_json, name FROM lorebooks WHERE book_id = ?", (book_id,)).fetchone()
    if row is None:
        raise NotFound("That lorebook no longer exists.")
    entries = tuple(LoreEntry.model_validate_json(r[0]) for r in conn.execute(
        "SELECT entry_json FROM lore_entries WHERE book_id = ? ORDER BY number", (book_id,)))
    return Lorebook.model_validate_json(row[0]).model_copy(update={"name": row[1], "entries": entries})


def numbered_entries(conn: Conn, book_id: str) -> list[tuple[int, LoreEntry]]:
    """A book's entries with their numbers, in number order."""
    rows = conn.execute("SELECT number, entry_json FROM lore_entries WHERE book_id = ? ORDER BY number", (book_id,))
    return [(row[0], LoreEntry.model_validate_json(row[1])) for row in rows]


def chat_book_ids(conn: Conn, chat_id: str) -> list[str]:
    """The books attached to a story, in the order they were attached."""
    rows = conn.execute("SELECT book_id FROM lore_chat_books WHERE chat_id = ? ORDER BY attached_seq", (chat_id,))
    return [row[0] for row in rows]


def character_book_ids(conn: Conn, character_id: str) -> list[str]:
    """The books attached to a character, in the order they were attached."""
    rows = conn.execute("SELECT book_id FROM lore_character_books WHERE character_id = ? ORDER BY attached_seq",
                        (character_id,))
    return [row[0] for row in rows]


def book_name(conn: Conn, book_id: str) -> str:
    """A book's name (its id when it is gone)."""
    row = conn.execute("SELECT name FROM lorebooks WHERE book_id = ?", (book_id,)).fetchone()
    return book_id if row is None else row[0]


def count_lines(conn: Conn, chat_id: str, *, before_seq: int | None = None) -> int:
    """How many live transcript lines the chat has (before `before_seq` when given)."""
    if before_seq is None:
        row = conn.execute("SELECT COUNT(*) FROM messages WHERE chat_id = ? AND retracted = 0", (chat_id,)).fetchone()
    else:
        row = conn.execute("SELECT COUNT(*) FROM messages WHERE chat_id = ? AND retracted = 0 AND seq < ?",
                           (chat_id, before_seq)).fetchone()
    return int(row[0])


def created_seq(conn: Conn, character_id: str) -> int | None:
    """The seq of the event that created a character (a replaced card keeps it)."""
    row = conn.execute("SELECT created_seq FROM characters WHERE character_id = ?", (character_id,)).fetchone()
    return None if row is None else row[0]
