"""The Engine's lorebook methods: import a book file, write/remove/toggle entries, attach books to the
channel's story or to a character, and read books back (list, show, export)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from engine import queries, queries_lore
from engine.commands import Actor
from engine.commands_cards import (
    AttachCharacterLore,
    AttachStoryLore,
    DetachCharacterLore,
    DetachStoryLore,
    ImportLorebook,
    RemoveLoreEntry,
    ToggleLoreEntry,
    WriteLoreEntry,
)
from engine.core import EngineCore
from engine.errors import InvalidInput
from engine.events import Recorded
from engine.lore import LoreError, export_lorebook, parse_lorebook
from engine.lore.keys import key_problem
from engine.lore.model import BOOK_NAME_MAX
from engine.storage.port import Conn
from engine.views import CardBookView, LorebookView, LoreEntryView
from engine.writes import _payload, found

if TYPE_CHECKING:
    pass


def _book_of(guild_id: str) -> Any:
    """A result builder: the book a lore event names, as it is now."""

    def result(conn: Conn, recorded: list[Recorded[Any]]) -> LorebookView:
        name = queries_lore.book_name(conn, recorded[-1].payload.book_id)
        return found(queries_lore.find_lorebook(conn, guild_id, name), "lorebook")

    return result


def _entry_of(guild_id: str) -> Any:
    """A result builder: the entry a lore_entry_written event wrote."""

    def result(conn: Conn, recorded: list[Recorded]) -> LoreEntryView:
        p = _payload(recorded, "lore_entry_written")
        book = found(queries_lore.find_lorebook(conn, guild_id, queries_lore.book_name(conn, p.book_id)), "lorebook")
        return found(queries_lore.find_lore_entry(conn, book, p.number), "lore entry")

    return result


def _compile_ahead(keys: list[str]) -> None:
    """Compile a command's regex keys here, off the writer's thread: the decider's check then finds them ready."""
    for key in keys:
        key_problem(key, use_regex=False, case_sensitive=True)


class EngineLore(EngineCore):
    """Lorebook methods; mixed into Engine."""

    async def import_lorebook(self, actor: Actor, data: bytes, filename: str, *, name: str | None = None,
                              replace: bool = False, cause: str | None = None) -> LorebookView:
        """Import a lorebook file (lorebook_v3, a character_book, SillyTavern world info) into the server; a book
        without a name takes the file's. A name in use needs `replace` or another `name`."""
        try:
            book = await asyncio.to_thread(parse_lorebook, data, filename)  # compiles its regex keys
        except LoreError as exc:
            raise InvalidInput(str(exc)) from None
        if name and name.strip():
            if len(name.strip()) > BOOK_NAME_MAX:
                raise InvalidInput(f"name: at most {BOOK_NAME_MAX} characters.")
            book = book.model_copy(update={"name": name.strip()})
        return await self._do(ImportLorebook, _book_of(actor.guild_id), key=cause, cause=cause, actor=actor, book=book,
                              replace=replace)

    async def write_lore_entry(self, actor: Actor, book: str, *, number: int | None = None,
                               cause: str | None = None, **fields: Any) -> LoreEntryView:
        """Add an entry to a book (made when new) or, with `number`, change the given fields of one (keys, content,
        secondary_keys, selective_logic, constant, enabled, characters, probability, sticky, cooldown, delay,
        scan_depth, insertion_order, case_sensitive, match_whole_words, comment). A regex key that can't be
        matched safely is refused."""
        keys = [*(fields.get("keys") or ()), *(fields.get("secondary_keys") or ())]
        await asyncio.to_thread(_compile_ahead, keys)
        return await self._do(WriteLoreEntry, _entry_of(actor.guild_id), key=cause, cause=cause, actor=actor,
                              book=book, number=number, **fields)

    async def remove_lore_entry(self, actor: Actor, book: str, number: int, *,
                                cause: str | None = None) -> LorebookView:
        """Take entry `number` out of a book; returns the book."""
        return await self._do(RemoveLoreEntry, _book_of(actor.guild_id), key=cause, cause=cause, actor=actor,
                              book=book, number=number)

    async def toggle_lore_entry(self, actor: Actor, book: str, number: int, *, enabled: bool | None = None,
                                cause: str | None = None) -> LoreEntryView:
        """Switch an entry off or on (flip it when `enabled` is None)."""
        return await self._do(ToggleLoreEntry, _entry_of(actor.guild_id), key=cause, cause=cause, actor=actor,
                              book=book, number=number, enabled=enabled)

    async def attach_lorebook(self, actor: Actor, channel_id: str, book: str, *,
                              character: str | None = None, cause: str | None = None) -> LorebookView:
        """Attach a book to a character (every story it is in), or else to the channel's story."""
        if character:
            return await self._do(AttachCharacterLore, _book_of(actor.guild_id), key=cause, cause=cause,
                                  actor=actor, book=book, character=character)
        return await self._chat_command(actor, channel_id, AttachStoryLore, _book_of(actor.guild_id), cause=cause,
                                        book=book)

    async def detach_lorebook(self, actor: Actor, channel_id: str, book: str, *,
                              character: str | None = None, cause: str | None = None) -> LorebookView:
        """Take a book off a character, or else off the channel's story."""
        if character:
            return await self._do(DetachCharacterLore, _book_of(actor.guild_id), key=cause, cause=cause,
                                  actor=actor, book=book, character=character)
        return await self._chat_command(actor, channel_id, DetachStoryLore, _book_of(actor.guild_id), cause=cause,
                                        book=book)

    async def list_lorebooks(self, guild_id: str, prefix: str = "", limit: int = 500) -> list[LorebookView]:
        """A server's lorebooks by name."""
        return await self.db.read(lambda c: queries_lore.list_lorebooks(c, guild_id, prefix=prefix, limit=limit))

    async def story_card_books(self, guild_id: str, channel_id: str) -> list[CardBookView]:
        """The books inside the cards of the channel's story's characters (none without a story): in play, but
        read-only (they change when the card is edited or imported again)."""

        def read(conn: Conn) -> list[CardBookView]:
            chat = queries.find_open_chat(conn, channel_id)
            return [] if chat is None or chat.guild_id != guild_id else queries_lore.list_card_books(conn, chat)

        return await self.db.read(read)

    async def lorebook(self, guild_id: str, name: str) -> tuple[LorebookView, list[LoreEntryView]]:
        """A book and its entries in number order."""

        def read(conn: Conn) -> tuple[LorebookView, list[LoreEntryView]]:
            book = queries_lore.get_lorebook(conn, guild_id, name)
            return book, queries_lore.list_lore_entries(conn, book)

        return await self.db.read(read)

    async def export_lorebook(self, guild_id: str, name: str) -> tuple[str, bytes]:
        """A book as a lorebook_v3 JSON file: (its name, the file's bytes)."""

        def read(conn: Conn) -> tuple[str, bytes]:
            book = queries_lore.get_lorebook(conn, guild_id, name)
            return book.name, export_lorebook(queries_lore.load_book(conn, book.book_id))

        return await self.db.read(read)
