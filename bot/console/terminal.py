"""The console at a terminal: a prompt_toolkit prompt that stays intact while replies stream above it.

Lines are read by the prompt and run one after another by a worker, so typing goes on while a reply is
written: the reply being written is shown just above the input line (part of the prompt) and printed for
good when it is finished; everything else, log lines included, is printed above the prompt, so nothing lands
inside the reply being written. Printing above the prompt keeps the terminal in raw mode (prompt_toolkit's own
patch_stdout switches it to cooked mode for every print, and a key pressed in that moment went to the terminal's
line editing: Ctrl-D was lost, Ctrl-C stopped the console). Arrow keys recall earlier lines (a history file next to the
database); Tab completes commands, option names, and character and place names read from the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import sys
import threading
from collections.abc import AsyncGenerator, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, TextIO, cast

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory, History, InMemoryHistory

from bot.console.app import ConsoleSink
from bot.console.commands import COMMANDS
from engine.text import TerminalSafe
from engine.views import CharacterView

if TYPE_CHECKING:
    from bot.console.app import Console

PROMPT = "> "
CHARACTER_OPTIONS = frozenset({"character", "guest", "target", "other"})
PLACE_OPTIONS = frozenset({"place", "parent"})
NAMED_BY_NAME = frozenset({"character show", "character edit", "character retire"})  # `name:` is a character


class _AbovePrompt(io.TextIOBase):
    """sys.stdout and sys.stderr while the prompt runs: each whole line is printed above the prompt, which is then
    drawn again, on the event loop's thread (a write from another thread is handed to it), the terminal staying in
    raw mode so the keys typed meanwhile reach the prompt."""

    def __init__(self, session: PromptSession[str], loop: asyncio.AbstractEventLoop) -> None:
        self._session, self._loop = session, loop
        self._output = session.app.output
        self._pending = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        """Keep `text`; print what ends with a newline."""
        with self._lock:
            self._pending += text
            cut = self._pending.rfind("\n") + 1
            whole, self._pending = self._pending[:cut], self._pending[cut:]
        if whole:
            self._deliver(whole)
        return len(text)

    def flush(self) -> None:
        """Print a partial line too."""
        with self._lock:
            rest, self._pending = self._pending, ""
        if rest:
            self._deliver(rest)

    def _deliver(self, text: str) -> None:
        try:
            on_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            self._print(text)
        elif not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._print, text)

    def _print(self, text: str) -> None:
        app = self._session.app
        drawn = app.is_running and not app.is_done
        if drawn:
            app.renderer.erase()  # the prompt's lines are cleared and the cursor is where they began
        self._output.enable_autowrap()
        self._output.write(text)
        self._output.flush()
        if drawn:
            app.renderer.request_absolute_cursor_position()
            app.invalidate()


@contextlib.contextmanager
def _printing_above(session: PromptSession[str]) -> Iterator[None]:
    """Route sys.stdout and sys.stderr above the prompt (see _AbovePrompt) for the block."""
    above = _AbovePrompt(session, asyncio.get_running_loop())
    saved = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = cast(TextIO, above)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
        above.flush()


class TerminalSink(ConsoleSink):
    """Shows the reply being written just above the input line, then prints it above the prompt for good."""

    def __init__(self, out: TextIO, redraw: Callable[[], None]) -> None:
        super().__init__(out)
        self.live = ""
        self._redraw = redraw

    async def begin(self, character: CharacterView) -> None:
        """Start showing the reply."""
        self.live = f"{character.name}: "
        self._redraw()

    async def update(self, character: CharacterView, text: str) -> None:
        """Show the reply so far."""
        self.live = f"{character.name}: {text}"
        self._redraw()

    async def finish(self, character: CharacterView, text: str) -> list[str]:
        """Print the whole reply above the prompt."""
        self.live = ""
        self.out.write(f"{character.name}: {text}\n")
        self.out.flush()
        self._redraw()
        return []

    async def abort(self, character: CharacterView, error: Exception) -> None:
        """Print what was shown, marked as broken."""
        shown, self.live = self.live, ""
        self.out.write(f"{shown} …(no reply)\n")
        self.out.flush()
        self._redraw()


class ConsoleCompleter(Completer):
    """Completes /commands, their option names, and character and place names (read after each line, and again when
    Tab is pressed: a place a command made a moment ago, or someone on Discord did, completes at once)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.characters: list[str] = []
        self.places: list[str] = []

    async def refresh(self) -> None:
        """Read the world's character names and the story's place names."""
        engine, console = self.console.engine, self.console
        self.characters = [c.name for c in await engine.reads.list_characters(console.actor.guild_id)]
        chat = await engine.reads.find_chat(console.channel_id)
        self.places = [p.name for p in await engine.reads.list_places(chat.chat_id)] if chat is not None else []

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterator[Completion]:
        """Completions for the text before the cursor."""
        for text, start in completions(document.text_before_cursor, self.characters, self.places):
            yield Completion(text, start_position=start)

    async def get_completions_async(self, document: Document,
                                    complete_event: CompleteEvent) -> AsyncGenerator[Completion, None]:
        """The same, with the names read afresh first when Tab asked for them (not on every key typed)."""
        if complete_event.completion_requested:
            await self.refresh()
        for completion in self.get_completions(document, complete_event):
            yield completion


def completions(before: str, characters: Iterable[str], places: Iterable[str]) -> list[tuple[str, int]]:
    """(replacement, start position relative to the cursor) for a console line typed up to the cursor."""
    if not before.startswith("/"):
        return []
    typed = before[1:]
    path = next((p for p in sorted(COMMANDS, key=len, reverse=True) if typed.startswith(p + " ")), None)
    if path is None:
        if " " in typed and not any(p.startswith(typed) for p in COMMANDS):
            return []
        return [("/" + p, -len(before)) for p in COMMANDS if p.startswith(typed)]
    token = _current_token(typed[len(path) + 1:])
    spec = COMMANDS[path]
    if ":" not in token:
        used = _used_options(typed[len(path) + 1:])
        return [(f"{key}:", -len(token)) for key in (*spec.required, *spec.optional)
                if key.startswith(token) and key not in used]
    key, partial = token.split(":", 1)
    names = _names_for(path, key, characters, places)
    wanted = partial.lstrip('"').casefold()
    return [(f"{key}:{_quoted(name)}", -len(token)) for name in names if name.casefold().startswith(wanted)]


def _names_for(path: str, key: str, characters: Iterable[str], places: Iterable[str]) -> list[str]:
    if key in CHARACTER_OPTIONS or (key == "name" and path in NAMED_BY_NAME):
        return list(characters)
    if key in PLACE_OPTIONS:
        return list(places)
    return []


def _current_token(rest: str) -> str:
    """The option being typed: the text after the last space that is not inside quotes."""
    start, quoted = 0, False
    for index, char in enumerate(rest):
        if char == '"':
            quoted = not quoted
        elif char == " " and not quoted:
            start = index + 1
    return rest[start:]


def _used_options(rest: str) -> set[str]:
    return {word.split(":", 1)[0] for word in rest.split() if ":" in word}


def _quoted(name: str) -> str:
    return f'"{name}"' if " " in name or '"' in name else name


def _history(console: Console) -> History:
    """The arrow keys' history: a file next to the database, or this session only."""
    if console.history is None:
        return InMemoryHistory()
    console.history.parent.mkdir(parents=True, exist_ok=True)
    return FileHistory(str(console.history))


async def run_terminal(console: Console) -> None:
    """Prompt, run lines in order in a worker, and stream replies above the prompt until Ctrl-D."""
    sink_holder: list[TerminalSink] = []

    def message() -> FormattedText:
        live = sink_holder[0].live if sink_holder else ""
        return FormattedText([("class:reply", live + "\n"), ("", PROMPT)] if live else [("", PROMPT)])

    completer = ConsoleCompleter(console)
    session: PromptSession[str] = PromptSession(message, history=_history(console), completer=completer,
                                                erase_when_done=True, reserve_space_for_menu=4)
    console.terminal = session
    lines: asyncio.Queue[str | None] = asyncio.Queue()
    with _printing_above(session):  # prints and log records (config/logging.py writes to the current stderr) go above
        console.out = TerminalSafe(sys.stdout)  # type: ignore[assignment]  # no escape codes reach the terminal
        sys.stderr = TerminalSafe(sys.stderr)
        await console.welcome()  # written at once: the prompt is drawn after it
        sink = TerminalSink(console.out, session.app.invalidate)
        sink_holder.append(sink)
        console.sink = sink
        await completer.refresh()
        worker = asyncio.create_task(_work(console, completer, lines), name="chronicle-console-lines")
        try:
            await _read_lines(console, session, lines)
        finally:
            await lines.put(None)
            await worker


async def _read_lines(console: Console, session: PromptSession[str], lines: asyncio.Queue[str | None]) -> None:
    while True:
        try:
            line = await session.prompt_async()
        except KeyboardInterrupt:  # Ctrl-C clears the line, Ctrl-D quits
            continue
        except EOFError:
            return
        await lines.put(line)


async def _work(console: Console, completer: ConsoleCompleter, lines: asyncio.Queue[str | None]) -> None:
    """Run the lines in the order they were entered."""
    while (line := await lines.get()) is not None:
        if not line.strip():
            console.say(await console.how_to_begin())
            continue
        console.say(f"{PROMPT}{line}")
        await console.handle(line)
        await completer.refresh()
