"""What every `chronicle` subcommand shares: the registry, the one-line argument errors, and opening the engine."""

from __future__ import annotations

import argparse
import re
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, NoReturn

import structlog

from config.settings import Settings, check_database
from engine import Engine, EngineError
from engine.storage import open_storage, redact
from engine.storage.port import is_database_error

Handler = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]
COMMANDS: dict[str, Handler] = {}
CLI_USER = "local-admin"
log = structlog.get_logger(__name__)


def command(name: str) -> Callable[[Handler], Handler]:
    """Register a subcommand handler."""

    def register(fn: Handler) -> Handler:
        COMMANDS[name] = fn
        return fn

    return register


class Parser(argparse.ArgumentParser):
    """argparse, with a bad command line answered in one line (and exit 2)."""

    def error(self, message: str) -> NoReturn:
        """Print `chronicle: <what is wrong> (see … --help)` and exit 2."""
        self.exit(2, f"chronicle: {message} (see `{self.prog} --help`)\n")


def bounded(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` to `high`, checked before anything uses it."""

    def parse(text: str) -> int:
        if re.fullmatch(r"[+-]?[0-9]{1,19}", text.strip()) is None or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"must be a whole number from {low:,} to {high:,}, not '{text[:20]}'")
        return int(text)

    parse.__name__ = "number"
    return parse


EXTRA_PARSERS: list[Callable[[argparse._SubParsersAction, argparse.ArgumentParser], None]] = []


def model_from_settings(settings: Settings, notice: Callable[[str], None] = print) -> Any:
    """An async context manager yielding the configured language model (bundled demo model when no URL)."""
    from engine.llm.factory import open_model

    return open_model(base_url=settings.llm_base_url, api_key=settings.llm_api_key.get_secret_value(),
                      model=settings.llm_model, temperature=settings.llm_temperature,
                      max_tokens=settings.llm_max_tokens, timeout=settings.llm_timeout,
                      max_retries=settings.llm_max_retries, context_tokens=settings.llm_context_tokens,
                      reply_deadline=settings.llm_reply_deadline, notice=notice)


def database_of(settings: Settings, database: str | None) -> str:
    """The database to open: `--database` (checked like CHRONICLE_DATABASE), else the setting."""
    if database is None:
        return settings.database
    try:
        return check_database(database)
    except ValueError as exc:
        raise EngineError(f"--database: {exc}") from None


async def open_engine(settings: Settings, database: str | None, model: Any = None, *,
                      read_only: bool = False) -> Engine:
    """The engine on the configured database, with the model's budget from settings. `read_only` (a command that
    only reads): an existing database opened for reading, never created, migrated or written."""
    location = database_of(settings, database)
    try:
        if read_only:
            return Engine(await open_storage(location, read_only=True))
        return await Engine.open(location, model=model, context_tokens=settings.llm_context_tokens,
                                 reply_tokens=settings.llm_max_tokens,
                                 max_concurrent_replies=settings.max_concurrent_replies,
                                 max_queued_replies=settings.max_queued_replies, max_chain=settings.max_chain,
                                 auto_memory=settings.auto_memory_on, auto_memory_lines=settings.auto_memory_lines)
    except Exception as exc:
        if not is_database_error(exc) and not isinstance(exc, OSError):
            raise
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
        raise EngineError(f"could not open the database {redact(location)}: {reason}") from None


async def with_engine(args: argparse.Namespace, settings: Settings, body: Callable[[Engine], Awaitable[int]], *,
                      read_only: bool = False) -> int:
    """Run `body` on the engine of `--database` (or the setting), and close it (`read_only`: see open_engine)."""
    engine = await open_engine(settings, args.database, read_only=read_only)
    try:
        return await body(engine)
    finally:
        await engine.close()
