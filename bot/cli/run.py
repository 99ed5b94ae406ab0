"""`chronicle run` (the Discord bot, bot/discord/main.py) and `chronicle doctor` (every setup check)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.cli.common import EXTRA_PARSERS, command, log, model_from_settings, open_engine
from config.settings import Settings
from engine import EngineError

if TYPE_CHECKING:
    from bot.discord.doctor import ModelTarget

def _add_run_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    sub.add_parser("run", parents=[common], help="start the Discord bot (needs DISCORD_TOKEN)")


EXTRA_PARSERS.append(_add_run_parser)


@command("run")
async def _run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.discord.main import run_discord

    token = settings.discord_token.get_secret_value().strip() if settings.discord_token else ""
    if not token:
        raise EngineError("DISCORD_TOKEN is not set: create a bot in the Discord developer portal (see README)")
    engine = await open_engine(settings, args.database)  # a storage fault is one line before any model starts
    try:
        async with model_from_settings(settings, notice=notice_for(settings)) as model:
            engine.model = model
            return await run_discord(engine, token, api_base=settings.discord_api_base,
                                     gateway_url=settings.gateway_url, admin_role_ids=settings.admin_role_ids,
                                     sync_guild_ids=settings.sync_guild_ids,
                                     model_target=model_target(settings, model), shard_count=settings.shard_count,
                                     shard_ids=settings.shard_ids, settle_heap=True)
    finally:
        await engine.close()


def notice_for(settings: Settings) -> Callable[[str], None]:
    """Where start-up notices go: a log record with CHRONICLE_LOG_FORMAT=json (stderr stays JSON), else stderr."""
    if settings.log_format == "json":
        return lambda line: log.warning("notice", message=line)
    return lambda line: print(line, file=sys.stderr)


def model_target(settings: Settings, model: Any) -> ModelTarget | None:
    """The doctor's view of the model server (the configured one, or the bundled one's)."""
    from bot.discord.doctor import ModelTarget

    base_url = getattr(model, "base_url", None)
    if not isinstance(base_url, str):
        return None
    return ModelTarget(base_url, settings.llm_api_key.get_secret_value(), str(getattr(model, "model", "")),
                       settings.llm_context_tokens)


# --- `chronicle doctor`: every setup check, one line each (bot/discord/doctor.py) ---------------------------

def _add_doctor_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    sub.add_parser("doctor", parents=[common], help="check the setup (Discord, the model, the database); "
                                                    "exit 1 if something needs fixing")


EXTRA_PARSERS.append(_add_doctor_parser)


@command("doctor")
async def _doctor(args: argparse.Namespace, settings: Settings) -> int:
    from bot.discord import doctor
    from bot.discord.client import ChronicleBot
    from bot.discord.main import point_discord_at

    checks: list[doctor.Check] = []
    async with contextlib.AsyncExitStack() as stack:
        try:
            model = await stack.enter_async_context(model_from_settings(settings, notice=notice_for(settings)))
        except EngineError as exc:
            model = None
            checks.append(doctor.Check("Language model", False, str(exc), "see README: Choosing a model"))
        engine = await open_engine(settings, args.database, model)
        stack.push_async_callback(engine.close)
        token = settings.discord_token.get_secret_value().strip() if settings.discord_token else ""
        point_discord_at(settings.discord_api_base, settings.gateway_url)
        checks = await doctor.check_with_token(engine, token, ChronicleBot,
                                               sync_guild_ids=settings.sync_guild_ids) + checks
        if model is not None:
            checks += await doctor.model_checks(model, model_target(settings, model))
        checks += await doctor.database_checks(engine)
    print(doctor.report(checks))
    failed = sum(check.ok is False for check in checks)
    print("doctor: everything Chronicle needs is in place" if not failed else
          f"doctor: {failed} thing{'s' if failed != 1 else ''} to fix (see the lines marked ✗)")
    return 0 if not failed else 1
