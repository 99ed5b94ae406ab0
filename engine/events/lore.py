"""Lorebooks (world info): a book created or imported, its entries written and removed, a book attached to or
detached from a story or a character."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from engine.events.base import Event, Id
from engine.lore.model import BOOK_NAME_MAX, Lorebook, LoreEntry


class LorebookCreated(Event):
    """A lorebook made or imported into a guild, with its entries (numbered 1… in order); the same
    `book_id` again replaces the book."""

    kind: ClassVar[str] = "lorebook_created"
    book_id: Id
    guild_id: Id
    author_id: Id
    book: Lorebook

    @model_validator(mode="after")
    def _named(self) -> LorebookCreated:
        name = (self.book.name or "").strip()
        if not name or len(name) > BOOK_NAME_MAX:
            raise ValueError(f"a lorebook needs a name of 1 to {BOOK_NAME_MAX} characters")
        return self

    def stream(self) -> str:
        """Lorebooks live in their guild's stream."""
        return f"guild:{self.guild_id}"


class LoreEntryWritten(Event):
    """An entry of a book added (a new number) or changed (its number again; a toggle flips `enabled`)."""

    kind: ClassVar[str] = "lore_entry_written"
    book_id: Id
    guild_id: Id
    number: int = Field(ge=1, le=10_000_000)
    entry: LoreEntry

    def stream(self) -> str:
        """Lorebooks live in their guild's stream."""
        return f"guild:{self.guild_id}"


class LoreEntryRemoved(Event):
    """An entry taken out of a book."""

    kind: ClassVar[str] = "lore_entry_removed"
    book_id: Id
    guild_id: Id
    number: int = Field(ge=1, le=10_000_000)

    def stream(self) -> str:
        """Lorebooks live in their guild's stream."""
        return f"guild:{self.guild_id}"


class _Attachment(Event):
    """A book and what it is attached to: a story (`chat_id`, in that chat's stream) or a character."""

    book_id: Id
    guild_id: Id
    chat_id: Id | None = None
    character_id: Id | None = None

    @model_validator(mode="after")
    def _one_target(self) -> _Attachment:
        if (self.chat_id is None) == (self.character_id is None):
            raise ValueError("a lorebook is attached to a story or to a character")
        return self

    def stream(self) -> str:
        """A story's attachment is part of that story; a character's lives in the guild's stream."""
        return f"chat:{self.chat_id}" if self.chat_id is not None else f"guild:{self.guild_id}"


class LorebookAttached(_Attachment):
    """A book attached to a story or a character."""

    kind: ClassVar[str] = "lorebook_attached"


class LorebookDetached(_Attachment):
    """A book taken off a story or a character."""

    kind: ClassVar[str] = "lorebook_detached"
