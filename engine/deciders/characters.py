"""Deciders for characters and personas: authoring, editing, importing and retiring cards (guild stream), and
personas (user stream)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from engine import queries, queries_lore
from engine.cards.model import Card
from engine.commands import (
    AuthorCharacter,
    Command,
    EditCharacter,
    ImportCharacter,
    RetireCharacter,
    SetPersona,
    describe_validation_error,
)
from engine.deciders.base import Context, Decider, emit
from engine.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from engine.events import (
    NAME_MAX,
    V1_CARD_FIELDS,
    CardAvatar,
    CharacterAuthored,
    CharacterRetired,
    PersonaSet,
)
from engine.names import look_alike, refuse_invisible
from engine.storage.port import Conn
from engine.store import NewEvent
from engine.text import find_control
from engine.views import CharacterView, ChatView

PERSONA_ADVICE = "choose a persona name that reads differently"


_CARD_FIELDS = ("description", "personality", "scenario", "greeting", "example_dialogue")


def _name_free(name: str, taken: CharacterView | None) -> None:
    """Refuse a name another active character has, or one that looks like it (engine/names.py)."""
    if taken is None:
        return
    if taken.name == name.strip():
        raise DomainError(f"A character named '{taken.name}' already exists here. Pick another name, "
                          f"or change it with /character edit.")
    raise look_alike(name, taken.name, "character")


def load_author_character(world: Conn, cmd: AuthorCharacter) -> CharacterView | None:
    """The character that already has this name, or one that looks like it, if any."""
    return queries.find_character(world, cmd.actor.guild_id, cmd.name)


def decide_author_character(cmd: AuthorCharacter, taken: CharacterView | None, ctx: Context) -> list[NewEvent]:
    """A new card; a name can't be, or look like, another active character's name in the guild."""
    _name_free(cmd.name, taken)
    card = Card(name=cmd.name, **{V1_CARD_FIELDS[f]: getattr(cmd, f) for f in _CARD_FIELDS})
    return emit(cmd.actor, CharacterAuthored(character_id=ctx.new_id("chr"), guild_id=cmd.actor.guild_id, card=card,
                                       avatar_url=cmd.avatar_url, author_id=cmd.actor.user_id))


def require_author(card: CharacterView, cmd: Command[Any], verb: str) -> None:
    """Refuse unless the actor wrote the card or is an admin."""
    if card.author_id != cmd.actor.user_id and not cmd.actor.is_admin:
        raise PermissionDenied(f"Only {card.name}'s author or a server admin can {verb} it.")


@dataclass(frozen=True)
class EditState:
    """The card being edited (its row, its whole card and image) and, for a rename, the card holding the new
    name."""

    card: CharacterView
    whole: Card
    image: str | None
    taken: CharacterView | None


def load_edit_character(world: Conn, cmd: EditCharacter) -> EditState:
    """The card, and another character whose name is, or looks like, the new name."""
    card = queries.get_character(world, cmd.actor.guild_id, cmd.name)
    stored = queries_lore.find_card(world, card.character_id)
    if stored is None:
        raise NotFound("That character no longer exists.")
    taken = (queries.find_character(world, cmd.actor.guild_id, cmd.value, other_than=card.character_id)
             if cmd.field == "name" and cmd.value.strip() else None)
    return EditState(card, stored[0], queries_lore.find_image(world, card.character_id), taken)


def _share(value: str) -> float:
    """A talkativeness typed by a person: a number from 0 to 1 (SillyTavern's `extensions.talkativeness`)."""
    try:
        number = float(value.strip())
    except ValueError:
        number = -1.0
    if not 0 <= number <= 1:
        raise InvalidInput(f"talkativeness: a number from 0 (quiet) to 1 (always speaks), like 0.8; not "
                           f"'{value.strip()[:20]}'.")
    return number


def decide_edit_character(cmd: EditCharacter, state: EditState, ctx: Context) -> list[NewEvent]:
    """Replace a card with one field changed (every other field of the card, and its image, kept)."""
    card = state.card
    require_author(card, cmd, "edit")
    avatar_url, whole = card.avatar_url, state.whole
    if cmd.field == "name":
        name = cmd.value.strip()
        if not name or len(name) > NAME_MAX:
            raise InvalidInput(f"name: must be 1 to {NAME_MAX} characters.")
        if (control := find_control(name)) is not None:
            raise InvalidInput(f"name: contains the control character {control}; use plain text.")
        try:
            refuse_invisible(name)
        except ValueError as exc:
            raise InvalidInput(f"name: {exc}.") from None
        _name_free(name, state.taken)
        whole = whole.model_copy(update={"name": name})
    elif cmd.field == "description" and not cmd.value.strip():
        raise InvalidInput("description: must not be empty.")
    elif cmd.field == "avatar_url":
        avatar_url = cmd.value.strip() or None
    elif cmd.field == "talkativeness":
        whole = whole.model_copy(update={"extensions": {**whole.extensions, "talkativeness": _share(cmd.value)}})
    else:
        whole = whole.model_copy(update={V1_CARD_FIELDS[cmd.field]: cmd.value})
    try:
        event = CharacterAuthored(character_id=card.character_id, guild_id=card.guild_id, card=whole,
                            avatar_url=avatar_url, author_id=card.author_id,
                            avatar=CardAvatar(data=state.image) if state.image else None)
    except ValidationError as exc:  # what pydantic found wrong, worded for people (not its help link)
        raise InvalidInput(f"{cmd.field.replace('_', ' ')}: "
                           f"{describe_validation_error(exc).partition(': ')[2]}") from None
    return emit(cmd.actor, event)


@dataclass(frozen=True)
class RetireState:
    """The card and the guild's open chats."""

    card: CharacterView
    open_chats: tuple[ChatView, ...]


def load_retire_character(world: Conn, cmd: RetireCharacter) -> RetireState:
    """The card and the open stories of its guild."""
    card = queries.get_character(world, cmd.actor.guild_id, cmd.name)
    return RetireState(card, tuple(queries.list_chats(world, guild_id=cmd.actor.guild_id, open_only=True)))


def decide_retire_character(cmd: RetireCharacter, state: RetireState, ctx: Context) -> list[NewEvent]:
    """Retire a card that no open story uses."""
    card = state.card
    require_author(card, cmd, "retire")
    for chat in state.open_chats:
        if card.character_id in chat.character_ids:
            raise DomainError(f"{card.name} is in the open story in <#{chat.channel_id}>. End it with /chat end "
                              "first.")
    return emit(cmd.actor, CharacterRetired(character_id=card.character_id, guild_id=card.guild_id))


def load_set_persona(world: Conn, cmd: SetPersona) -> CharacterView | None:
    """The guild's active character whose name is, or looks like, the persona's, if any."""
    return queries.find_character(world, cmd.actor.guild_id, cmd.name)


def decide_set_persona(cmd: SetPersona, character: CharacterView | None, ctx: Context) -> list[NewEvent]:
    """Set a persona for this guild, or the global fallback; its name can't read as a character's of the guild
    (the person's lines would pass for the character's)."""
    if character is not None:
        if character.name == cmd.name:
            raise DomainError(f"'{character.name}' is a character here; {PERSONA_ADVICE}.")
        raise look_alike(cmd.name, character.name, "character", PERSONA_ADVICE)
    guild = None if cmd.everywhere else cmd.actor.guild_id
    return emit(cmd.actor, PersonaSet(user_id=cmd.actor.user_id, guild_id=guild, name=cmd.name,
                                       description=cmd.description, avatar_url=cmd.avatar_url))


def greeting_choices(card: CharacterView, *, group: bool = False) -> tuple[str, ...]:
    """The greetings a story can open with, numbered from 1: the card's first message, then its alternate
    greetings. A group story (one started with a guest) opens with the card's V3 group-only greetings when it has
    them: they come first (greeting 1 is the first of them), then the others."""
    if group and card.group_greetings:
        return (*card.group_greetings, card.greeting, *card.alternate_greetings)
    return (card.greeting, *card.alternate_greetings)


def load_import_card(world: Conn, cmd: ImportCharacter) -> CharacterView | None:
    """The active character that already has the name, or one that looks like it, if any."""
    return queries.find_character(world, cmd.actor.guild_id, cmd.card_name)


def decide_import_card(cmd: ImportCharacter, taken: CharacterView | None, ctx: Context) -> list[NewEvent]:
    """A new character from a whole card (parsed from its file before deciding); a name in use needs `replace`
    (by its author or an admin)."""
    if cmd.card is None:
        raise InvalidInput("file: the card file was not read; import it again.")
    card = cmd.card if cmd.name is None else cmd.card.model_copy(update={"name": cmd.name})
    if taken is None:
        return emit(cmd.actor, CharacterAuthored(character_id=ctx.new_id("chr"), guild_id=cmd.actor.guild_id, card=card,
                                           avatar_url=cmd.avatar_url, avatar=cmd.avatar,
                                           author_id=cmd.actor.user_id))
    if not cmd.replace:
        if taken.name != card.name.strip():
            raise look_alike(card.name, taken.name, "character", "import it with name:… to give it a name that "
                             "reads differently, or with replace:true to replace that card")
        raise DomainError(f"A character named '{taken.name}' already exists here. Import again with replace:true to "
                          f"replace its card, or with name:… to import this one under another name.")
    require_author(taken, cmd, "replace")
    return emit(cmd.actor, CharacterAuthored(character_id=taken.character_id, guild_id=taken.guild_id, card=card,
                                       avatar_url=cmd.avatar_url or taken.avatar_url, avatar=cmd.avatar,
                                       author_id=taken.author_id))


DECIDERS: dict[type[Command[Any]], Decider[Any, Any]] = {
    AuthorCharacter: Decider(load_author_character, decide_author_character),
    EditCharacter: Decider(load_edit_character, decide_edit_character),
    RetireCharacter: Decider(load_retire_character, decide_retire_character),
    SetPersona: Decider(load_set_persona, decide_set_persona),
    ImportCharacter: Decider(load_import_card, decide_import_card),
}
