"""What a scripted `chronicle console` prints around a reply, as a subprocess: log lines on lines of their own when
stdout and stderr share a place (a terminal, `2>&1`), the reply deadline from CHRONICLE_LLM_REPLY_DEADLINE, and
error lines that never show the password of the model server's URL."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sys
from pathlib import Path

from engine import Engine
from tests.fakes.llm_server import FakeLLMServer

ROOT = Path(__file__).resolve().parent.parent
START = '/character create name:Aria description:"A wandering bard."\n/chat start character:Aria\n'
FIRST = "Aria tunes her lute and sings of the northern roads, slow and low."
SECOND = "The song falters as the lanterns gutter, and Aria looks towards the door where someone waits. " * 3


async def console(database: Path, script: str, env: dict[str, str], *, merged: bool) -> tuple[int, str, str]:
    """Run `chronicle console` on `script`; with `merged`, stderr goes where stdout goes (one pipe)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CHRONICLE_", "DISCORD_"))}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "console", "--database", str(database), cwd=ROOT, env={**clean, **env},
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT if merged else asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(script.encode()), timeout=120)
    return process.returncode or 0, out.decode(), (err or b"").decode()


async def test_log_lines_stand_apart_from_the_streaming_reply_and_the_deadline_ends_a_stall(tmp_path: Path,
                                                                                            fake_llm: FakeLLMServer):
    fake_llm.enqueue_error(503, "warming up")  # a retry warning before the first reply's text
    fake_llm.enqueue_text(FIRST, chunks=4)
    fake_llm.enqueue_gated(SECOND, asyncio.Event(), chunks=2, after=1)  # half the second reply, then a stall
    env = {"CHRONICLE_LLM_BASE_URL": fake_llm.base_url, "CHRONICLE_LLM_MODEL": "fake-model",
           "CHRONICLE_LLM_MAX_RETRIES": "2", "CHRONICLE_LLM_TIMEOUT": "60", "CHRONICLE_LLM_REPLY_DEADLINE": "3"}
    code, out, _ = await console(tmp_path / "c.db", START + "Sing for me.\nAnd again?\n", env, merged=True)
    assert code == 0, out
    lines = out.splitlines()
    logs = [line for line in lines if "llm_retry" in line or "llm_unavailable" in line]
    assert len(logs) == 2 and not any("Aria:" in line for line in logs), out
    assert f"Aria: {FIRST}" in lines, out
    broken = [m for line in lines if (m := re.fullmatch(r"Aria: (.+) …\(no reply\)", line))]
    assert len(broken) == 1 and SECOND.startswith(broken[0].group(1)), out
    assert lines.index(broken[0].group(0)) > lines.index(logs[1])  # the broken reply is reprinted below the log
    error = next(line for line in lines if line.startswith("error: "))
    assert "did not finish its reply within 3 s" in error and "Your message was kept." in error
    engine = await Engine.open(tmp_path / "c.db")
    try:
        chat = await engine.reads.get_chat("console:main")
        assert [(m.speaker, m.text) for m in await engine.reads.transcript(chat.chat_id)] == [
            ("You", "Sing for me."), ("Aria", FIRST), ("You", "And again?")]
    finally:
        await engine.close()


async def test_the_error_line_and_the_log_never_show_the_password_of_an_unreachable_model(tmp_path: Path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {"CHRONICLE_LLM_BASE_URL": f"http://alice:S3CRET@127.0.0.1:{port}/v1", "CHRONICLE_LLM_MODEL": "m",
           "CHRONICLE_LLM_MAX_RETRIES": "1"}
    code, out, err = await console(tmp_path / "c.db", START + "Hello?\n", env, merged=False)
    assert code == 0, err
    error = next(line for line in out.splitlines() if line.startswith("error: "))
    assert error.endswith(f"(could not connect to the model server at http://alice:***@127.0.0.1:{port}/v1)")
    assert "llm_unavailable" in err and f"base_url=http://alice:***@127.0.0.1:{port}/v1" in err
    assert "S3CRET" not in out + err
