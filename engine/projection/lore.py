"""Lorebooks of a guild, their entries, and what each book is attached to (a story or a character)."""

from __future__ import annotations

from engine.events import (
    LorebookAttached,
    LorebookCreated,
    LorebookDetached,
    LoreEntryRemoved,
    LoreEntryWritten,
    Recorded,
)
from engine.lore.model import LoreEntry
from engine.projection.characters import look_key, unique_key
from engine.projection.projector import projector
from engine.projection.util import expect_one
from engine.storage.port import Conn

projector.owns(__name__, chat=("lore_chat_books",), world=("lorebooks", "lore_entries", "lore_character_books"))

LABEL_MAX = 200


def _insert_entry(tx: Conn, book_id: str, number: int, entry: LoreEntry, seq: int) -> None:
    tx.execute(
        "INSERT INTO lore_entries (book_id, number, label, enabled, entry_json, updated_seq) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (book_id, number) DO UPDATE SET label = excluded.label, enabled = excluded.enabled,"
        " entry_json = excluded.entry_json, updated_seq = excluded.updated_seq",
        (book_id, number, entry.label[:LABEL_MAX], int(entry.enabled), entry.model_dump_json(), seq),
    )


@projector.on(LorebookCreated)
def on_lorebook_created(tx: Conn, event: Recorded[LorebookCreated]) -> None:
    """A new book with its entries numbered 1…; the same id again replaces the book and all its entries."""
    p = event.payload
    name = (p.book.name or "").strip()
    settings = p.book.model_copy(update={"entries": ()}).model_dump_json()
    tx.execute(
        "INSERT INTO lorebooks (book_id, guild_id, name, name_key, look_key, author_id, book_json, next_number,"
        " created_seq, updated_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (book_id) DO UPDATE SET"
        " name = excluded.name, name_key = excluded.name_key, look_key = excluded.look_key,"
        " author_id = excluded.author_id, book_json = excluded.book_json, next_number = excluded.next_number,"
        " updated_seq = excluded.updated_seq",
        (p.book_id, p.guild_id, name, unique_key(tx, "lorebooks", "guild_id", p.guild_id, "book_id", p.book_id, name),
         look_key(name), p.author_id, settings, len(p.book.entries) + 1, event.seq, event.seq),
    )
    tx.execute("DELETE FROM lore_entries WHERE book_id = ?", (p.book_id,))
    for number, entry in enumerate(p.book.entries, start=1):
        _insert_entry(tx, p.book_id, number, entry, event.seq)


@projector.on(LoreEntryWritten)
def on_lore_entry_written(tx: Conn, event: Recorded[LoreEntryWritten]) -> None:
    """Add or replace one entry; a new number moves the book's next number past it."""
    p = event.payload
    cursor = tx.execute(
        "UPDATE lorebooks SET updated_seq = ?, next_number = CASE WHEN next_number > ? THEN next_number ELSE ? END"
        " WHERE book_id = ?", (event.seq, p.number, p.number + 1, p.book_id))
    expect_one(cursor, event, "a lorebook")
    _insert_entry(tx, p.book_id, p.number, p.entry, event.seq)


@projector.on(LoreEntryRemoved)
def on_lore_entry_removed(tx: Conn, event: Recorded[LoreEntryRemoved]) -> None:
    """Take an entry out of its book (its number is not given out again)."""
    p = event.payload
    expect_one(tx.execute("DELETE FROM lore_entries WHERE book_id = ? AND number = ?", (p.book_id, p.number)),
               event, "a lore entry")
    tx.execute("UPDATE lorebooks SET updated_seq = ? WHERE book_id = ?", (event.seq, p.book_id))


@projector.on(LorebookAttached)
def on_lorebook_attached(tx: Conn, event: Recorded[LorebookAttached]) -> None:
    """Attach a book to a story or to a character (strict: attaching twice is refused before it gets here)."""
    p = event.payload
    if p.chat_id is not None:
        tx.execute("INSERT INTO lore_chat_books (chat_id, book_id, attached_seq) VALUES (?, ?, ?)",
                   (p.chat_id, p.book_id, event.seq))
    else:
        tx.execute("INSERT INTO lore_character_books (character_id, book_id, attached_seq) VALUES (?, ?, ?)",
                   (p.character_id, p.book_id, event.seq))


@projector.on(LorebookDetached)
def on_lorebook_detached(tx: Conn, event: Recorded[LorebookDetached]) -> None:
    """Take a book off a story or a character."""
    p = event.payload
    if p.chat_id is not None:
        cursor = tx.execute("DELETE FROM lore_chat_books WHERE chat_id = ? AND book_id = ?", (p.chat_id, p.book_id))
    else:
        cursor = tx.execute("DELETE FROM lore_character_books WHERE character_id = ? AND book_id = ?",
                            (p.character_id, p.book_id))
    expect_one(cursor, event, "an attached lorebook")
