"""The setup doctor: every check passing on a good setup, and each one failing on purpose with its fix.

Against the loopback fake Discord (application flags, a channel where the bot lacks permissions, commands
not synced, a rejected token) and the fake model server (down, a small context, no context size at all).
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

from structlog.testing import capture_logs

from bot import doctor
from bot.doctor import Check, ModelTarget
from engine import Engine
from engine.llm.openai_compat import OpenAICompatibleModel
from engine.storage import redact
from tests.bot.conftest import Chronicle
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord.fixtures import FAKE_TOKEN
from tests.fakes.discord.world import ATTACH_FILES, MANAGE_WEBHOOKS
from tests.fakes.llm_server import FakeLLMServer

ROOT = Path(__file__).resolve().parents[2]


def lines_of(text: str) -> dict[str, str]:
    """Doctor lines by check name."""
    return {line[2:].split(":", 1)[0]: line for line in text.splitlines() if line[:2] in ("✓ ", "✗ ", "· ")}


async def admin_doctor(chronicle: Chronicle) -> str:
    record = await chronicle.command(chronicle.fd.world.admin, "admin doctor", timeout=30)
    assert record.ephemeral
    return "\n".join(record.texts)


async def test_a_good_setup_passes_every_check(chronicle: Chronicle):
    chronicle.llm.context_tokens = 8192
    await chronicle.start_story()
    text = await admin_doctor(chronicle)
    assert text.startswith("Everything Chronicle needs is in place."), text
    found = lines_of(text)
    assert set(found) == {"Discord token", "Message Content intent", "Permissions in #general", "Slash commands",
                          "Model server", "Model context size", "Model streaming", "Database migrations",
                          "Database check"}
    assert all(line.startswith("✓") for line in found.values()), text
    assert "8192 tokens (/props)" in found["Model context size"]


async def test_a_missing_intent_and_missing_permissions_are_named_with_their_fix(chronicle: Chronicle):
    fd = chronicle.fd
    await chronicle.start_story()
    fd.application_flags = 0
    fd.deny_bot(fd.world.channel, MANAGE_WEBHOOKS | ATTACH_FILES)
    await fd.wait_for(lambda: not chronicle.bot.get_channel(fd.world.channel.id)
                      .permissions_for(chronicle.bot.get_channel(fd.world.channel.id).guild.me).manage_webhooks)
    text = await admin_doctor(chronicle)
    found = lines_of(text)
    assert text.startswith("Some things need fixing:")
    assert found["Message Content intent"].startswith("✗ Message Content intent: off")
    assert "Privileged Gateway Intents, turn on Message Content Intent" in found["Message Content intent"]
    assert found["Permissions in #general"] == (
        "✗ Permissions in #general: missing Manage Webhooks, Attach Files. Fix: in Test Guild's Server Settings → "
        "Roles (or #general's Edit Channel → Permissions), allow Chronicle: Manage Webhooks, Attach Files")


async def test_commands_that_discord_lost_are_reported(chronicle: Chronicle):
    chronicle.fd.commands.clear()
    check = await doctor.commands_check(chronicle.bot)
    assert check.ok is False and "/admin" in check.detail and "/chat" in check.detail
    assert "restart `chronicle run`" in check.fix


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_model_server_that_is_down(tmp_path: Path):
    url = f"http://127.0.0.1:{_free_port()}/v1"
    model = OpenAICompatibleModel(url, "k", "fake-model", max_retries=0, timeout=2.0)
    try:
        checks = await doctor.model_checks(model, ModelTarget(url, "k", "fake-model", 2048))
    finally:
        await model.aclose()
    assert [c.ok for c in checks] == [False, None, None]
    assert checks[0].line().startswith(f"✗ Model server: cannot reach {url} (")
    assert "set CHRONICLE_LLM_BASE_URL" in checks[0].fix
    assert not doctor.passed(checks)


async def test_a_small_context_and_an_unknown_one(fake_llm: FakeLLMServer):
    model = OpenAICompatibleModel(fake_llm.base_url, "k", "fake-model", max_retries=0, timeout=5.0)
    target = ModelTarget(fake_llm.base_url, "k", "fake-model", 4096)
    try:
        fake_llm.context_tokens = 1024
        small = {c.name: c for c in await doctor.model_checks(model, target)}
        fake_llm.context_tokens = None
        unknown = {c.name: c for c in await doctor.model_checks(model, target, stream=False)}
    finally:
        await model.aclose()
    assert small["Model context size"].ok is False
    assert "holds 1024 tokens (/props) but CHRONICLE_LLM_CONTEXT_TOKENS is 4096" in small["Model context size"].detail
    assert "CHRONICLE_LLM_CONTEXT_TOKENS=1024" in small["Model context size"].fix
    assert small["Model server"].ok and small["Model streaming"].ok
    assert unknown["Model context size"].ok is None and "does not say" in unknown["Model context size"].detail
    assert doctor.passed(unknown.values())


async def test_streaming_that_fails_is_reported(fake_llm: FakeLLMServer):
    fake_llm.enqueue_error(500, "model not loaded")
    model = OpenAICompatibleModel(fake_llm.base_url, "k", "fake-model", max_retries=0, timeout=5.0)
    try:
        check = await doctor.streaming_check(model)
    finally:
        await model.aclose()
    assert check.ok is False and "a test reply failed" in check.detail


async def test_start_up_logs_once_what_is_missing(chronicle: Chronicle):
    chronicle.fd.application_flags = 0
    target = doctor.target_of(chronicle.engine)
    with capture_logs() as logs:
        checks = await doctor.startup_report(chronicle.bot, target)
    problems = [entry for entry in logs if entry["event"] == "setup_problem"]
    assert [p["check"] for p in problems] == ["Message Content intent"]
    assert "Message Content Intent" in problems[0]["fix"]
    assert [c.name for c in checks if c.ok is None] == ["Channel permissions", "Model context size", "Model streaming"]


def test_a_check_line_carries_its_fix_only_when_it_failed():
    assert Check("X", True, "fine", "never shown").line() == "✓ X: fine"
    assert Check("X", False, "broken", "do this").line() == "✗ X: broken. Fix: do this"
    assert Check("X", None, "unknown", "never shown").line() == "· X: unknown"


async def _chronicle_doctor(fd: FakeDiscord, llm: FakeLLMServer, tmp_path: Path,
                            token: str = FAKE_TOKEN, base_url: str | None = None) -> tuple[int, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CHRONICLE_", "DISCORD_"))}
    env = {**clean, "DISCORD_TOKEN": token, "CHRONICLE_DATABASE": str(tmp_path / "doctor.db"),
           "CHRONICLE_LLM_BASE_URL": base_url or llm.base_url, "CHRONICLE_LLM_MODEL": "fake-model",
           "CHRONICLE_DISCORD_API_BASE": fd.api_base, "CHRONICLE_SYNC_GUILD_IDS": str(fd.world.guild.id),
           "PYTHONPATH": str(ROOT)}
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "doctor", cwd=tmp_path, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=90)
    assert process.returncode is not None
    return process.returncode, out.decode() + err.decode()


async def test_chronicle_doctor_exits_1_and_names_what_to_fix(fake_discord: FakeDiscord, fake_llm: FakeLLMServer,
                                                               tmp_path: Path):
    """No intent (Discord refuses it at connect, so the doctor connects without it) and commands never synced."""
    fake_discord.application_flags = 0
    fake_discord.enforce_privileged_intents = True
    fake_llm.context_tokens = 512
    code, text = await _chronicle_doctor(fake_discord, fake_llm, tmp_path)
    found = lines_of(text)
    assert code == 1, text
    assert found["Discord token"].startswith("✓") and found["Message Content intent"].startswith("✗")
    assert found["Slash commands"].startswith("✗ Slash commands: not synced in the sync guilds: /admin")
    assert found["Model context size"].startswith("✗ Model context size: the server holds 512 tokens")
    assert found["Channel permissions"].startswith("·") and found["Database check"].startswith("✓")
    assert "doctor: 3 things to fix" in text


async def test_chronicle_doctor_exits_0_when_everything_is_in_place(fake_discord: FakeDiscord,
                                                                    fake_llm: FakeLLMServer, tmp_path: Path):
    fake_llm.context_tokens = 4096
    engine = await Engine.open(tmp_path / "doctor.db")  # commands synced by an earlier run
    from bot.client import ChronicleBot
    from tests.fakes.discord.fixtures import run_bot

    bot = ChronicleBot(engine, sync_guild_ids=[fake_discord.world.guild.id], guild_ready_timeout=0.05)
    async with run_bot(fake_discord, bot):
        pass
    await engine.close()
    code, text = await _chronicle_doctor(fake_discord, fake_llm, tmp_path)
    assert code == 0, text
    assert "doctor: everything Chronicle needs is in place" in text
    assert all(line.startswith(("✓", "·")) for line in lines_of(text).values())


async def test_a_rejected_token_is_the_first_line(fake_discord: FakeDiscord, fake_llm: FakeLLMServer,
                                                  tmp_path: Path):
    fake_discord.accepted_token = "the-real-one"
    code, text = await _chronicle_doctor(fake_discord, fake_llm, tmp_path, token="a-wrong-one")
    assert code == 1
    assert lines_of(text)["Discord token"].startswith("✗ Discord token: Discord rejected DISCORD_TOKEN. Fix: copy")
    assert "a-wrong-one" not in text


async def test_chronicle_doctor_never_prints_the_password_of_the_model_url(fake_discord: FakeDiscord,
                                                                          fake_llm: FakeLLMServer, tmp_path: Path):
    """A model server behind basic auth (user:password in CHRONICLE_LLM_BASE_URL): reached, and shown redacted."""
    url = fake_llm.base_url.replace("http://", "http://alice:S3CRET@")
    code, text = await _chronicle_doctor(fake_discord, fake_llm, tmp_path, base_url=url)
    shown = fake_llm.base_url.replace("http://", "http://alice:***@")
    assert lines_of(text)["Model server"] == f"✓ Model server: {shown} answers; it offers fake-model", text
    assert lines_of(text)["Model streaming"].startswith("✓")
    down = f"http://alice:S3CRET@127.0.0.1:{_free_port()}/v1"
    code, text_down = await _chronicle_doctor(fake_discord, fake_llm, tmp_path, base_url=down)
    assert lines_of(text_down)["Model server"].startswith(f"✗ Model server: cannot reach {redact(down)} (")
    assert "alice:***@127.0.0.1" in text_down and code == 1
    assert "S3CRET" not in text + text_down
