"""`chronicle run` as a subprocess, configured only through the environment to use the fakes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from tests.fakes.discord import FakeDiscord
from tests.fakes.llm_server import FakeLLMServer

TOKEN = "subprocess-secret-token-xyz"


async def test_chronicle_run_plays_a_story(fake_discord: FakeDiscord, fake_llm: FakeLLMServer,
                                           tmp_path: Path) -> None:
    """The production entry point syncs commands, answers in character, stops on SIGTERM, never logs the token."""
    fd, w = fake_discord, fake_discord.world
    env = {**os.environ, "DISCORD_TOKEN": TOKEN, "CHRONICLE_DATABASE": str(tmp_path / "bot.db"),
           "CHRONICLE_LLM_BASE_URL": fake_llm.base_url, "CHRONICLE_LLM_MODEL": "fake-model",
           "CHRONICLE_DISCORD_API_BASE": fd.api_base, "CHRONICLE_SYNC_GUILD_IDS": str(w.guild.id),
           "CHRONICLE_LOG_FORMAT": "json", "CHRONICLE_LOG_LEVEL": "debug"}
    env.pop("CHRONICLE_DISCORD_GATEWAY_URL", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", cwd=tmp_path, env={**env, "PYTHONPATH": str(Path.cwd())},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    lines: list[bytes] = []
    reading = asyncio.gather(proc.stdout.read(), _lines(proc.stderr, lines))
    try:
        await fd.wait_for(lambda: fd.registered_commands(w.guild), timeout=20)
        await fd.wait_until_ready(timeout=10)
        for path, options in (("character create", {"name": "Aria", "description": "A bard."}),
                              ("chat start", {"character": "Aria"})):
            record = await fd.invoke_command(w.channel, w.admin, path, options)
            await record.wait_done(10)
        fake_llm.enqueue_text("Hello from another process.")
        await fd.user_says(w.channel, w.member, "Hi Aria")
        reply = await fd.wait_for(lambda: [m for m in fd.messages_in(w.channel)
                                           if m.username == "Aria" and m.content == "Hello from another process."],
                                  timeout=15)
        assert reply
        await fd.wait_for(lambda: any(b"heap_settled" in line for line in lines), timeout=20)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(reading, timeout=15)
        await asyncio.wait_for(proc.wait(), timeout=15)
    err = b"".join(lines)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert TOKEN not in out.decode() + err.decode()
    assert b"commands_synced" in err
    records = [json.loads(line) for line in err.decode().splitlines()]  # CHRONICLE_LOG_FORMAT=json: nothing else
    assert {"discord.client", "bot.discord.client"} <= {r.get("logger") for r in records}  # discord.py's records too
    [settled] = [r for r in records if r.get("event") == "heap_settled"]  # after the one session's backfill
    assert settled["frozen_objects"] > 10_000 and settled["session"] == 1


async def _lines(stream: asyncio.StreamReader, into: list[bytes]) -> None:
    """Collect a stream's lines as they come, until it ends."""
    while line := await stream.readline():
        into.append(line)


async def test_a_rejected_token_is_one_clear_line(fake_discord: FakeDiscord, fake_llm: FakeLLMServer,
                                                  tmp_path: Path) -> None:
    """Discord answering 401 at login ends `chronicle run` with one line that names the setting, not a traceback."""
    fake_discord.accepted_token = "the-real-token"
    env = {**os.environ, "DISCORD_TOKEN": TOKEN, "CHRONICLE_DATABASE": str(tmp_path / "bot.db"),
           "CHRONICLE_LLM_BASE_URL": fake_llm.base_url, "CHRONICLE_DISCORD_API_BASE": fake_discord.api_base,
           "PYTHONPATH": str(Path.cwd())}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    text = err.decode()
    assert proc.returncode == 1
    assert "chronicle: Discord rejected DISCORD_TOKEN" in text and "Traceback" not in text
    assert TOKEN not in out.decode() + text
