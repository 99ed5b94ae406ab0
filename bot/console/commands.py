"""The console's slash commands, generated from the command table (engine/table.py): the same paths and options as
Discord's, written `/group sub key:value key:several words` (bot/console/app.py parses them). Options are read by
their table types (numbers in the digits 0-9 within their bounds, yes/no, one of the choices, a file's path); the
action's model validates the rest. What a command prints is what the table tells, or a console presenter's
(bot/console/present.py)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.console.files import read_upload
from engine import TABLE, Action, InvalidInput, Option
from engine.commands import ImportLorebook, parse

if TYPE_CHECKING:
    from bot.console.app import Console

Runner = Callable[["Console", dict[str, str]], Awaitable[str | None]]
_WHOLE = re.compile(r"[+-]?[0-9]{1,19}")
_DECIMAL = re.compile(r"[+-]?[0-9]{1,15}(\.[0-9]{1,15})?")
YES, NO = ("true", "yes", "on", "1"), ("false", "no", "off", "0")
OUT = Option(name="out", kind="text", help="where to write the file (a file, or a folder ending in /)",
             required=False, low=1, high=4_000)


@dataclass(frozen=True)
class ConsoleCommand:
    """One console command: what it runs, its options (the table's, plus `out` for files) and a line of help."""

    path: str
    options: tuple[Option, ...]
    help: str
    run: Runner
    action: Action | None = None

    @property
    def required(self) -> tuple[str, ...]:
        """The options that must be given."""
        return tuple(o.name for o in self.options if o.required)

    @property
    def optional(self) -> tuple[str, ...]:
        """The options that may be given."""
        return tuple(o.name for o in self.options if not o.required)


def usage(path: str) -> str:
    """'/character create name:… description:… [personality:…]'."""
    spec = COMMANDS[path]
    return " ".join([f"/{path}", *(f"{k}:…" for k in spec.required), *(f"[{k}:…]" for k in spec.optional)])


def read_option(option: Option, text: str) -> Any:
    """An option as typed → the value its model takes (numbers in the digits 0-9, within the table's bounds)."""
    name, text = option.name, text.strip() if option.kind != "text" else text
    if option.kind == "int":
        low = option.low if option.low is not None else -(2**53)
        high = option.high if option.high is not None else 2**53
        if _WHOLE.fullmatch(text) is None or not low <= int(text) <= high:
            raise InvalidInput(f"{name}: must be a whole number from {low:,} to {high:,} written with the digits "
                               f"0-9, not '{text[:20]}'.")
        return int(text)
    if option.kind == "number":
        if _DECIMAL.fullmatch(text) is None:
            raise InvalidInput(f"{name}: must be a number like 0.5 written with the digits 0-9, not '{text[:20]}'.")
        return float(text)
    if option.kind == "bool":
        if text.lower() not in YES + NO:
            raise InvalidInput(f"{name}: must be true or false, not '{text[:20]}'.")
        return text.lower() in YES
    if option.kind == "choice":
        match = next((choice for choice in option.choices if choice.casefold() == text.casefold()), None)
        if match is None:
            raise InvalidInput(f"{name}: must be one of {', '.join(option.choices)}, not '{text[:40]}'.")
        return match
    return text


def request_for(console: Console, entry: Action, args: dict[str, str]) -> Any:
    """The action's model from the options given (a file option read from its path)."""
    fields: dict[str, Any] = {}
    for option in entry.options:
        if option.name not in args:
            continue
        if option.kind == "file":
            fields[option.name] = read_upload(args[option.name], lorebook=entry.model is ImportLorebook)
        else:
            fields[option.name] = read_option(option, args[option.name])
    if "channel_id" in entry.model.model_fields:
        fields["channel_id"] = console.channel_id
    return parse(entry.model, actor=console.actor, **fields)  # type: ignore[arg-type]


def plain(text: str) -> str:
    """Discord's light markdown made plain for the terminal (bold, italics and code marks dropped)."""
    return re.sub(r"\*\*|(?<![\w*])\*(?=\S)|(?<=\S)\*(?![\w*])|`", "", text)


def table_runner(entry: Action) -> Runner:
    """How the console runs an action: a presenter of its own, else the engine's answer told as the table says."""

    async def run(console: Console, args: dict[str, str]) -> str | None:
        from bot.console.present import SPECIAL

        special = SPECIAL.get(entry.model)
        request = request_for(console, entry, args)
        if special is not None:
            return await special(console, request, args)
        result = await console.engine.perform(request, sink=console.sink, cause=console.cause)
        if entry.told is None:
            return None
        told, title = entry.told(request, result), entry.title_for(request)
        return plain(f"{title}:\n{told}" if title else told) or None

    return run


def _files(entry: Action) -> tuple[Option, ...]:
    from bot.console.present import WRITES_FILES

    return (OUT,) if entry.model in WRITES_FILES else ()


async def _help(console: Console, args: dict[str, str]) -> str:
    lines = [f"  {usage(path):<70} {spec.help}" for path, spec in COMMANDS.items()]
    return f"{await console.how_to_begin()}\nCommands (other lines are spoken in character):\n" + "\n".join(lines)


def _commands() -> dict[str, ConsoleCommand]:
    made = {"help": ConsoleCommand("help", (), "this list", _help)}
    for entry in TABLE.values():
        if "console" in entry.frontends:
            made[entry.path] = ConsoleCommand(entry.path, entry.options + _files(entry), entry.help,
                                              table_runner(entry), entry)
    return made


COMMANDS: dict[str, ConsoleCommand] = _commands()
