"""The slash commands, generated from the command table (engine/table.py): a group per first word of a path, a
command per action, its options with their types, bounds, choices, help and autocomplete, and admin actions
hidden behind Manage Server and checked again when used. What runs is `run`: the options become the action's
model, the engine performs it, and a presenter (bot/discord/presenters.py) answers."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands

from bot.discord import presenters
from bot.discord.checks import admin_only
from bot.discord.present_more import SPECIAL
from bot.discord.transformers import character_names, lore_books, memory_ids, place_names
from engine import TABLE, Action, Option
from engine.commands import GROUPS

if TYPE_CHECKING:
    pass

DESCRIPTION_MAX = 100
LOOKUPS: dict[str, Callable[..., Awaitable[list[app_commands.Choice[str]]]]] = {
    "character": character_names, "place": place_names, "book": lore_books, "memory": memory_ids}


def annotation(option: Option) -> Any:
    """The discord.py annotation that declares an option as the table does."""
    if option.kind == "text":
        return app_commands.Range[str, option.low, option.high]
    if option.kind == "int":
        return app_commands.Range[int, option.low, option.high] if option.low is not None else int
    if option.kind == "number":
        return app_commands.Range[float, option.low, option.high] if option.low is not None else float
    if option.kind == "bool":
        return bool
    if option.kind == "choice":
        return Literal.__getitem__(option.choices)
    return discord.Attachment


def callback_for(entry: Action) -> Callable[..., Awaitable[None]]:
    """A slash-command callback whose signature is the action's options (discord.py reads it to register them)."""

    presenter = SPECIAL.get(entry.model, presenters.present)  # a few actions post pictures, files or buttons

    async def callback(interaction: discord.Interaction, **values: Any) -> None:
        await presenter(interaction, entry, {k: v for k, v in values.items() if v is not None})

    parameters = [inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                    annotation=discord.Interaction)]
    for option in entry.options:
        kind = annotation(option)
        parameters.append(inspect.Parameter(
            option.name, inspect.Parameter.KEYWORD_ONLY, annotation=kind if option.required else kind | None,
            default=inspect.Parameter.empty if option.required else None))
    name = entry.path.replace(" ", "_")
    callback.__name__ = callback.__qualname__ = name
    callback.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    callback.__discord_app_commands_param_description__ = {  # type: ignore[attr-defined]
        o.name: o.help[:DESCRIPTION_MAX] for o in entry.options}
    lookups = {o.name: LOOKUPS[o.lookup] for o in entry.options if o.lookup}
    return app_commands.autocomplete(**lookups)(callback) if lookups else callback  # type: ignore[arg-type]


def command_for(entry: Action) -> app_commands.Command[Any, ..., None]:
    """The slash command of one action."""
    command: app_commands.Command[Any, ..., None] = app_commands.Command(
        name=entry.words[-1], description=entry.help[:DESCRIPTION_MAX],
        callback=callback_for(entry))  # type: ignore[arg-type]  # its signature is built from the table
    if entry.admin:
        admin_only()(command)
    return command


def groups() -> list[app_commands.Group]:
    """Every group of the table's Discord actions, with their commands (and subgroups, for three-word paths)."""
    made: dict[tuple[str, ...], app_commands.Group] = {}
    for entry in TABLE.values():
        if "discord" not in entry.frontends:
            continue
        *path, _ = entry.words
        for depth in range(1, len(path) + 1):
            key = tuple(path[:depth])
            if key not in made:
                admin = all(a.admin for a in TABLE.values() if a.words[:depth] == key and "discord" in a.frontends)
                made[key] = app_commands.Group(
                    name=key[-1], description=GROUPS.get(key[-1], key[-1].capitalize())[:DESCRIPTION_MAX],
                    guild_only=True, parent=made.get(key[:-1]),
                    default_permissions=discord.Permissions(manage_guild=True) if admin and depth == 1 else None)
        made[tuple(path)].add_command(command_for(entry))
    return [group for key, group in made.items() if len(key) == 1]


def install(tree: app_commands.CommandTree[Any]) -> None:
    """Add every generated group to the bot's command tree."""
    for group in groups():
        tree.add_command(group)
