"""The console at a terminal (prompt_toolkit): first run, the input line kept while a reply streams, completion.

In-process tests drive the real prompt through prompt_toolkit's pipe input and a VT100 output written to a
buffer; one test runs `chronicle console` as a subprocess on a pseudo-terminal, as a newcomer would.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import pty
import re
import select
import subprocess
import sys
import termios
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

from prompt_toolkit.application import create_app_session
from prompt_toolkit.data_structures import Size
from prompt_toolkit.input import PipeInput, create_pipe_input
from prompt_toolkit.output.vt100 import Vt100_Output

from bot.console.app import Console
from bot.console.terminal import PROMPT, completions, run_terminal
from engine import Engine
from engine.commands import CreatePlace
from engine.llm.openai_compat import OpenAICompatibleModel
from tests.fakes.llm_server import FakeLLMServer

ROOT = Path(__file__).resolve().parents[2]
ESCAPES = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[=>]|\r")


def plain(text: str) -> str:
    """Terminal output without escape sequences, a backspace taking back the character before it."""
    return re.sub(r"[^\n]\x08", "", ESCAPES.sub("", text))


async def wait_until(predicate: Callable[[], object], timeout: float = 15.0) -> None:
    """Poll until `predicate()` is truthy (fail after `timeout`)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met: {getattr(predicate, '__doc__', '')}")
        await asyncio.sleep(0.02)


class Terminal:
    """A console running at a fake terminal: keys go in through a pipe, the screen's bytes into a buffer."""

    def __init__(self, console: Console, keys: PipeInput, screen: io.StringIO) -> None:
        self.console, self.keys, self.screen = console, keys, screen

    @property
    def text(self) -> str:
        """Everything written to the terminal so far, without escape sequences."""
        return plain(self.screen.getvalue())

    @property
    def printed(self) -> str:
        """What was printed above the prompt: the text without the prompt's drawings (each erased before a print)."""
        return "\n".join(line for line in self.text.splitlines() if line.strip(PROMPT))

    @property
    def input_line(self) -> str:
        """What is typed on the input line right now."""
        session = self.console.terminal
        return session.default_buffer.text if session is not None else ""  # type: ignore[attr-defined]

    async def type(self, text: str) -> None:
        """Type keys and wait until the input line shows them (Tab in the same burst is taken as pasted text)."""
        self.keys.send_text(text)
        await wait_until(lambda: self.input_line.endswith(text))

    async def transcript(self) -> list[tuple[str, str]]:
        """The story's lines as (speaker, text)."""
        chat = await self.console.engine.reads.find_chat(self.console.channel_id)
        if chat is None:
            return []
        return [(m.speaker, m.text) for m in await self.console.engine.reads.transcript(chat.chat_id)]


@contextlib.asynccontextmanager
async def terminal(tmp_path: Path, llm: FakeLLMServer) -> AsyncIterator[Terminal]:
    """A first-run console on a fresh database, with the fake model, at a fake 120×40 terminal."""
    model = OpenAICompatibleModel(llm.base_url, "test-key", "fake-model", max_retries=0, timeout=10.0)
    engine = await Engine.open(tmp_path / "console.db", model=model)
    screen = io.StringIO()
    output = Vt100_Output(screen, lambda: Size(rows=40, columns=120), term="xterm")
    with create_pipe_input() as keys, create_app_session(input=keys, output=output):
        console = Console(engine, history=tmp_path / "console_history")
        task = asyncio.create_task(run_terminal(console))
        term = Terminal(console, keys, screen)
        try:
            await wait_until(lambda: console.terminal is not None and "say hello" in term.text)
            yield term
        finally:
            keys.send_text("\x03\x04")  # Ctrl-C clears the line, Ctrl-D quits
            await asyncio.wait_for(task, 15)
            await engine.close()
            await model.aclose()


async def test_first_run_offers_the_starter_and_hello_starts_the_story(tmp_path: Path, fake_llm: FakeLLMServer):
    fake_llm.enqueue_text("Hollis laughs softly and pushes off from the jetty.", chunks=4)
    async with terminal(tmp_path, fake_llm) as term:
        screen = [line for line in term.printed.splitlines() if "[info" not in line]  # no log lines
        first = next(i for i, line in enumerate(screen) if line.startswith("Chronicle console."))
        assert screen[first].startswith("Chronicle console. Hollis is waiting")
        assert screen[first + 1].startswith("Just say hello to begin a story with Hollis, or /chat start character:")
        term.keys.send_text("hello\r")
        await wait_until(lambda: "pushes off from the jetty" in term.text)  # shown while written, then recorded
        await wait_until(lambda: term.console.engine.serial.busy is False)
        lines = await term.transcript()
        assert lines[0][0] == "Hollis" and lines[0][1].startswith("*A lantern swings out of the fog")
        assert lines[1:] == [("You", "hello"), ("Hollis", "Hollis laughs softly and pushes off from the jetty.")]
        assert "> hello" in term.text and "Hollis: Hollis laughs softly and pushes off from the jetty." in term.text
        term.keys.send_text("\r")  # an empty line says what to do next
        await wait_until(lambda: "Type a line to speak in character" in term.text)
    assert "hello" in (tmp_path / "console_history").read_text()


async def test_the_input_line_is_kept_while_a_reply_streams(tmp_path: Path, fake_llm: FakeLLMServer):
    fake_llm.enqueue_delay(1.5, "The fog swallows the jetty behind you as Hollis poles on.")
    async with terminal(tmp_path, fake_llm) as term:
        term.keys.send_text("hello\r")
        await wait_until(lambda: fake_llm.chat_requests)  # the reply is being written
        term.keys.send_text("Where are we go")
        await wait_until(lambda: term.input_line == "Where are we go")
        await wait_until(lambda: "as Hollis poles on" in term.text)  # the reply arrived in full
        assert term.input_line == "Where are we go"
        term.keys.send_text("ing?\r")
        await wait_until(lambda: len(fake_llm.chat_requests) == 2)
        await wait_until(lambda: term.console.engine.serial.busy is False)
        lines = await term.transcript()
        assert [text for speaker, text in lines if speaker == "You"] == ["hello", "Where are we going?"]
        assert ("Hollis", "The fog swallows the jetty behind you as Hollis poles on.") in lines
        assert "Hollis: The fog swallows the jetty behind you as Hollis poles on." in term.text


async def test_tab_completes_commands_options_and_names(tmp_path: Path, fake_llm: FakeLLMServer):
    async with terminal(tmp_path, fake_llm) as term:
        for typed, completed in (("/chat star", "/chat start"), (" char", "/chat start character:"),
                                 ("Ho", "/chat start character:Hollis")):
            await term.type(typed)
            term.keys.send_text("\t")
            await wait_until(lambda: term.input_line == completed)  # noqa: B023
        term.keys.send_text(' place:"Saltmere Jetty"\r')
        await wait_until(lambda: "The story begins" in term.text)
        await term.type("/scene open place:Sal")
        term.keys.send_text("\t")
        await wait_until(lambda: term.input_line == '/scene open place:"Saltmere Jetty"')


async def test_tab_completes_a_place_made_elsewhere_a_moment_ago(tmp_path: Path, fake_llm: FakeLLMServer):
    """Tab reads the names afresh: a place added by someone else (on Discord, say) completes without a line typed."""
    async with terminal(tmp_path, fake_llm) as term:
        term.keys.send_text("/chat start character:Hollis\r")
        await wait_until(lambda: "The story begins" in term.text)
        console = term.console
        await console.engine.perform(CreatePlace(actor=console.actor, channel_id=console.channel_id,
                                                 name="Lighthouse Steps"))
        await term.type("/scene open place:Lig")
        term.keys.send_text("\t")
        await wait_until(lambda: term.input_line == '/scene open place:"Lighthouse Steps"')


def test_completions_offer_what_fits_the_line():
    characters, places = ["Hollis", "Old Maren"], ["Saltmere", "The Drowned Bell"]
    assert sorted(completions("/char", characters, places)) == [
        ("/character create", -5), ("/character edit", -5), ("/character export", -5), ("/character import", -5),
        ("/character list", -5), ("/character retire", -5), ("/character show", -5)]
    assert completions("/chat start ", characters, places)[:2] == [("character:", 0), ("guest:", 0)]
    assert ("guest:", -1) in completions("/chat start character:Hollis g", characters, places)
    assert completions("/chat start character:Hollis ch", characters, places) == []  # already given
    assert completions("/chat start guest:o", characters, places) == [('guest:"Old Maren"', -7)]
    assert completions('/scene open place:"The D', characters, places) == [('place:"The Drowned Bell"', -12)]
    assert completions("/character show name:H", characters, places) == [("name:Hollis", -6)]
    assert completions("/character create name:H", characters, places) == []  # a new name
    assert completions("hello Hol", characters, places) == []


def _read_until(fd: int, needle: str, seen: list[str], timeout: float = 60.0) -> str:
    """Read a pty until its text (escapes removed) contains `needle`."""
    deadline = time.monotonic() + timeout
    while needle not in plain("".join(seen)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{needle!r} not seen; got:\n{plain(''.join(seen))[-2000:]}")
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                seen.append(os.read(fd, 65536).decode(errors="replace"))
            except OSError:  # the child closed the terminal
                break
    return plain("".join(seen))


@contextlib.contextmanager
def console_on_a_pty(tmp_path: Path, fake_llm: FakeLLMServer) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    """`chronicle console` as a subprocess on a pseudo-terminal: (the process, the terminal's master side, the
    database); the process is killed if the test leaves it running."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CHRONICLE_", "DISCORD_"))}
    env = {**clean, "CHRONICLE_LLM_BASE_URL": fake_llm.base_url, "CHRONICLE_LLM_MODEL": "fake-model",
           "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1", "COLUMNS": "120", "LINES": "40"}
    database = tmp_path / "data" / "chronicle.db"
    main, child = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "console", "--database", str(database)], cwd=ROOT,
                            env=env, stdin=child, stdout=child, stderr=child, close_fds=True)
    os.close(child)
    try:
        yield proc, main, database
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(main)


async def test_a_newcomer_at_a_real_terminal_says_hello(tmp_path: Path, fake_llm: FakeLLMServer):
    """`chronicle console` on a pseudo-terminal: two lines say how to begin, hello starts the story."""
    fake_llm.enqueue_text("Hollis smiles. \"Good. Sit by the lantern.\"", chunks=3)
    seen: list[str] = []
    loop = asyncio.get_running_loop()
    with console_on_a_pty(tmp_path, fake_llm) as (proc, main, database):
        text = await loop.run_in_executor(None, _read_until, main, "say hello", seen)
        assert "Hollis is waiting" in text
        os.write(main, b"hello\r")
        text = await loop.run_in_executor(None, _read_until, main, "Sit by the lantern", seen)
        assert "Evening, traveller" in text  # the greeting came first
        os.write(main, b"\x04")
        await loop.run_in_executor(None, _read_until, main, "\0never printed", seen, 30.0)  # drained until it exits
        await loop.run_in_executor(None, proc.wait, 30)
    assert proc.returncode == 0
    assert (database.parent / "console_history").read_text().count("hello") == 1
    engine = await Engine.open(database)
    try:
        chat = await engine.reads.get_chat("console:main")
        speakers = [m.speaker for m in await engine.reads.transcript(chat.chat_id)]
        assert speakers == ["Hollis", "You", "Hollis"]
    finally:
        await engine.close()


def _modes_until(fd: int, needle: str, seen: list[str], timeout: float = 60.0) -> list[bool]:
    """Read a pty until `needle` shows, sampling as often as it can whether the terminal is in cooked (canonical)
    mode, where the terminal itself edits lines: True per cooked sample."""
    deadline, cooked, found = time.monotonic() + timeout, [], False
    while not found:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{needle!r} not seen; got:\n{plain(''.join(seen))[-2000:]}")
        cooked.append(bool(termios.tcgetattr(fd)[3] & termios.ICANON))
        if select.select([fd], [], [], 0)[0]:
            seen.append(os.read(fd, 65536).decode(errors="replace"))
            found = needle in plain("".join(seen[-2:]))
    return cooked


async def test_the_terminal_stays_raw_while_lines_print_above_the_prompt(tmp_path: Path, fake_llm: FakeLLMServer):
    """A key pressed while a line prints goes to the prompt: the terminal is never switched to cooked mode to print
    (there a Ctrl-D was taken by the terminal's line editing and lost, and a Ctrl-C stopped the console)."""
    long_reply = " ".join(f"Hollis names star number {i} as the ferry drifts on." for i in range(800))
    fake_llm.enqueue_delay(0.5, long_reply)  # printed above the prompt at once, cut to what a console shows
    seen: list[str] = []
    loop = asyncio.get_running_loop()
    with console_on_a_pty(tmp_path, fake_llm) as (proc, main, _):
        await loop.run_in_executor(None, _read_until, main, "say hello", seen)
        os.write(main, b"hello\r")  # the prompt hands the line over (cooked for a moment), then reads again
        await loop.run_in_executor(None, _read_until, main, "Evening, traveller", seen)
        await asyncio.sleep(0.2)  # the story has begun and the reply is being written: only prints from here on
        cooked = await loop.run_in_executor(None, _modes_until, main, "(cut: too long)", seen)
        assert not any(cooked), f"{sum(cooked)} of {len(cooked)} samples cooked"
        os.write(main, b"\x04")
        await loop.run_in_executor(None, _read_until, main, "\0never printed", seen, 30.0)
        assert proc.wait(30) == 0


async def test_help_starts_with_what_to_type_next(tmp_path: Path, fake_llm: FakeLLMServer):
    async with terminal(tmp_path, fake_llm) as term:
        term.keys.send_text("/help\r")
        await wait_until(lambda: "Commands (other lines are spoken in character)" in term.text)
        after = term.printed.rsplit("> /help", 1)[1]
        assert after.lstrip().startswith("Just say hello to begin a story with Hollis")
