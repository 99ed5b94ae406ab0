"""The `chronicle` subcommands that act on a story, generated from the command table (engine/table.py): every
action with a `cli` name (`chronicle rewind`, `chronicle export`, `chronicle card import|export`). A story's
action names its chat with `--chat ID` (see `chronicle chats`); a server's names the server with `--guild`
(default: the console's world). Required options are positional, the others `--flags`, with the table's bounds;
the person at the command line is the local admin."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bot.cli.common import CLI_USER, EXTRA_PARSERS, bounded, command, with_engine
from bot.console.commands import plain, read_option
from bot.console.files import read_upload, write_card
from config.settings import Settings
from engine import TABLE, Action, Actor, Engine, EngineError, Option
from engine.commands import ExportCharacter, ExportChat, ImportLorebook, InChat, InStory, parse

CONSOLE_GUILD = "console"
Output = Callable[[Any, argparse.Namespace], Awaitable[None]]


def _argument(parser: argparse.ArgumentParser, option: Option) -> None:
    """One option of the table as an argument: positional when required, a --flag otherwise."""
    flag = option.name if option.required else "--" + option.name.replace("_", "-")
    extra: dict[str, Any] = {"help": option.help}
    if not option.required:
        extra["dest"] = option.name
    if option.kind == "bool":
        parser.add_argument(flag, action="store_true", **extra)
    elif option.kind == "int":
        low = option.low if option.low is not None else -(2**53)
        high = option.high if option.high is not None else 2**53
        parser.add_argument(flag, type=bounded(int(low), int(high)), **extra)
    elif option.kind == "choice":
        parser.add_argument(flag, choices=option.choices, **extra)
    else:
        parser.add_argument(flag, **extra)


def _add(sub: argparse._SubParsersAction, common: argparse.ArgumentParser, entry: Action,
         groups: dict[str, argparse._SubParsersAction]) -> None:
    words = (entry.cli or "").split()
    parent = sub
    for depth, word in enumerate(words[:-1]):
        key = " ".join(words[:depth + 1])
        if key not in groups:
            p = parent.add_parser(word, help=f"{word} commands")
            groups[key] = p.add_subparsers(dest=f"{key.replace(' ', '_')}_command", required=True, metavar="ACTION")
        parent = groups[key]
    p = parent.add_parser(words[-1], parents=[common], help=entry.help)
    p.set_defaults(action_path=entry.path)
    if issubclass(entry.model, InChat | InStory):
        p.add_argument("--chat", required=True, help="the chat's id (see `chronicle chats`)")
    else:
        p.add_argument("--guild", default=CONSOLE_GUILD, help="the server id (default: the console's world)")
    for option in entry.options:
        _argument(p, option)
    if entry.model in OUTPUTS:
        p.add_argument("--out", help="where to write (a file, or a folder ending in /)")


def _parsers(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    groups: dict[str, argparse._SubParsersAction] = {}
    for entry in TABLE.values():
        if entry.cli:
            _add(sub, common, entry, groups)


EXTRA_PARSERS.append(_parsers)


async def _request(engine: Engine, entry: Action, args: argparse.Namespace) -> Any:
    """The action's model from the arguments, for the local admin of the chat's (or the given) server."""
    fields: dict[str, Any] = {}
    if issubclass(entry.model, InChat | InStory):
        chat = await engine.reads.chat_by_id(args.chat)
        if issubclass(entry.model, InChat) and chat.status != "open":
            raise EngineError(f"chat {chat.chat_id} has ended; only an open chat's story can be changed")
        guild, fields["channel_id"] = chat.guild_id, chat.channel_id
        if entry.model is ExportChat:
            fields["chat_id"] = chat.chat_id
    else:
        guild = args.guild
    for option in entry.options:
        value = getattr(args, option.name, None)
        if value is None or value is False:
            continue
        if option.kind == "file":
            fields[option.name] = read_upload(str(value), lorebook=entry.model is ImportLorebook)
        else:
            fields[option.name] = value if option.kind in ("int", "bool") else read_option(option, str(value))
    actor = Actor(user_id=CLI_USER, guild_id=guild, display_name="console admin", is_admin=True)
    return parse(entry.model, actor=actor, **fields)  # type: ignore[arg-type]


async def _export_chat(result: Any, args: argparse.Namespace) -> None:
    events_file, transcript_file = await asyncio.to_thread(result.write_to, Path(args.out or "exports"))
    print(f"wrote {events_file} and {transcript_file}")


async def _export_card(result: Any, args: argparse.Namespace) -> None:
    for path in write_card(result, args.out):
        print(f"wrote {path}")


OUTPUTS: dict[type[Any], Output] = {ExportChat: _export_chat, ExportCharacter: _export_card}
READ_ONLY = frozenset({ExportChat, ExportCharacter})


@command("table")
async def run_action(args: argparse.Namespace, settings: Settings) -> int:
    """Run the table's action the arguments name; print what it tells, or write its files."""
    entry = TABLE[args.action_path]

    async def body(engine: Engine) -> int:
        request = await _request(engine, entry, args)
        result = await engine.perform(request, cause=f"cli:{entry.path}")
        if entry.model in OUTPUTS:
            await OUTPUTS[entry.model](result, args)
        elif entry.told is not None:
            print(plain(entry.told(request, result)))
        return 0

    return await with_engine(args, settings, body, read_only=entry.model in READ_ONLY)
