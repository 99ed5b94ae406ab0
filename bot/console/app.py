"""`chronicle console`: one channel of the story in the terminal, with Discord's commands as /lines.

At a terminal it is a prompt_toolkit app (bot/console/terminal.py): the input line stays put while replies
stream above it, with history and completion. Piped input runs as a script, each line echoed. A line spoken
in a channel with no story starts one with the starter character when it is part of the world (the console
offers it on a first run: bot/starter).
"""

from __future__ import annotations

import asyncio
import difflib
import os
import re
import sys
import uuid
from pathlib import Path
from typing import Any, TextIO

import structlog

from bot.console.commands import COMMANDS, usage
from bot.starter import find_starter, load_starter
from engine import Actor, DomainError, Engine, EngineError, NarratorUnavailable
from engine.commands import AnswerLine, StartChat
from engine.storage import redact_text
from engine.text import TerminalSafe
from engine.views import CharacterView

log = structlog.get_logger(__name__)
CONSOLE_GUILD = "console"
_KEY = re.compile(r"\s*([a-z_]+):")  # an option's name where an option starts
_KEY_INSIDE = re.compile(r"\s([a-z_]+):")  # ... and inside an unquoted value, where the next may start
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
NARRATOR_HELP = ("The narrator is unavailable right now. Check the model server (CHRONICLE_LLM_BASE_URL) and try "
                 "again.")


class ConsoleError(Exception):
    """A line the console could not understand."""


def parse_command(line: str) -> tuple[str, dict[str, str]]:
    """'/group sub key:value key:several words key:"quoted value"' → ('group sub', {key: value}).

    An unquoted value runs to the next of the command's own options (`key:`) or the end of the line, so
    `description:A bard with a lute. greeting:Hi!` reads as two options; quotes keep an option's name inside a value
    (`content:"see name: below"`)."""
    words = line[1:].split(None, 3)
    path = next((p for n in (3, 2, 1) if len(words) >= n and (p := " ".join(words[:n])) in COMMANDS), "")
    if not path:  # the longest path typed that is a command ('/chat cast add'), else what was typed
        raise ConsoleError(f"unknown command '/{' '.join(words[:2])}'. Type /help for the list.")
    spec = COMMANDS[path]
    names = (*spec.required, *spec.optional)
    args = _options(line[1:].strip()[len(path):], path, names)
    unknown = sorted(set(args) - set(names))
    if unknown:
        raise ConsoleError(f"/{path} has no option '{unknown[0]}'. Usage: {usage(path)}")
    missing = [key for key in spec.required if not args.get(key)]
    if missing:
        raise ConsoleError(f"/{path} needs {missing[0]}:…  Usage: {usage(path)}")
    return path, args


def _options(rest: str, path: str, names: tuple[str, ...]) -> dict[str, str]:
    """The `key:value` options of a command line (after its path)."""
    args: dict[str, str] = {}
    position = 0
    while position < len(rest.rstrip()):
        match = _KEY.match(rest, position)
        if match is None:
            raise ConsoleError(f"could not read '{rest[position:].strip()[:30]}': write options as key:value. "
                               f"Usage: {usage(path)}")
        key, position = match.group(1), match.end()
        if rest.startswith('"', position):
            quoted = _QUOTED.match(rest, position)
            if quoted is None:
                raise ConsoleError(f'{key}: the quote is not closed. Write {key}:"…" with a " at the end. '
                                   f"Usage: {usage(path)}")
            value, position = quoted.group()[1:-1].replace('\\"', '"').replace("\\\\", "\\"), quoted.end()
            if position < len(rest) and not rest[position].isspace():
                raise ConsoleError(f"{key}: put a space after the closing quote. Usage: {usage(path)}")
        else:
            value, position = _unquoted(rest, position, key, path, names)
        if key in args:
            raise ConsoleError(f"{key}: given twice; give each option once. Usage: {usage(path)}")
        args[key] = value
    return args


def _unquoted(rest: str, position: int, key: str, path: str, names: tuple[str, ...]) -> tuple[str, int]:
    """An unquoted value, up to the next of the command's options, and where it ends. A `word:` close to an option's
    name is refused as a misspelt option (quotes keep it in a value)."""
    for following in _KEY_INSIDE.finditer(rest, position):
        word = following.group(1)
        if word in names:
            return rest[position:following.start()].strip(), following.start()
        near = difflib.get_close_matches(word, names, n=1, cutoff=0.8)
        if near:
            raise ConsoleError(f"/{path} has no option '{word}' (did you mean {near[0]}?). Usage: {usage(path)}")
    return rest[position:].strip(), len(rest)


class ConsoleSink:
    """Prints a reply as it streams: the name with the first piece of text, then each new piece.

    A log line written meanwhile to the same place ends the reply's line where it is (`break_line`); the reply
    then starts again, whole, on the line after the log line."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._shown = ""
        self._name = ""
        self._open = False  # the reply's line is on the screen and not ended yet

    async def begin(self, character: CharacterView) -> None:
        """Start a reply (its line starts with its first text)."""
        self._shown, self._name, self._open = "", character.name, False

    def _line(self) -> None:
        """Put the reply's line on the screen, with the text shown so far, unless it is there already."""
        if not self._open:
            self.out.write(f"{self._name}: {self._shown}")
            self._open = True

    async def update(self, character: CharacterView, text: str) -> None:
        """Print what is new since the last update."""
        if text.startswith(self._shown) and len(text) > len(self._shown):
            self._line()
            self.out.write(text[len(self._shown):])
            self.out.flush()
            self._shown = text

    async def finish(self, character: CharacterView, text: str) -> list[str]:
        """End the line (printing any rest)."""
        await self.update(character, text)
        if text.startswith(self._shown):
            self._line()
        else:
            self.out.write(f"\n{character.name}: {text}" if self._open else f"{character.name}: {text}")
        self.out.write("\n")
        self.out.flush()
        self._open = False
        return []

    async def abort(self, character: CharacterView, error: Exception) -> None:
        """Mark the broken line."""
        self._line()
        self.out.write(" …(no reply)\n")
        self.out.flush()
        self._open = False

    def break_line(self) -> None:
        """End the reply's line where it is (something else is about to be printed); the next piece reprints it."""
        if self._open:
            self.out.write("\n")
            self.out.flush()
            self._open = False


class _LogsAboveReplies:
    """`sys.stderr` while a script runs with stdout and stderr in one place (a terminal, `2>&1`): a log line
    ends the reply's line being streamed first, so the log stands on a line of its own and the reply goes on,
    whole, below it."""

    def __init__(self, stream: TextIO, console: Console) -> None:
        self._stream = stream
        self._console = console

    def write(self, text: str) -> int:
        """Break the streaming line, then write `text`."""
        self._console.sink.break_line()
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def same_place(a: TextIO, b: TextIO) -> bool:
    """Whether two streams write to the same file, pipe or terminal."""
    try:
        first, second = os.fstat(a.fileno()), os.fstat(b.fileno())
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError and a ValueError
        return False
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


class Console:
    """One terminal session: a person (the local admin) in one channel of the story."""

    def __init__(self, engine: Engine, *, channel: str = "main", speaker: str = "You", out: TextIO | None = None,
                 history: Path | None = None):
        self.engine = engine
        self.channel_id = f"console:{channel}"
        self.actor = Actor(user_id=f"console:{speaker.casefold()}", guild_id=CONSOLE_GUILD, display_name=speaker,
                           is_admin=True)
        # nothing printed can carry escape codes, bidi overrides or NULs to the terminal
        self.out: TextIO = TerminalSafe(out if out is not None else sys.stdout)  # type: ignore[assignment]
        self.sink: ConsoleSink = ConsoleSink(self.out)
        self.history = history
        self.terminal: object | None = None  # the prompt_toolkit session, at a terminal
        self._session = uuid.uuid4().hex[:8]
        self._lines = 0
        self.cause = f"console:{self._session}:0"

    def say(self, text: str) -> None:
        """Print a line."""
        self.out.write(text + "\n")
        self.out.flush()

    def error(self, text: str) -> None:
        """Print an error line (any URL in it without its password)."""
        self.say(f"error: {redact_text(text)}")

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
                result = await COMMANDS[path].run(self, args)
                if result:
                    self.say(result)
            else:
                await self.speak(line)
        except (ConsoleError, DomainError) as exc:
            self.error(str(exc))
        except NarratorUnavailable as exc:
            kept = " Your message was kept." if not line.startswith("/") else " Nothing was recorded."
            self.error(f"{NARRATOR_HELP}{kept} ({exc.reason})")
        except EngineError as exc:
            self.error(str(exc))
        except Exception:  # noqa: BLE001 — one bad line must not end the session
            error_id = uuid.uuid4().hex[:8]
            log.exception("console_command_failed", error_id=error_id, line=line[:200])
            self.error(f"something went wrong on our side (error id {error_id}); see the log.")

    async def speak(self, line: str) -> None:
        """Say a line in character; with no story here yet, first start one with the starter character."""
        if await self.engine.reads.find_chat(self.channel_id) is None:
            starter = await find_starter(self.engine, self.actor.guild_id)
            if starter is not None:
                start = StartChat(actor=self.actor, channel_id=self.channel_id, character=starter.name)
                chat = await self.engine.perform(start, sink=self.sink, cause=f"{self.cause}:start")
                self.say(f"(A story begins with {starter.name}: {chat.anchor}, {chat.weather}.)")
        said = AnswerLine(actor=self.actor, channel_id=self.channel_id, message_id=f"console-{uuid.uuid4().hex}",
                          text=line)
        await self.engine.perform(said, sink=self.sink, cause=self.cause)

    async def how_to_begin(self) -> str:
        """What to type next, for the channel's state: one line."""
        chat = await self.engine.reads.find_chat(self.channel_id)
        if chat is not None:
            return "Type a line to speak in character; /help lists the commands."
        starter = await find_starter(self.engine, self.actor.guild_id)
        if starter is not None:
            return (f"Just say hello to begin a story with {starter.name}, or /chat start character:<Name> "
                    f"(/character list shows who is here).")
        if await self.engine.reads.list_characters(self.actor.guild_id, limit=1):
            return "Start a story with /chat start character:<Name> (/character list shows who is here)."
        return "Create a character first: /character create name:… description:…, then /chat start character:…"

    async def welcome(self) -> None:
        """The first screen at a terminal: the starter character on a first run, and two lines on how to begin."""
        first_run = not await self.engine.reads.list_characters(self.actor.guild_id, limit=1)
        if first_run:
            await load_starter(self.engine, self.actor, cause=f"console:{self._session}:starter")
        starter = await find_starter(self.engine, self.actor.guild_id)
        chat = await self.engine.reads.find_chat(self.channel_id)
        if chat is None and starter is not None:
            self.say(f"Chronicle console. {starter.name} is waiting at the jetty, ready to start a story with you.")
        else:
            self.say("Chronicle console: Ctrl-D quits, arrow keys recall earlier lines, Tab completes.")
        self.say(await self.how_to_begin())

    def at_a_terminal(self, stdin: TextIO = sys.stdin) -> bool:
        """Whether both ends are a terminal (the interactive app runs), else input is read as a script."""
        return stdin.isatty() and self.out.isatty()

    async def run(self, stdin: TextIO = sys.stdin) -> None:
        """Read lines until end of input as a script, echoing each before its output; at its end, wait for the
        automatic memories its lines made due (each summary is bounded in time)."""
        stderr = sys.stderr
        if same_place(self.out, stderr):
            sys.stderr = _LogsAboveReplies(stderr, self)
        try:
            while (line := await asyncio.to_thread(_read_line, stdin)) is not None:
                if line.strip():
                    self.say(f"> {line.rstrip()}")
                await self.handle(line)
            await self.engine.memories.join()
        finally:
            sys.stderr = stderr


def _read_line(stdin: TextIO) -> str | None:
    line = stdin.readline()
    return None if line == "" else line
