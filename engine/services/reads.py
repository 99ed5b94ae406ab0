"""Reads of the world and the log: read models (engine/views.py) from the world tables, on the reader connection,
for frontends (autocomplete, rendering) and for the table's queries (`answer`)."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from typing import Any, TypeVar

from engine import queries, queries_lore, store
from engine.cards.model import Card
from engine.commands import Query
from engine.errors import EngineError, InvalidInput, NotFound
from engine.events import Recorded
from engine.storage.port import Conn, Storage
from engine.table import action_of
from engine.views import (
    CardBookView,
    CharacterView,
    ChatView,
    EventView,
    LorebookView,
    LoreEntryView,
    MemoryView,
    MessageView,
    PersonaView,
    PlaceView,
    RelationshipView,
    TimelineView,
)

R = TypeVar("R")


def _event_view(event: Recorded[Any]) -> EventView:
    return EventView(event.seq, event.kind, event.stream, event.chat_id, event.guild_id, event.actor_id,
                     event.recorded_at, event.payload.model_dump(mode="json"))


class Reads:
    """Read methods over one storage."""

    def __init__(self, db: Storage) -> None:
        self.db = db

    async def answer(self, q: Query[R]) -> R:
        """Answer a query of the command table from the world, in one read."""
        entry = action_of(type(q))
        if entry is None or entry.answer is None:
            raise EngineError(f"{type(q).__name__} has no answer in the command table")
        answer = entry.answer
        result: R = await self.db.read(lambda c: answer(c, q))
        return result

    async def find_chat(self, channel_id: str) -> ChatView | None:
        """The open chat of a channel, or None."""
        return await self.db.read(lambda c: queries.find_open_chat(c, channel_id))

    async def get_chat(self, channel_id: str) -> ChatView:
        """The open chat of a channel, or NotFound saying how to start one."""
        return await self.db.read(lambda c: queries.get_open_chat(c, channel_id))

    async def chat_by_id(self, chat_id: str) -> ChatView:
        """A chat by id, open or ended."""
        chat = await self.db.read(lambda c: queries.find_chat(c, chat_id))
        if chat is None:
            raise NotFound(f"There is no chat with id '{chat_id[:80]}'. `chronicle chats` lists them.")
        return chat

    async def list_chats(self, guild_id: str | None = None, *, open_only: bool = False) -> list[ChatView]:
        """Chats, oldest first."""
        return await self.db.read(lambda c: queries.list_chats(c, guild_id=guild_id, open_only=open_only))

    async def transcript(self, chat_id: str, *, limit: int = 50, before_seq: int | None = None,
                         include_retracted: bool = False) -> list[MessageView]:
        """The newest `limit` transcript lines of a chat, oldest first."""
        return await self.db.read(lambda c: queries.list_messages(
            c, chat_id, limit=limit, before_seq=before_seq, include_retracted=include_retracted))

    async def find_message(self, chat_id: str, message_id: str) -> MessageView | None:
        """A transcript line by its id or a Discord message id it was posted as."""
        return await self.db.read(lambda c: queries.find_message(c, chat_id, message_id))

    async def list_characters(self, guild_id: str, prefix: str = "", limit: int = 500) -> list[CharacterView]:
        """A guild's active characters by name."""
        return await self.db.read(lambda c: queries.list_characters(c, guild_id, prefix=prefix, limit=limit))

    async def get_character(self, guild_id: str, name: str) -> CharacterView:
        """An active character by name, or NotFound."""
        return await self.db.read(lambda c: queries.get_character(c, guild_id, name))

    async def character_by_id(self, character_id: str) -> CharacterView | None:
        """A character by id (retired ones too)."""
        return await self.db.read(lambda c: queries.find_character_by_id(c, character_id))

    async def find_persona(self, user_id: str, guild_id: str | None) -> PersonaView | None:
        """A person's persona here, else their global one."""
        return await self.db.read(lambda c: queries.find_persona(c, user_id, guild_id))

    async def list_places(self, chat_id: str, prefix: str = "", limit: int = 500) -> list[PlaceView]:
        """A chat's places by name."""
        return await self.db.read(lambda c: queries.list_places(c, chat_id, prefix=prefix, limit=limit))

    async def list_memories(self, chat_id: str, character_id: str | None = None, *,
                            limit: int = 50) -> list[MemoryView]:
        """A chat's newest memories (of one character if given)."""
        return await self.db.read(lambda c: queries.list_memories(c, chat_id, character_id, limit=limit))

    async def search_memories(self, chat_id: str, query: str, *, character_id: str | None = None,
                              limit: int = 10) -> list[MemoryView]:
        """Memories matching the words of `query`, best first."""
        return await self.db.read(lambda c: queries.search_memories(c, chat_id, query, character_id=character_id,
                                                                    limit=limit))

    async def relationships(self, chat_id: str, *, involving: str | None = None) -> list[RelationshipView]:
        """A chat's relationships, optionally those involving one character or person."""
        return await self.db.read(lambda c: queries.list_relationships(c, chat_id, involving=involving))

    async def timeline(self, chat_id: str) -> TimelineView:
        """A chat's story along in-story time: scenes at their places, time skips, meanwhile scenes, rewinds."""
        chat = await self.chat_by_id(chat_id)
        return await self.db.read(lambda c: queries.story_timeline(c, chat))

    async def recent_events(self, *, chat_id: str | None = None, guild_id: str | None = None,
                            limit: int = 20) -> list[EventView]:
        """The newest events of the log (of a chat or guild), newest last; `limit` from 1 to 100,000."""
        if not 1 <= limit <= 100_000:
            raise InvalidInput(f"limit: must be a whole number from 1 to 100,000 (got {limit}).")
        rows = await self.db.read(lambda c: store.read_recent(c, chat_id=chat_id, guild_id=guild_id, limit=limit))
        return [_event_view(e) for e in rows]

    async def event_pages(self, *, after: int = 0, newest: int | None = None, chat_id: str | None = None,
                          limit: int | None = None, page: int = store.READ_BATCH) -> AsyncIterator[list[EventView]]:
        """The log (or one chat's events) after seq `after`, or its `newest` events, oldest first, at most `limit`,
        read a page at a time: a dump of any length in constant memory."""
        if newest is not None:
            count = newest
            after = await self.db.read(lambda c: store.seq_before_newest(c, count, chat_id=chat_id))
        left = limit
        while left is None or left > 0:
            size = page if left is None else min(page, left)
            rows = await self.db.read(functools.partial(store.read_page, after=after, chat_id=chat_id, limit=size))
            if rows:
                yield [_event_view(e) for e in rows]
                after = rows[-1].seq
                left = None if left is None else left - len(rows)
            if len(rows) < size:
                return

    async def card(self, guild_id: str, name: str) -> tuple[CharacterView, Card]:
        """An active character and its whole card (every field, its lorebook and extensions)."""

        def read(conn: Conn) -> tuple[CharacterView, Card]:
            character = queries.get_character(conn, guild_id, name)
            stored = queries_lore.find_card(conn, character.character_id)
            if stored is None:
                raise NotFound("That character no longer exists.")
            return character, stored[0]

        return await self.db.read(read)

    async def list_lorebooks(self, guild_id: str, prefix: str = "", limit: int = 500) -> list[LorebookView]:
        """A server's lorebooks by name."""
        return await self.db.read(lambda c: queries_lore.list_lorebooks(c, guild_id, prefix=prefix, limit=limit))

    async def story_card_books(self, guild_id: str, channel_id: str) -> list[CardBookView]:
        """The books inside the cards of the channel's story's characters (none without a story)."""

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
