"""Option input → engine values: autocomplete for names, and message links or ids."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, cast

import discord
from discord import app_commands

from engine import ChatView, InvalidInput
from engine.text import terminal_safe

if TYPE_CHECKING:
    from bot.discord.client import ChronicleBot

AUTOCOMPLETE_MAX = 25
_LINK = re.compile(r"^https?://(?:\w+\.)?discord(?:app)?\.com/channels/(\d+|@me)/(\d+)/(\d+)/?$")
_ID = re.compile(r"^\d{1,20}$")


def _bot(interaction: discord.Interaction) -> ChronicleBot:
    """The Chronicle bot handling an interaction."""
    return cast("ChronicleBot", interaction.client)


def _choices(names: list[str]) -> list[app_commands.Choice[str]]:
    """At most 25 choices, each name its own value."""
    return [app_commands.Choice(name=_label(n, n), value=n[:100]) for n in names[:AUTOCOMPLETE_MAX]]


def _label(text: str, fallback: str) -> str:
    """A choice's shown name: one line, control characters as visible escapes, 1 to 100 characters."""
    return (" ".join(terminal_safe(text).split()) or fallback)[:100]


async def _channel_chat(interaction: discord.Interaction) -> ChatView | None:
    """The open story of the interaction's channel, if any."""
    return await _bot(interaction).engine.reads.find_chat(str(interaction.channel_id))


async def character_names(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Autocomplete: the guild's active characters starting with what was typed."""
    if interaction.guild_id is None:
        return []
    cards = await _bot(interaction).engine.reads.list_characters(str(interaction.guild_id), current.strip(),
                                                                 limit=AUTOCOMPLETE_MAX)
    return _choices([c.name for c in cards])


async def lore_books(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Autocomplete: the guild's lorebooks starting with what was typed."""
    if interaction.guild_id is None:
        return []
    books = await _bot(interaction).engine.reads.list_lorebooks(str(interaction.guild_id), current.strip(),
                                                                limit=AUTOCOMPLETE_MAX)
    return _choices([b.name for b in books])


async def place_names(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Autocomplete: the channel story's places starting with what was typed."""
    chat = await _channel_chat(interaction)
    if chat is None:
        return []
    places = await _bot(interaction).engine.reads.list_places(chat.chat_id, current.strip(), limit=AUTOCOMPLETE_MAX)
    return _choices([p.name for p in places])


async def memory_ids(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Autocomplete: the story's newest memories, shown by text, valued by id."""
    chat = await _channel_chat(interaction)
    if chat is None:
        return []
    memories = await _bot(interaction).engine.reads.list_memories(chat.chat_id, limit=100)
    typed = current.strip().lower()
    found = [m for m in memories if typed in m.text.lower() or m.memory_id.startswith(typed)]
    return [app_commands.Choice(name=_label(f"{m.text[:90]} ({m.memory_id[-6:]})", m.memory_id),
                                value=m.memory_id[:100]) for m in found[:AUTOCOMPLETE_MAX]]


def message_id_from(text: str, channel_id: int | None = None) -> str:
    """A message id from a message link or a bare id; the link must point into this channel."""
    cleaned = text.strip().strip("<>")
    if _ID.match(cleaned):
        return cleaned
    match = _LINK.match(cleaned)
    if match is None:
        raise InvalidInput("`to` must be a message link (right-click a message → Copy Message Link) or its id.")
    if channel_id is not None and int(match.group(2)) != channel_id:
        raise InvalidInput("That message link points to another channel; rewind works on this channel's story.")
    return match.group(3)


def _split(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(part.strip() for part in text.split(",") if part.strip())


def entry_fields(*, keys: str | None = None, content: str | None = None, secondary_keys: str | None = None,
                 logic: str | None = None, constant: bool | None = None, characters: str | None = None,
                 probability: int | None = None, sticky: int | None = None, cooldown: int | None = None,
                 delay: int | None = None, order: int | None = None, comment: str | None = None,
                 whole_words: bool | None = None, case_sensitive: bool | None = None,
                 scan_depth: int | None = None) -> dict[str, Any]:
    """Slash-command options → the engine's entry fields (only those given)."""
    fields = {"keys": _split(keys), "content": content, "secondary_keys": _split(secondary_keys),
              "selective_logic": logic, "constant": constant, "characters": _split(characters),
              "probability": probability, "sticky": sticky, "cooldown": cooldown, "delay": delay,
              "insertion_order": order, "comment": comment, "match_whole_words": whole_words,
              "case_sensitive": case_sensitive, "scan_depth": scan_depth}
    return {key: value for key, value in fields.items() if value is not None}
