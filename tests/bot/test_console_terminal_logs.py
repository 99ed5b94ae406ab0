"""Log lines at the terminal console: printed above the prompt like every other print, never into the reply that
is being written. The real prompt runs on prompt_toolkit's pipe input and a VT100 output written to a buffer;
logging is configured as `chronicle console` configures it (records to stderr)."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from prompt_toolkit.application import create_app_session
from prompt_toolkit.data_structures import Size
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output.vt100 import Vt100_Output

from bot.console import Console
from bot.console_terminal import run_terminal
from config.logging import configure_logging
from engine import Engine
from engine.llm.openai_compat import OpenAICompatibleModel
from tests.bot.test_console_terminal import Terminal, wait_until
from tests.fakes.llm_server import FakeLLMServer
from tests.test_logging import restore_logging  # noqa: F401  (fixture)

REPLY = "Hollis leans on his pole and the ferry slides out into the fog without a sound."


async def test_a_retry_warning_is_printed_above_the_reply_being_written(tmp_path: Path, fake_llm: FakeLLMServer,
                                                                        restore_logging: None):  # noqa: F811
    configure_logging("console", "warning")
    fake_llm.enqueue_error(503, "warming up")
    fake_llm.enqueue_text(REPLY, chunks=6)
    model = OpenAICompatibleModel(fake_llm.base_url, "k", "fake-model", max_retries=2, backoff=0.05, timeout=10.0)
    engine = await Engine.open(tmp_path / "console.db", model=model)
    screen = io.StringIO()
    output = Vt100_Output(screen, lambda: Size(rows=40, columns=400), term="xterm")
    try:
        with create_pipe_input() as keys, create_app_session(input=keys, output=output):
            console = Console(engine, history=tmp_path / "console_history")
            task = asyncio.create_task(run_terminal(console))
            term = Terminal(console, keys, screen)
            try:
                await wait_until(lambda: console.terminal is not None and "say hello" in term.text)
                keys.send_text("hello\r")
                await wait_until(lambda: f"Hollis: {REPLY}" in term.text and "llm_retry" in term.text)
            finally:
                keys.send_text("\x03\x04")
                await asyncio.wait_for(task, 15)
    finally:
        await engine.close()
        await model.aclose()
    lines = term.text.splitlines()
    retry = [line for line in lines if "llm_retry" in line]
    assert len(retry) == 1 and "Hollis:" not in retry[0] and "warming up" in retry[0]
    assert any(line.endswith(f"Hollis: {REPLY}") for line in lines), term.text  # printed whole, on a line of its own
