"""Deciders for lorebooks: import, entries (add, edit, remove, toggle) and attaching books to stories and
characters. Books live in their guild's stream; a story's attachments are part of that story."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from engine import queries, queries_lore
from engine.commands import (
    AddLoreEntry,
    AttachLorebook,
    Command,
    DetachLorebook,
    EditLoreEntry,
    ImportLorebook,
    RemoveLoreEntry,
    ToggleLoreEntry,
    describe_validation_error,
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

# The entry's field each option sets (the options people type are named as on SillyTavern's screen).
ENTRY_FIELDS = {"keys": "keys", "content": "content", "secondary_keys": "secondary_keys", "logic": "selective_logic",
                "constant": "constant", "enabled": "enabled", "characters": "characters", "probability": "probability",
                "sticky": "sticky", "cooldown": "cooldown", "delay": "delay", "scan_depth": "scan_depth",
                "order": "insertion_order", "case_sensitive": "case_sensitive", "whole_words": "match_whole_words",
                "comment": "comment"}
WriteLoreEntry = AddLoreEntry | EditLoreEntry


def require_book_author(book: LorebookView, cmd: Command[Any]) -> None:
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
    return queries_lore.find_lorebook(world, cmd.actor.guild_id, cmd.book.name or "") if cmd.book else None


def decide_import_lorebook(cmd: ImportLorebook, taken: LorebookView | None, ctx: Context) -> list[NewEvent]:
    """A new book with its entries (parsed from its file before deciding); a name in use needs `replace` (by the
    book's author or an admin)."""
    if cmd.book is None:
        raise InvalidInput("file: the lorebook file was not read; import it again.")
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


def _created(cmd: Command[Any], book_id: str, author_id: str, book: Lorebook) -> LorebookCreated:
    try:
        return LorebookCreated(book_id=book_id, guild_id=cmd.actor.guild_id, author_id=author_id, book=book)
    except ValidationError as exc:  # what was wrong, without pydantic's "Value error, " in front
        raise InvalidInput(f"lorebook: {describe_validation_error(exc).partition(': ')[2]}") from None


@dataclass(frozen=True)
class EntryState:
    """The book (None when new), the entry a command names, and the book's next entry number."""

    book: LorebookView | None
    entry: LoreEntryView | None
    next_number: int


def _number(cmd: WriteLoreEntry | RemoveLoreEntry | ToggleLoreEntry) -> int | None:
    """The entry a command names (None: a new one)."""
    return getattr(cmd, "entry", None)


def load_entry(world: Conn, cmd: WriteLoreEntry | RemoveLoreEntry | ToggleLoreEntry) -> EntryState:
    """The book, the named entry and the next number."""
    book = queries_lore.find_lorebook(world, cmd.actor.guild_id, cmd.book)
    if book is None:
        return EntryState(None, None, 1)
    number = _number(cmd)
    entry = queries_lore.find_lore_entry(world, book, number) if number is not None else None
    return EntryState(book, entry, queries_lore.next_entry_number(world, book.book_id))


def _changes(cmd: WriteLoreEntry) -> dict[str, Any]:
    changes = {field: getattr(cmd, option) for option, field in ENTRY_FIELDS.items()
               if getattr(cmd, option) is not None}
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
    number = _number(cmd)
    if state.book is None:
        if number is not None:
            _book(None, cmd.book)
        book_id, number = ctx.new_id("lb"), 1
        events.append(_created(cmd, book_id, cmd.actor.user_id, Lorebook(name=cmd.book)))
        base = LoreEntry()
    else:
        require_book_author(state.book, cmd)
        book_id = state.book.book_id
        if number is None:
            number, base = state.next_number, LoreEntry()
        else:
            base = _entry(state.entry, state.book, number).entry
    entry = _written(base, _changes(cmd), number)
    if state.book is not None and _number(cmd) is not None and entry == base:
        raise DomainError(f"Entry {number} of {state.book.name} already holds these values: give at least one "
                          "option to change (content, keys, …).")
    events.append(LoreEntryWritten(book_id=book_id, guild_id=cmd.actor.guild_id, number=number, entry=entry))
    return emit(cmd.actor, *events)


def decide_remove_lore_entry(cmd: RemoveLoreEntry, state: EntryState, ctx: Context) -> list[NewEvent]:
    """Take an entry out of its book."""
    book = _book(state.book, cmd.book)
    require_book_author(book, cmd)
    entry = _entry(state.entry, book, cmd.entry)
    return emit(cmd.actor, LoreEntryRemoved(book_id=book.book_id, guild_id=cmd.actor.guild_id, number=entry.number))


def decide_toggle_lore_entry(cmd: ToggleLoreEntry, state: EntryState, ctx: Context) -> list[NewEvent]:
    """Switch an entry off or on: the entry written again with `enabled` changed."""
    book = _book(state.book, cmd.book)
    require_book_author(book, cmd)
    entry = _entry(state.entry, book, cmd.entry)
    enabled = not entry.entry.enabled
    return emit(cmd.actor, LoreEntryWritten(book_id=book.book_id, guild_id=cmd.actor.guild_id, number=entry.number,
                                            entry=entry.entry.model_copy(update={"enabled": enabled})))


@dataclass(frozen=True)
class AttachState:
    """The book, what it goes on (the story's chat, or the named character) and the books already on it."""

    book: LorebookView | None
    chat: ChatView | None
    character: CharacterView | None
    attached: tuple[str, ...]


def load_attachment(world: Conn, cmd: AttachLorebook | DetachLorebook) -> AttachState:
    """The book, the story or character it goes on, and what is attached there."""
    book = queries_lore.find_lorebook(world, cmd.actor.guild_id, cmd.book)
    if cmd.character is not None:
        character = queries.get_character(world, cmd.actor.guild_id, cmd.character)
        return AttachState(book, None, character,
                           tuple(queries_lore.character_book_ids(world, character.character_id)))
    return AttachState(book, load_chat(world, cmd), None, tuple(queries_lore.chat_book_ids(world, cmd.chat_id)))


def _target(cmd: AttachLorebook | DetachLorebook, state: AttachState,
            verb: str) -> tuple[LorebookView, str, dict[str, str]]:
    """The book, what it goes on (for people) and the event's target fields, once the actor may change it."""
    if state.character is not None:
        require_author(state.character, cmd, verb)
        return _book(state.book, cmd.book), state.character.name, {"character_id": state.character.character_id}
    chat = story_chat(state.chat, cmd)
    if chat.started_by != cmd.actor.user_id and not cmd.actor.is_admin:
        raise PermissionDenied("Only the person who started this story, or a server admin, can change its lore.")
    return _book(state.book, cmd.book), "this story", {"chat_id": chat.chat_id}


def decide_attach_lorebook(cmd: AttachLorebook, state: AttachState, ctx: Context) -> list[NewEvent]:
    """Attach a book to a character (its author or an admin) or to the story (its starter or an admin), once."""
    book, where, target = _target(cmd, state, "give lore to")
    if book.book_id in state.attached:
        raise DomainError(f"'{book.name}' is already attached to {where}.")
    return emit(cmd.actor, LorebookAttached(book_id=book.book_id, guild_id=cmd.actor.guild_id, **target))


def decide_detach_lorebook(cmd: DetachLorebook, state: AttachState, ctx: Context) -> list[NewEvent]:
    """Take a book off a character or off the story."""
    book, where, target = _target(cmd, state, "take lore from")
    if book.book_id not in state.attached:
        raise DomainError(f"'{book.name}' is not attached to {where}.")
    return emit(cmd.actor, LorebookDetached(book_id=book.book_id, guild_id=cmd.actor.guild_id, **target))


DECIDERS: dict[type[Command[Any]], Decider[Any, Any]] = {
    ImportLorebook: Decider(load_import_lorebook, decide_import_lorebook),
    AddLoreEntry: Decider(load_entry, decide_write_lore_entry),
    EditLoreEntry: Decider(load_entry, decide_write_lore_entry),
    RemoveLoreEntry: Decider(load_entry, decide_remove_lore_entry),
    ToggleLoreEntry: Decider(load_entry, decide_toggle_lore_entry),
    AttachLorebook: Decider(load_attachment, decide_attach_lorebook),
    DetachLorebook: Decider(load_attachment, decide_detach_lorebook),
}
