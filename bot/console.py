"""`chronicle console`: one channel of the story in the terminal, with Discord's commands as /lines."""

from __future__ import annotations

import asyncio
import re
import sys
import uuid
from typing import TextIO

import structlog

from bot.console_commands import COMMANDS, usage
from engine import Actor, DomainError, Engine, EngineError, NarratorUnavailable
from engine.text import TerminalSafe
from engine.views import CharacterView

log = structlog.get_logger(__name__)
CONSOLE_GUILD = "console"
_OPTION = re.compile(r'\s*([a-z_]+):("(?:[^"\\]|\\.)*"|\S*)')
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
NARRATOR_HELP = ("The narrator is unavailable right now. Check the model server (CHRONICLE_LLM_BASE_URL) and try "
                 "again.")


class ConsoleError(Exception):
    """A line the console could not understand."""


def parse_command(line: str) -> tuple[str, dict[str, str]]:
    """'/group sub key:value key:"quoted value"' → ('group sub', {key: value})."""
    words = line[1:].split(None, 2)
    path = " ".join(words[:2]) if len(words) >= 2 and " ".join(words[:2]) in COMMANDS else (words[0] if words else "")
    if path not in COMMANDS:
        raise ConsoleError(f"unknown command '/{' '.join(words[:2])}'. Type /help for the list.")
    rest = line[1:].strip()[len(path):]
    args: dict[str, str] = {}
    position = 0
    while position < len(rest.rstrip()):
        match = _OPTION.match(rest, position)
        if match is None:
            raise ConsoleError(f"could not read '{rest[position:].strip()[:30]}': write options as key:value or "
                               f'key:"a longer value". Usage: {usage(path)}')
        key, value = match.group(1), match.group(2)
        if value.startswith('"'):
            if _QUOTED.fullmatch(value) is None:
                raise ConsoleError(f'{key}: the quote is not closed. Write {key}:"…" with a " at the end. '
                                   f"Usage: {usage(path)}")
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        args[key] = value
        position = match.end()
    spec = COMMANDS[path]
    unknown = sorted(set(args) - set(spec.required) - set(spec.optional))
    if unknown:
        raise ConsoleError(f"/{path} has no option '{unknown[0]}'. Usage: {usage(path)}")
    missing = [key for key in spec.required if not args.get(key)]
    if missing:
        raise ConsoleError(f"/{path} needs {missing[0]}:…  Usage: {usage(path)}")
    return path, args


class ConsoleSink:
    """Prints a reply as it streams: the name, then each new piece of text."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._shown = ""

    async def begin(self, character: CharacterView) -> None:
        """Start the reply's line."""
        self._shown = ""
        self.out.write(f"{character.name}: ")
        self.out.flush()

    async def update(self, character: CharacterView, text: str) -> None:
        """Print what is new since the last update."""
        if text.startswith(self._shown):
            self.out.write(text[len(self._shown):])
            self.out.flush()
            self._shown = text

    async def finish(self, character: CharacterView, text: str) -> list[str]:
        """End the line (printing any rest)."""
        await self.update(character, text)
        if not text.startswith(self._shown):
            self.out.write(f"\n{character.name}: {text}")
        self.out.write("\n")
        self.out.flush()
        return []

    async def abort(self, character: CharacterView, error: Exception) -> None:
        """Mark the broken line."""
        self.out.write(" …(no reply)\n")
        self.out.flush()


class Console:
    """One terminal session: a person (the local admin) in one channel of the story."""

    def __init__(self, engine: Engine, *, channel: str = "main", speaker: str = "You", out: TextIO = sys.stdout):
        self.engine = engine
        self.channel_id = f"console:{channel}"
        self.actor = Actor(user_id=f"console:{speaker.casefold()}", guild_id=CONSOLE_GUILD, display_name=speaker,
                           is_admin=True)
        self.out: TextIO = TerminalSafe(out)  # type: ignore[assignment]  # nothing printed can carry escape codes
        self.sink = ConsoleSink(self.out)
        self._session = uuid.uuid4().hex[:8]
        self._lines = 0
        self.cause = f"console:{self._session}:0"

    def say(self, text: str) -> None:
        """Print a line."""
        self.out.write(text + "\n")
        self.out.flush()

    async def handle(self, line: str) -> None:
        """Run one line: a /command, or an in-character message."""
        line = line.strip()
        if not line or line.startswith(("((", "//", "#")):
            return
        self._lines += 1
        self.cause = f"console:{self._session}:{self._lines}"
        try:
            if line.startswith("/"):
                path, args = parse_command(line)
                result = await COMMANDS[path].handler(self, args)
                if result:
                    self.say(result)
            else:
                await self.engine.respond(self.actor, self.channel_id, f"console-{uuid.uuid4().hex}", line, self.sink,
                                          cause=self.cause)
        except (ConsoleError, DomainError) as exc:
            self.say(f"error: {exc}")
        except NarratorUnavailable as exc:
            kept = " Your message was kept." if not line.startswith("/") else " Nothing was recorded."
            self.say(f"error: {NARRATOR_HELP}{kept} ({exc.reason})")
        except EngineError as exc:
            self.say(f"error: {exc}")
        except Exception:  # noqa: BLE001 — one bad line must not end the session
            error_id = uuid.uuid4().hex[:8]
            log.exception("console_command_failed", error_id=error_id, line=line[:200])
            self.say(f"error: something went wrong on our side (error id {error_id}); see the log.")

    async def run(self, stdin: TextIO = sys.stdin) -> None:
        """Read lines until end of input: prompting at a terminal, echoing each line of a script."""
        interactive = stdin.isatty()
        if interactive:
            self.say("Chronicle console. Type /help for commands; other lines are spoken in character. Ctrl-D quits.")
        while True:
            line = await asyncio.to_thread(_read_line, stdin, "> " if interactive else "")
            if line is None:
                return
            if not interactive and line.strip():
                self.say(f"> {line.rstrip()}")
            await self.handle(line)


def _read_line(stdin: TextIO, prompt: str) -> str | None:
    if prompt:
        try:
            return input(prompt)
        except EOFError:
            return None
    line = stdin.readline()
    return None if line == "" else line
