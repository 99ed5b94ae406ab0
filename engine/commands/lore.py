"""Lorebooks (world info) of a server: /lore import, add, edit, list, show, remove, toggle, attach, detach, export."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, model_validator

from engine import queries, queries_lore
from engine.commands.base import CharacterName, Command, InChat, Query, plain_name, split_commas
from engine.commands.results import book_of, entry_of
from engine.lore.model import BOOK_NAME_MAX, KEY_MAX, MAX_ENTRY_CHARACTERS, MAX_KEYS, NAME_LIMIT, Lorebook
from engine.names import refuse_invisible
from engine.storage.port import Conn
from engine.table import INTERNAL, Lookup, Typed, Upload, action
from engine.text import refuse_controls
from engine.views import CardBookView, LorebookView, LoreEntryView

BookName = Annotated[str, StringConstraints(min_length=1, max_length=BOOK_NAME_MAX, strip_whitespace=True),
                     AfterValidator(refuse_controls), AfterValidator(refuse_invisible), Lookup("book")]
Key = Annotated[str, StringConstraints(min_length=1, max_length=KEY_MAX)]
Keys = Annotated[tuple[Key, ...], BeforeValidator(split_commas), Typed(KEY_MAX), Field(max_length=MAX_KEYS)]
Who = Annotated[str, StringConstraints(min_length=1, max_length=NAME_LIMIT, strip_whitespace=True)]
Characters = Annotated[tuple[Who, ...], BeforeValidator(split_commas), Typed(KEY_MAX),
                       Field(max_length=MAX_ENTRY_CHARACTERS)]
Count = Annotated[int, Field(ge=0, le=10_000)]
EntryNumber = Annotated[int, Field(ge=1, le=10_000_000)]
Content = Annotated[str, StringConstraints(min_length=1, max_length=6_000)]
Comment = Annotated[str, StringConstraints(min_length=1, max_length=KEY_MAX)]
Logic = Literal["AND_ANY", "AND_ALL", "NOT_ANY", "NOT_ALL"]


@action("lore import", "Import a lorebook (.json: lorebook_v3, character_book, world info)", public=True,
        result=book_of, told=lambda cmd, book: f"📚 Lorebook **{book.name}** is here with {_entries(book.entries)}. "
                                               "Attach it with /lore attach.")
class ImportLorebook(Command[LorebookView]):
    """Import a lorebook file into the server; a book without a name takes the file's. A name in use needs
    `replace` (its author or an admin) or another `name`."""

    file: Upload = Field(description="The lorebook file")
    name: Annotated[str, StringConstraints(min_length=1, max_length=BOOK_NAME_MAX)] | None = Field(
        default=None, description="Its name here (default: the book's, else the file's)")
    replace: bool = Field(default=False, description="Replace the book that has this name (its author or an admin)")
    book: Annotated[Lorebook | None, INTERNAL] = None

    @model_validator(mode="after")
    def _plain_name(self) -> ImportLorebook:
        """The book's name holds no control characters and can be seen, like any name."""
        if self.book is not None and self.book.name:
            plain_name("book name", self.book.name, visible=True)
        return self


class _EntryOptions(Command[LoreEntryView]):
    """The fields of an entry people can set; None keeps the entry's value (or the default, for a new entry)."""

    book: BookName = Field(description="The lorebook")
    secondary_keys: Keys | None = Field(default=None, description="More keywords, comma-separated, combined by logic")
    logic: Logic | None = Field(default=None, description="How secondary keys combine")
    constant: bool | None = Field(default=None, description="Always in the prompt, no keywords needed")
    characters: Characters | None = Field(default=None, description="Only these characters know it (comma-separated)")
    probability: int | None = Field(default=None, ge=0, le=100,
        description="Chance (0-100) that it comes in when triggered")
    sticky: Count | None = Field(default=None, description="Stays in for this many messages")
    cooldown: Count | None = Field(default=None, description="Then stays out for this many messages")
    delay: Count | None = Field(default=None, description="Not before the story has this many messages")
    order: int | None = Field(default=None, ge=-1_000_000, le=1_000_000,
                              description="Insertion order (higher goes first when the budget is short)")
    comment: Comment | None = Field(default=None, description="A label for it")
    whole_words: bool | None = Field(default=None, description="Keywords match whole words only")
    case_sensitive: bool | None = Field(default=None, description="Keywords match case exactly")
    scan_depth: Count | None = Field(default=None, description="How many recent lines are searched for keywords")
    enabled: Annotated[bool | None, INTERNAL] = None


@action("lore add", "Add an entry to a lorebook (a new book is made)", result=entry_of, card=True,
        told=lambda cmd, view: f"Added entry #{view.number} to **{view.book_name}**.")
class AddLoreEntry(_EntryOptions):
    """Add an entry to a book (made when new)."""

    keys: Keys = Field(description="Keywords that bring it in, comma-separated (/regex/ works too)")
    content: Content = Field(description="What the characters know")


@action("lore edit", "Change fields of a lorebook entry", result=entry_of, card=True,
        told=lambda cmd, view: f"Updated **{view.book_name}** #{view.number}.")
class EditLoreEntry(_EntryOptions):
    """Change the given fields of one entry."""

    entry: EntryNumber = Field(description="The entry's number (see /lore show)")
    keys: Keys | None = Field(default=None,
        description="Keywords that bring it in, comma-separated (/regex/ works too)")
    content: Content | None = Field(default=None, description="What the characters know")


def _books(conn: Conn, q: ListLorebooks) -> tuple[list[LorebookView], list[CardBookView]]:
    books = queries_lore.list_lorebooks(conn, q.actor.guild_id)
    chat = queries.find_open_chat(conn, q.channel_id)
    card_books = queries_lore.list_card_books(conn, chat) if chat and chat.guild_id == q.actor.guild_id else []
    return books, card_books


CARD_BOOK_NOTE = "read-only: it changes when the card is imported again"


def _entries(count: int) -> str:
    return f"{count} entr{'y' if count == 1 else 'ies'}"


def _attached(book: LorebookView) -> str:
    where = [f"**{n}**" for n in book.characters]
    if book.channels:
        where.append(f"{len(book.channels)} channel{'' if len(book.channels) == 1 else 's'}")
    return f" · attached to {', '.join(where)}" if where else ""


def _book_lines(q: ListLorebooks, found: tuple[list[LorebookView], list[CardBookView]]) -> str:
    books, card_books = found
    lines = [f"**{b.name}** — {_entries(b.entries)}" + _attached(b) for b in books]
    lines += [f"**{c.name}** — {_entries(c.entries)} · in **{c.character}**'s card ({CARD_BOOK_NOTE})"
              for c in card_books]
    return "\n".join(lines) or "No lorebooks yet. Import one with /lore import or start one with /lore add."


@action("lore list", "List this server's lorebooks (and those in this story's cards)", answer=_books,
        told=_book_lines, title="Lorebooks")
class ListLorebooks(Query[tuple[list[LorebookView], list[CardBookView]]]):
    """The server's books, then the books inside the cards of the channel's story (read-only)."""

    channel_id: str = ""  # the channel asked from: its story's card books are listed too


def _book(conn: Conn, q: ShowLorebook) -> tuple[LorebookView, list[LoreEntryView]]:
    book = queries_lore.get_lorebook(conn, q.actor.guild_id, q.book)
    entries = queries_lore.list_lore_entries(conn, book)
    return book, [v for v in entries if q.entry is None or v.number == q.entry]


@action("lore show", "Show a lorebook's entries, or one entry", answer=_book, card=True)
class ShowLorebook(Query[tuple[LorebookView, list[LoreEntryView]]]):
    """A book and its entries in number order (or one entry)."""

    book: BookName = Field(description="The lorebook")
    entry: EntryNumber | None = Field(default=None, description="One entry's number")


@action("lore remove", "Remove an entry from a lorebook", result=book_of,
        told=lambda cmd, book: f"Removed entry #{cmd.entry} from **{book.name}**.")
class RemoveLoreEntry(Command[LorebookView]):
    """Take an entry out of a book."""

    book: BookName = Field(description="The lorebook")
    entry: EntryNumber = Field(description="The entry's number")


@action("lore toggle", "Switch a lorebook entry off or on", result=entry_of,
        told=lambda cmd, view: f"**{view.book_name}** #{view.number} is now {'on' if view.entry.enabled else 'off'}.")
class ToggleLoreEntry(Command[LoreEntryView]):
    """Switch an entry off or on."""

    book: BookName = Field(description="The lorebook")
    entry: EntryNumber = Field(description="The entry's number")


def _where(cmd: AttachLorebook | DetachLorebook) -> str:
    return f"**{cmd.character}**" if cmd.character else "this story"


class _Attachment(InChat[LorebookView]):
    """A book and what it goes on: a character (every story it is in), else the channel's story. Either way it runs
    in the channel's turn, behind a reply being written there."""

    book: BookName = Field(description="The lorebook")
    character: CharacterName | None = Field(default=None, description="A character instead of this story (every story)")

    @property
    def in_story(self) -> bool:
        """A book goes on the story only when no character is named."""
        return self.character is None


@action("lore attach", "Attach a lorebook to this channel's story, or to a character", result=book_of,
        told=lambda cmd, book: f"📚 **{book.name}** is attached to {_where(cmd)}.")
class AttachLorebook(_Attachment):
    """Attach a book to a character or to the channel's story."""


@action("lore detach", "Take a lorebook off this channel's story, or off a character", result=book_of,
        told=lambda cmd, book: f"**{book.name}** is no longer attached to {_where(cmd)}.")
class DetachLorebook(_Attachment):
    """Take a book off a character or off the channel's story."""


@action("lore export", "Download a lorebook (lorebook_v3 JSON)")
class ExportLorebook(Query[Any]):
    """A book as a lorebook_v3 JSON file."""

    book: BookName = Field(description="The lorebook")
