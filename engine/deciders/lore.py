"""Deciders for lorebooks: import, entries (add, edit, remove, toggle) and attaching books to stories and
characters. Books live in their guild's stream; a story's attachments are part of that story."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from engine import queries, queries_lore
from engine.commands import Command
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
from engine.deciders.base import Context, Decider, emit, load_chat, story_chat
from engine.deciders.characters import require_author
from engine.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from engine.events import LorebookAttached, LorebookCreated, LorebookDetached, LoreEntryRemoved, LoreEntryWritten
from engine.lore.keys import entry_problem
from engine.lore.model import Lorebook, LoreEntry
from engine.names import look_alike
from engine.storage.port import Conn
from engine.store import NewEvent
from engine.views import CharacterView, ChatView, LorebookView, LoreEntryView

ENTRY_FIELDS = ("keys", "content", "secondary_keys", "selective_logic", "constant", "enabled", "characters",
                "probability", "sticky", "cooldown", "delay", "scan_depth", "insertion_order", "case_sensitive",
                "match_whole_words", "comment")


def require_book_author(book: LorebookView, cmd: Command) -> None:
    """Refuse unless the actor made the book or is an admin."""
    if book.author_id != cmd.actor.user_id and not cmd.actor.is_admin:
        raise PermissionDenied(f"Only the author of '{book.name}' or a server admin can change it.")


def _book(book: LorebookView | None, name: str) -> LorebookView:
    if book is None:
        raise NotFound(f"There is no lorebook named '{name[:100]}' in this server. See /lore list.")
    return book


def _entry(entry: LoreEntryView | None, book: LorebookView, number: int) -> LoreEntryView:
    if entry is None:
        raise NotFound(f"'{book.name}' has no entry {number}. /lore show book:{book.name} lists its entries.")
    return entry


def load_import_lorebook(world: Conn, cmd: ImportLorebook) -> LorebookView | None:
    """The guild's book of the same name, if any."""
    return queries_lore.find_lorebook(world, cmd.actor.guild_id, cmd.book.name or "")


def decide_import_lorebook(cmd: ImportLorebook, taken: LorebookView | None, ctx: Context) -> list[NewEvent]:
    """A new book with its entries; a name in use needs `replace` (by the book's author or an admin)."""
    if not (cmd.book.name or "").strip():
        raise InvalidInput("This lorebook has no name: give it one with name:….")
    if taken is None:
        return emit(cmd.actor, _created(cmd, ctx.new_id("lb"), cmd.actor.user_id, cmd.book))
    if not cmd.replace:
        if taken.name != (cmd.book.name or "").strip():
            raise look_alike(cmd.book.name or "", taken.name, "lorebook", "import it with name:… to give it a name "
                             "that reads differently, or with replace:true to replace that book")
        raise DomainError(f"A lorebook named '{taken.name}' already exists here. Import again with replace:true to "
                          "replace it, or with name:… to import this one under another name.")
    require_book_author(taken, cmd)
    return emit(cmd.actor, _created(cmd, taken.book_id, taken.author_id, cmd.book))


def _created(cmd: Command, book_id: str, author_id: str, book: Lorebook) -> LorebookCreated:
    try:
        return LorebookCreated(book_id=book_id, guild_id=cmd.actor.guild_id, author_id=author_id, book=book)
    except ValidationError as exc:
        raise InvalidInput(f"lorebook: {exc.errors()[0]['msg']}.") from None


@dataclass(frozen=True)
class EntryState:
    """The book (None when new), the entry a command names, and the book's next entry number."""

    book: LorebookView | None
    entry: LoreEntryView | None
    next_number: int


def load_entry(world: Conn, cmd: WriteLoreEntry | RemoveLoreEntry | ToggleLoreEntry) -> EntryState:
    """The book, the named entry and the next number."""
    book = queries_lore.find_lorebook(world, cmd.actor.guild_id, cmd.book)
    if book is None:
        return EntryState(None, None, 1)
    entry = queries_lore.find_lore_entry(world, book, cmd.number) if cmd.number is not None else None
    return EntryState(book, entry, queries_lore.next_entry_number(world, book.book_id))


def _changes(cmd: WriteLoreEntry) -> dict[str, Any]:
    changes = {f: getattr(cmd, f) for f in ENTRY_FIELDS if getattr(cmd, f) is not None}
    if cmd.secondary_keys is not None:
        changes["selective"] = bool(cmd.secondary_keys)
    if cmd.probability is not None:
        changes["use_probability"] = cmd.probability < 100
    return changes


def _written(entry: LoreEntry, changes: dict[str, Any], number: int) -> LoreEntry:
    data = {**entry.model_dump(), **changes}
    if not data["content"].strip():
        raise InvalidInput("content: an entry needs some text (what the characters should know).")
    if not data["constant"] and not any(k.strip() for k in data["keys"]):
        raise InvalidInput("keys: give at least one keyword (comma-separated), or make the entry constant.")
    try:
        written = LoreEntry.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(f"{exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}.") from None
    refused = entry_problem(written)
    if refused is not None:
        raise InvalidInput(f"entry {number}, {refused}.")
    return written


def decide_write_lore_entry(cmd: WriteLoreEntry, state: EntryState, ctx: Context) -> list[NewEvent]:
    """Add an entry (making the book when it is new) or change one; only the book's author or an admin."""
    events: list[Any] = []
    if state.book is None:
        if cmd.number is not None:
            _book(None, cmd.book)
        book_id, number = ctx.new_id("lb"), 1
        events.append(_created(cmd, book_id, cmd.actor.user_id, Lorebook(name=cmd.book)))
        base = LoreEntry()
    else:
        require_book_author(state.book, cmd)
        book_id = state.book.book_id
        if cmd.number is None:
            number, base = state.next_number, LoreEntry()
        else:
            number, base = cmd.number, _entry(state.entry, state.book, cmd.number).entry
    entry = _written(base, _changes(cmd), number)
    events.append(LoreEntryWritten(book_id=book_id, guild_id=cmd.actor.guild_id, number=number, entry=entry))
    return emit(cmd.actor, *events)


def decide_remove_lore_entry(cmd: RemoveLoreEntry, state: EntryState, ctx: Context) -> list[NewEvent]:
    """Take an entry out of its book."""
    book = _book(state.book, cmd.book)
    require_book_author(book, cmd)
    entry = _entry(state.entry, book, cmd.number)
    return emit(cmd.actor, LoreEntryRemoved(book_id=book.book_id, guild_id=cmd.actor.guild_id, number=entry.number))


def decide_toggle_lore_entry(cmd: ToggleLoreEntry, state: EntryState, ctx: Context) -> list[NewEvent]:
    """Switch an entry off or on: the entry written again with `enabled` changed."""
    book = _book(state.book, cmd.book)
    require_book_author(book, cmd)
    entry = _entry(state.entry, book, cmd.number)
    enabled = not entry.entry.enabled if cmd.enabled is None else cmd.enabled
    return emit(cmd.actor, LoreEntryWritten(book_id=book.book_id, guild_id=cmd.actor.guild_id, number=entry.number,
                                            entry=entry.entry.model_copy(update={"enabled": enabled})))


@dataclass(frozen=True)
class StoryLoreState:
    """The chat, the book and the books already attached to the chat."""

    chat: ChatView | None
    book: LorebookView | None
    attached: tuple[str, ...]


def load_story_lore(world: Conn, cmd: AttachStoryLore | DetachStoryLore) -> StoryLoreState:
    """The story, the book and what is attached to the story."""
    return StoryLoreState(load_chat(world, cmd), queries_lore.find_lorebook(world, cmd.actor.guild_id, cmd.book),
                          tuple(queries_lore.chat_book_ids(world, cmd.chat_id)))


def _story_book(cmd: AttachStoryLore | DetachStoryLore, state: StoryLoreState) -> tuple[ChatView, LorebookView]:
    chat = story_chat(state.chat, cmd)
    if chat.started_by != cmd.actor.user_id and not cmd.actor.is_admin:
        raise PermissionDenied("Only the person who started this story, or a server admin, can change its lore.")
    return chat, _book(state.book, cmd.book)


def decide_attach_story_lore(cmd: AttachStoryLore, state: StoryLoreState, ctx: Context) -> list[NewEvent]:
    """Attach a book to the story (once)."""
    chat, book = _story_book(cmd, state)
    if book.book_id in state.attached:
        raise DomainError(f"'{book.name}' is already attached to this story.")
    return emit(cmd.actor, LorebookAttached(book_id=book.book_id, guild_id=chat.guild_id, chat_id=chat.chat_id))


def decide_detach_story_lore(cmd: DetachStoryLore, state: StoryLoreState, ctx: Context) -> list[NewEvent]:
    """Take a book off the story."""
    chat, book = _story_book(cmd, state)
    if book.book_id not in state.attached:
        raise DomainError(f"'{book.name}' is not attached to this story.")
    return emit(cmd.actor, LorebookDetached(book_id=book.book_id, guild_id=chat.guild_id, chat_id=chat.chat_id))


@dataclass(frozen=True)
class CharacterLoreState:
    """The character, the book and the books already attached to the character."""

    character: CharacterView
    book: LorebookView | None
    attached: tuple[str, ...]


def load_character_lore(world: Conn, cmd: AttachCharacterLore | DetachCharacterLore) -> CharacterLoreState:
    """The character, the book and what is attached to the character."""
    character = queries.get_character(world, cmd.actor.guild_id, cmd.character)
    return CharacterLoreState(character, queries_lore.find_lorebook(world, cmd.actor.guild_id, cmd.book),
                              tuple(queries_lore.character_book_ids(world, character.character_id)))


def decide_attach_character_lore(cmd: AttachCharacterLore, state: CharacterLoreState,
                                 ctx: Context) -> list[NewEvent]:
    """Attach a book to a character (its author or an admin), once."""
    require_author(state.character, cmd, "give lore to")
    book = _book(state.book, cmd.book)
    if book.book_id in state.attached:
        raise DomainError(f"'{book.name}' is already attached to {state.character.name}.")
    return emit(cmd.actor, LorebookAttached(book_id=book.book_id, guild_id=cmd.actor.guild_id,
                                            character_id=state.character.character_id))


def decide_detach_character_lore(cmd: DetachCharacterLore, state: CharacterLoreState,
                                 ctx: Context) -> list[NewEvent]:
    """Take a book off a character."""
    require_author(state.character, cmd, "take lore from")
    book = _book(state.book, cmd.book)
    if book.book_id not in state.attached:
        raise DomainError(f"'{book.name}' is not attached to {state.character.name}.")
    return emit(cmd.actor, LorebookDetached(book_id=book.book_id, guild_id=cmd.actor.guild_id,
                                            character_id=state.character.character_id))


DECIDERS: dict[type, Decider[Any, Any]] = {
    ImportLorebook: Decider(load_import_lorebook, decide_import_lorebook),
    WriteLoreEntry: Decider(load_entry, decide_write_lore_entry),
    RemoveLoreEntry: Decider(load_entry, decide_remove_lore_entry),
    ToggleLoreEntry: Decider(load_entry, decide_toggle_lore_entry),
    AttachStoryLore: Decider(load_story_lore, decide_attach_story_lore),
    DetachStoryLore: Decider(load_story_lore, decide_detach_story_lore),
    AttachCharacterLore: Decider(load_character_lore, decide_attach_character_lore),
    DetachCharacterLore: Decider(load_character_lore, decide_detach_character_lore),
}
