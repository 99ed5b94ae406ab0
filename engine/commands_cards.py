"""Commands for character cards in full and for lorebooks (one frozen model per user action)."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from engine.cards.model import Card
from engine.commands import Command, InChat, Name
from engine.events import CardAvatar, Id, ReplyText, Url
from engine.lore.model import (
    BOOK_NAME_MAX,
    KEY_MAX,
    LORE_TEXT_MAX,
    MAX_ENTRY_CHARACTERS,
    MAX_KEYS,
    NAME_LIMIT,
    Lorebook,
    SelectiveLogic,
)
from engine.names import refuse_invisible
from engine.text import refuse_controls

BookName = Annotated[str, StringConstraints(min_length=1, max_length=BOOK_NAME_MAX, strip_whitespace=True),
                     AfterValidator(refuse_controls), AfterValidator(refuse_invisible)]
Key = Annotated[str, StringConstraints(min_length=1, max_length=KEY_MAX)]
CharacterRef = Annotated[str, StringConstraints(min_length=1, max_length=NAME_LIMIT, strip_whitespace=True)]
EntryNumber = Annotated[int, Field(ge=1, le=10_000_000)]
Messages = Annotated[int, Field(ge=0, le=10_000)]


class ImportCard(Command):
    """Import a parsed character card (under `new_name` when given); `replace` replaces a card of that name."""

    name: ClassVar[str] = "import_card"
    card: Card
    new_name: Name | None = None
    avatar: CardAvatar | None = None
    avatar_url: Url | None = None
    replace: bool = False

    @model_validator(mode="after")
    def _plain_names(self) -> ImportCard:
        """The name the character gets (and its nickname) holds no control characters and can be seen, like any
        name."""
        if self.new_name is None:
            _plain("card name", self.card.name, visible=True)
        if self.card.nickname:
            _plain("card nickname", self.card.nickname)
        return self


class SwipeGreeting(InChat):
    """Show another of the host's greetings as the story's opening line, before anyone has spoken."""

    name: ClassVar[str] = "swipe_greeting"
    message_id: Id
    expected_revision: int = Field(ge=0, le=2**62)
    text: ReplyText
    discord_message_ids: list[Id] = Field(default_factory=list, max_length=10)


class ImportLorebook(Command):
    """Import a parsed lorebook into the guild; `replace` replaces a book of the same name."""

    name: ClassVar[str] = "import_lorebook"
    book: Lorebook
    replace: bool = False

    @model_validator(mode="after")
    def _plain_name(self) -> ImportLorebook:
        """The book's name holds no control characters and can be seen, like any name."""
        if self.book.name:
            _plain("book name", self.book.name, visible=True)
        return self


class WriteLoreEntry(Command):
    """Add an entry to a book (`number` None; the book is made when new) or change fields of entry `number`.

    Fields left None keep their value (or the default, for a new entry).
    """

    name: ClassVar[str] = "write_lore_entry"
    book: BookName
    number: EntryNumber | None = None
    keys: tuple[Key, ...] | None = Field(None, max_length=MAX_KEYS)
    content: Annotated[str, StringConstraints(max_length=LORE_TEXT_MAX)] | None = None
    secondary_keys: tuple[Key, ...] | None = Field(None, max_length=MAX_KEYS)
    selective_logic: SelectiveLogic | None = None
    constant: bool | None = None
    enabled: bool | None = None
    characters: tuple[CharacterRef, ...] | None = Field(None, max_length=MAX_ENTRY_CHARACTERS)
    probability: int | None = Field(None, ge=0, le=100)
    sticky: Messages | None = None
    cooldown: Messages | None = None
    delay: Messages | None = None
    scan_depth: Messages | None = None
    insertion_order: int | None = Field(None, ge=-1_000_000, le=1_000_000)
    case_sensitive: bool | None = None
    match_whole_words: bool | None = None
    comment: Annotated[str, StringConstraints(max_length=KEY_MAX)] | None = None


class RemoveLoreEntry(Command):
    """Take an entry out of a book."""

    name: ClassVar[str] = "remove_lore_entry"
    book: BookName
    number: EntryNumber


class ToggleLoreEntry(Command):
    """Switch an entry off or on (`enabled` None flips it)."""

    name: ClassVar[str] = "toggle_lore_entry"
    book: BookName
    number: EntryNumber
    enabled: bool | None = None


class AttachStoryLore(InChat):
    """Attach a book to the channel's story."""

    name: ClassVar[str] = "attach_story_lore"
    book: BookName


class DetachStoryLore(InChat):
    """Take a book off the channel's story."""

    name: ClassVar[str] = "detach_story_lore"
    book: BookName


class AttachCharacterLore(Command):
    """Attach a book to a character (it reaches that character's prompts in every story)."""

    name: ClassVar[str] = "attach_character_lore"
    book: BookName
    character: Name


class DetachCharacterLore(Command):
    """Take a book off a character."""

    name: ClassVar[str] = "detach_character_lore"
    book: BookName
    character: Name


def _plain(what: str, text: str, *, visible: bool = False) -> None:
    """Refuse control characters (and, for a `visible` name, one with nothing to see) in an imported name, saying
    whose name it is."""
    try:
        refuse_controls(text)
        if visible:
            refuse_invisible(text)
    except ValueError as error:
        raise ValueError(f"the {what} {error}") from None
