"""Starting the Discord bot on an open engine, pointed at Discord (or a stand-in such as a test server)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Sequence
from typing import Any

import aiohttp
import discord
import discord.gateway
import discord.http
import structlog
import yarl

from bot.discord.client import ChronicleBot, make_bot
from bot.discord.doctor import ModelTarget, startup_report
from engine import Engine, EngineError

log = structlog.get_logger(__name__)
IDENTIFY_SPACING = 5.0  # Discord: one session start per max_concurrency bucket every 5 seconds


def point_discord_at(api_base: str, gateway_url: str) -> None:
    """Make discord.py use this REST base (webhooks and interaction callbacks too) and this gateway."""
    discord.http.Route.BASE = api_base.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def _stop_on_sigterm(bot: ChronicleBot) -> None:
    """Close the bot cleanly on SIGTERM (docker stop)."""
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGTERM, lambda: loop.create_task(bot.close()))


async def run_discord(engine: Engine, token: str, *, api_base: str, gateway_url: str,
                      admin_role_ids: Sequence[int] = (), sync_guild_ids: Sequence[int] = (),
                      model_target: ModelTarget | None = None, shard_count: int | None = None,
                      shard_ids: Sequence[int] | None = None, settle_heap: bool = False, **bot_options: Any) -> int:
    """Run the bot until it is closed (SIGTERM, Ctrl-C); returns the exit code. The token is never logged.

    Once ready, it says once (in the log) what of its setup is missing: the doctor's quick checks. With
    `settle_heap` (a process of its own, `chronicle run`), what the process holds is frozen out of the garbage
    collector's passes after each gateway session's backfill (engine/heap.py).
    With `shard_count`, the bot runs discord.py's AutoShardedBot over `shard_ids` (every shard when
    None); over PostgreSQL, processes take turns to IDENTIFY through the database.
    """
    point_discord_at(api_base, gateway_url)
    if shard_count is not None and engine.shared:
        bot_options["identify_turn"] = lambda bucket: engine.take_turn(bucket, IDENTIFY_SPACING)
    bot = make_bot(engine, shard_count=shard_count, shard_ids=shard_ids, admin_role_ids=admin_role_ids,
                   sync_guild_ids=sync_guild_ids, model_target=model_target, settle_heap=settle_heap, **bot_options)
    _stop_on_sigterm(bot)
    setup_report = asyncio.create_task(_report_setup(bot, model_target), name="chronicle-setup-report")
    log.info("discord_starting", api_base=api_base, gateway=gateway_url, sync_guilds=list(sync_guild_ids),
             shard_count=shard_count, shard_ids=list(shard_ids) if shard_ids is not None else None)
    try:
        await bot.start(token)
    except discord.LoginFailure:
        raise EngineError("Discord rejected DISCORD_TOKEN: copy the bot's token again from the developer portal "
                          "(Bot → Reset Token)") from None
    except discord.PrivilegedIntentsRequired:
        raise EngineError("Discord refused the Message Content intent: turn it on in the developer portal "
                          "(Bot → Privileged Gateway Intents)") from None
    except (aiohttp.ClientConnectionError, OSError) as exc:
        raise EngineError(f"could not reach Discord at {api_base} ({type(exc).__name__}): check the network "
                          "or CHRONICLE_DISCORD_API_BASE") from None
    except discord.GatewayNotFound:
        raise EngineError("Discord did not say where its gateway is (GET /gateway failed): Discord is having trouble "
                          "(https://discordstatus.com); start again in a few minutes") from None
    except discord.DiscordServerError as exc:
        raise EngineError(f"Discord answered {exc.status} {_route(exc)} while Chronicle was starting, after its "
                          "retries: Discord is having trouble (https://discordstatus.com); start again in a few "
                          "minutes") from None
    except discord.HTTPException as exc:
        raise EngineError(f"Discord refused {_route(exc)} while Chronicle was starting ({exc.status}: "
                          f"{exc.text or 'no reason given'})") from None
    finally:
        setup_report.cancel()
        if not bot.is_closed():
            await bot.close()
    return 0


async def _report_setup(bot: ChronicleBot, target: ModelTarget | None) -> None:
    """Run the start-up checks once; a check that breaks is logged, never fatal."""
    try:
        await startup_report(bot, target)
    except asyncio.CancelledError:
        raise
    except Exception:  # noqa: BLE001 — the report is advice; the bot runs on
        log.exception("setup_report_failed")



def _route(exc: discord.HTTPException) -> str:
    """'GET /users/@me' for the request an HTTP error answered."""
    response = exc.response
    method = getattr(response, "method", "")
    path = getattr(getattr(response, "url", None), "path", "")
    return f"to {method} {path}".strip() if method or path else "a request"
