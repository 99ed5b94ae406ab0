"""Deciders for characters and personas."""

from __future__ import annotations

import sqlite3

from engine import queries
from engine.commands import AuthorCharacter, EditCharacter, RetireCharacter, SetPersona
from engine.deciders.base import Context, emit
from engine.errors import DomainError, InvalidInput, PermissionDenied
from engine.events import BotAuthored, BotRetired, YouAuthored
from engine.store import NewEvent
from engine.views import CharacterView

_CARD_FIELDS = ("description", "personality", "scenario", "greeting", "example_dialogue", "system_prompt",
                "post_history_instructions", "avatar_url")


def _name_free(world: sqlite3.Connection, guild_id: str, name: str, keep: str | None = None) -> None:
    existing = queries.find_character(world, guild_id, name)
    if existing is not None and existing.character_id != keep:
        raise DomainError(f"A character named '{existing.name}' already exists here. Pick another name, "
                          f"or change it with /character edit.")


def decide_author_character(cmd: AuthorCharacter, world: sqlite3.Connection, ctx: Context) -> list[NewEvent]:
    """A new card; names are unique per guild, ignoring case."""
    _name_free(world, cmd.actor.guild_id, cmd.character_name)
    fields = {f: getattr(cmd, f) for f in _CARD_FIELDS}
    return emit(cmd.actor, BotAuthored(character_id=ctx.new_id("chr"), guild_id=cmd.actor.guild_id,
                                       name=cmd.character_name, author_id=cmd.actor.user_id, **fields))


def _may_change(card: CharacterView, cmd: EditCharacter | RetireCharacter, verb: str) -> None:
    if card.author_id != cmd.actor.user_id and not cmd.actor.is_admin:
        raise PermissionDenied(f"Only {card.name}'s author or a server admin can {verb} it.")


def decide_edit_character(cmd: EditCharacter, world: sqlite3.Connection, ctx: Context) -> list[NewEvent]:
    """Replace a card with one field changed."""
    card = queries.get_character(world, cmd.actor.guild_id, cmd.character_name)
    _may_change(card, cmd, "edit")
    fields = {f: getattr(card, f) for f in _CARD_FIELDS}
    name = card.name
    if cmd.field == "name":
        name = cmd.value.strip()
        if not name or len(name) > 64:
            raise InvalidInput("name: must be 1 to 64 characters.")
        _name_free(world, cmd.actor.guild_id, name, keep=card.character_id)
    elif cmd.field == "description" and not cmd.value.strip():
        raise InvalidInput("description: must not be empty.")
    else:
        fields[cmd.field] = cmd.value.strip() or None if cmd.field == "avatar_url" else cmd.value
    try:
        event = BotAuthored(character_id=card.character_id, guild_id=card.guild_id, name=name,
                            author_id=card.author_id, **fields)
    except ValueError as exc:
        raise InvalidInput(f"{cmd.field.replace('_', ' ')}: {str(exc).splitlines()[-1].strip()}") from None
    return emit(cmd.actor, event)


def decide_retire_character(cmd: RetireCharacter, world: sqlite3.Connection, ctx: Context) -> list[NewEvent]:
    """Retire a card that no open story uses."""
    card = queries.get_character(world, cmd.actor.guild_id, cmd.character_name)
    _may_change(card, cmd, "retire")
    for chat in queries.list_chats(world, guild_id=cmd.actor.guild_id, open_only=True):
        if card.character_id in chat.character_ids:
            raise DomainError(f"{card.name} is in the open story in <#{chat.channel_id}>. End it with /chat end "
                              "first.")
    return emit(cmd.actor, BotRetired(character_id=card.character_id, guild_id=card.guild_id))


def decide_set_persona(cmd: SetPersona, world: sqlite3.Connection, ctx: Context) -> list[NewEvent]:
    """Set a persona for this guild, or the global fallback."""
    guild = None if cmd.everywhere else cmd.actor.guild_id
    return emit(cmd.actor, YouAuthored(user_id=cmd.actor.user_id, guild_id=guild, name=cmd.persona_name,
                                       description=cmd.description, avatar_url=cmd.avatar_url))
