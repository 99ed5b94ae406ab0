"""The `chronicle` command: the only place that wires settings, logging, the engine and a frontend."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import structlog

from config.logging import configure_logging
from config.settings import Settings, SettingsError, check_database, load_settings
from engine import Actor, Engine, EngineError, damage_report
from engine.storage import is_database_url, redact
from engine.storage.port import is_database_error
from engine.text import TerminalSafe

if TYPE_CHECKING:
    from bot.doctor import ModelTarget

Handler = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]
_COMMANDS: dict[str, Handler] = {}
CLI_USER = "local-admin"
log = structlog.get_logger(__name__)


def command(name: str) -> Callable[[Handler], Handler]:
    """Register a subcommand handler."""

    def register(fn: Handler) -> Handler:
        _COMMANDS[name] = fn
        return fn

    return register


class _Parser(argparse.ArgumentParser):
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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = _Parser(prog="chronicle", description="Chronicle: event-sourced roleplay for Discord.")
    common = _Parser(add_help=False)
    common.add_argument("--database", metavar="PATH_OR_URL",
                        help="a SQLite file or a postgresql:// URL (default: CHRONICLE_DATABASE or data/chronicle.db)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("migrate", parents=[common], help="apply pending database migrations")
    sub.add_parser("chats", parents=[common], help="list chats with their ids")
    p = sub.add_parser("reproject", parents=[common], help="rebuild the world (or one chat) from the event log")
    p.add_argument("--chat", help="rebuild only this chat's rows")
    p = sub.add_parser("rewind", parents=[common], help="rewind an open chat")
    p.add_argument("--chat", required=True, help="chat id (see `chronicle chats`)")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--to-seq", type=bounded(1, 2**62), help="keep the chat's events up to this seq")
    group.add_argument("--messages", type=bounded(1, 10_000), help="undo this many of the newest messages")
    sub.add_parser("check", parents=[common], help="compare the live world with a fresh rebuild; exit 1 on drift")
    p = sub.add_parser("events", parents=[common], help="show the newest events")
    p.add_argument("--chat", help="only this chat's events")
    p.add_argument("--limit", type=bounded(1, 100_000), default=20)
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p = sub.add_parser("export", parents=[common], help="write a chat's events (JSONL) and transcript (Markdown)")
    p.add_argument("--chat", required=True)
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p = sub.add_parser("demo-data", parents=[common], help="fill the database with a generated story world")
    p.add_argument("--chats", type=bounded(1, 100_000), default=5)
    p.add_argument("--messages", type=bounded(1, 1_000_000), default=100, help="messages per chat")
    p.add_argument("--seed", type=bounded(-(2**62), 2**62), default=7)
    for extra in _EXTRA_PARSERS:
        extra(sub, common)
    return parser


_EXTRA_PARSERS: list[Callable[[argparse._SubParsersAction, argparse.ArgumentParser], None]] = []


def model_from_settings(settings: Settings, notice: Callable[[str], None] = print) -> Any:
    """An async context manager yielding the configured language model (bundled demo model when no URL)."""
    from engine.llm.factory import open_model

    return open_model(base_url=settings.llm_base_url, api_key=settings.llm_api_key.get_secret_value(),
                      model=settings.llm_model, temperature=settings.llm_temperature,
                      max_tokens=settings.llm_max_tokens, timeout=settings.llm_timeout,
                      max_retries=settings.llm_max_retries, context_tokens=settings.llm_context_tokens,
                      notice=notice)


def database_of(settings: Settings, database: str | None) -> str:
    """The database to open: `--database` (checked like CHRONICLE_DATABASE), else the setting."""
    if database is None:
        return settings.database
    try:
        return check_database(database)
    except ValueError as exc:
        raise EngineError(f"--database: {exc}") from None


async def open_engine(settings: Settings, database: str | None, model: Any = None) -> Engine:
    """The engine on the configured database, with the model's budget from settings."""
    location = database_of(settings, database)
    try:
        return await Engine.open(location, model=model, context_tokens=settings.llm_context_tokens,
                                 reply_tokens=settings.llm_max_tokens,
                                 max_concurrent_replies=settings.max_concurrent_replies,
                                 max_queued_replies=settings.max_queued_replies)
    except Exception as exc:
        if not is_database_error(exc) and not isinstance(exc, OSError):
            raise
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
        raise EngineError(f"could not open the database {redact(location)}: {reason}") from None


async def _with_engine(args: argparse.Namespace, settings: Settings, body: Callable[[Engine], Awaitable[int]]) -> int:
    engine = await open_engine(settings, args.database)
    try:
        return await body(engine)
    finally:
        await engine.close()


@command("migrate")
async def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    async def body(engine: Engine) -> int:
        print(f"database {engine.location} is up to date")
        return 0
    return await _with_engine(args, settings, body)


@command("chats")
async def _chats(args: argparse.Namespace, settings: Settings) -> int:
    async def body(engine: Engine) -> int:
        chats = await engine.list_chats()
        for chat in chats:
            print(f"{chat.chat_id}  {chat.status:5}  guild {chat.guild_id}  channel {chat.channel_id}  {chat.anchor}")
        if not chats:
            print("no chats yet")
        return 0
    return await _with_engine(args, settings, body)


@command("reproject")
async def _reproject(args: argparse.Namespace, settings: Settings) -> int:
    async def body(engine: Engine) -> int:
        started = time.perf_counter()
        if args.chat:
            count = await engine.reproject_chat(args.chat)
            what = f"chat {args.chat}"
        else:
            count = await engine.rebuild()
            what = "the world"
        elapsed = time.perf_counter() - started
        print(f"reprojected {what}: {count} events in {elapsed:.2f}s ({count / max(elapsed, 1e-9):,.0f} events/s)")
        return 0
    return await _with_engine(args, settings, body)


@command("rewind")
async def _rewind(args: argparse.Namespace, settings: Settings) -> int:
    async def body(engine: Engine) -> int:
        chat = await engine.chat_by_id(args.chat)
        if chat.status != "open":
            raise EngineError(f"chat {chat.chat_id} has ended; only an open chat can be rewound")
        actor = Actor(user_id=CLI_USER, guild_id=chat.guild_id, display_name="console admin", is_admin=True)
        result = await engine.rewind(actor, chat.channel_id, to_seq=args.to_seq, messages=args.messages)
        print(f"rewound {chat.chat_id} to event {result.to_seq}: {result.events_undone} events undone, "
              f"{len(result.removed_messages)} messages removed (all events stay in the log)")
        return 0
    return await _with_engine(args, settings, body)


@command("check")
async def _check(args: argparse.Namespace, settings: Settings) -> int:
    location = database_of(settings, args.database)
    path = None if is_database_url(location) else Path(location)
    problems = await asyncio.to_thread(damage_report, path) if path is not None and path.exists() else []
    if problems:
        for line in problems:
            print(line)
        print(f"check: the database file is damaged ({len(problems)} problem(s) found); Chronicle will not write to "
              "it. Restore it from a backup.")
        return 1

    async def body(engine: Engine) -> int:
        report = await engine.check()
        for line in report.differences:
            print(line)
        verdict = "clean" if report.clean else f"DRIFT: {len(report.differences)} difference(s)"
        print(f"check: {report.events} events replayed, {report.tables_checked} tables compared: {verdict}")
        return 0 if report.clean else 1
    return await _with_engine(args, settings, body)


@command("events")
async def _events(args: argparse.Namespace, settings: Settings) -> int:
    async def body(engine: Engine) -> int:
        for event in await engine.recent_events(chat_id=args.chat, limit=args.limit):
            if args.json:
                print(json.dumps({"seq": event.seq, "kind": event.kind, "stream": event.stream,
                                  "chat_id": event.chat_id, "actor_id": event.actor_id,
                                  "recorded_at": event.recorded_at, "payload": event.payload}, ensure_ascii=False))
            else:
                summary = ", ".join(f"{k}={str(v)[:40]!r}" for k, v in list(event.payload.items())[:4])
                print(f"{event.seq:>8}  {event.recorded_at[:19]}  {event.kind:<24} {summary}")
        return 0
    return await _with_engine(args, settings, body)


@command("export")
async def _export(args: argparse.Namespace, settings: Settings) -> int:
    async def body(engine: Engine) -> int:
        exported = await engine.export_chat(args.chat)
        events_file, transcript_file = await asyncio.to_thread(exported.write_to, args.out)
        print(f"wrote {events_file} and {transcript_file}")
        return 0
    return await _with_engine(args, settings, body)


@command("demo-data")
async def _demo_data(args: argparse.Namespace, settings: Settings) -> int:
    from engine.demo import fill

    if args.chats < 1 or args.messages < 1:
        raise EngineError("--chats and --messages must be at least 1")

    def progress(done: int, total: int) -> None:
        if _raw_terminal():  # our own text, written raw: a progress line that rewrites itself
            print(f"\rdemo-data: {done}/{total} chats", end="", file=sys.__stderr__, flush=True)

    async def body(engine: Engine) -> int:
        started = time.perf_counter()
        stats = await fill(engine, chats=args.chats, messages=args.messages, seed=args.seed, progress=progress)
        elapsed = time.perf_counter() - started
        if _raw_terminal():
            print(file=sys.__stderr__)
        print(f"demo-data: {stats.chats} chats, {stats.messages} messages; the log now holds {stats.events} events "
              f"({elapsed:.1f}s)")
        return 0
    return await _with_engine(args, settings, body)



def _copy_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("copy", help="copy a whole event log into a new, empty database and rebuild its world there")
    p.add_argument("--from", dest="source", required=True, metavar="PATH_OR_URL", help="the database to copy")
    p.add_argument("--to", dest="target", required=True, metavar="PATH_OR_URL",
                   help="the new database (a postgresql:// URL or a SQLite file); its log must be empty")


_EXTRA_PARSERS.append(_copy_parser)


@command("copy")
async def _copy(args: argparse.Namespace, settings: Settings) -> int:
    try:
        source = check_database(args.source)
    except ValueError as exc:
        raise EngineError(f"--from: {exc}") from None
    engine = await open_engine(settings, args.target)
    try:
        started = time.perf_counter()
        try:
            count = await engine.copy_log_from(source)
        except FileNotFoundError as exc:
            raise EngineError(f"--from: {exc}") from None
        print(f"copied {count} events into {engine.location} and rebuilt its world in "
              f"{time.perf_counter() - started:.1f}s; `chronicle check --database …` compares it with a fresh rebuild")
        return 0
    finally:
        await engine.close()


def _console_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("console", parents=[common], help="play a story in the terminal")
    p.add_argument("--channel", default="main", help="which story (one per channel name)")
    p.add_argument("--as", dest="speaker", default="You", help="the name you speak under without a persona")


_EXTRA_PARSERS.append(_console_parser)


def console_history(database: Path | str) -> Path:
    """The console's line history: next to the SQLite file (the data directory), or in data/ for a URL."""
    text = str(database)
    return (Path("data") if "://" in text else Path(text).parent) / "console_history"


@command("console")
async def _console(args: argparse.Namespace, settings: Settings) -> int:
    from bot.console import Console

    engine = await open_engine(settings, args.database)  # a storage fault is one line before any model starts
    try:
        async with model_from_settings(settings, notice=lambda line: print(line, file=sys.stderr)) as model:
            engine.model = model
            await Console(engine, channel=args.channel, speaker=args.speaker,
                          history=console_history(args.database or settings.database)).run()
    finally:
        await engine.close()
    return 0


# --- `chronicle card export|import`: character cards as files ------------------------------------

def _card_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("card", help="export or import a character card file")
    cards = p.add_subparsers(dest="card_command", required=True, metavar="ACTION")
    e = cards.add_parser("export", parents=[common], help="write a card as V3 JSON or PNG (by --out's suffix)")
    e.add_argument("name", help="the character's name")
    e.add_argument("--out", type=Path, required=True, help="FILE.json, FILE.png, or FILE (both are written)")
    e.add_argument("--guild", default="console", help="the server id (default: the console's world)")
    i = cards.add_parser("import", parents=[common], help="import a card file (.png, .json, .charx)")
    i.add_argument("path", type=Path)
    i.add_argument("--guild", default="console", help="the server id (default: the console's world)")
    i.add_argument("--name", help="import it under this name")
    i.add_argument("--replace", action="store_true", help="replace the character of the same name")


_EXTRA_PARSERS.append(_card_parser)


@command("card")
async def _card(args: argparse.Namespace, settings: Settings) -> int:
    from bot.console_cards import read_upload, write_card

    async def body(engine: Engine) -> int:
        if args.card_command == "export":
            for path in write_card(await engine.export_card(args.guild, args.name), str(args.out)):
                print(f"wrote {path}")
            return 0
        data, filename = read_upload(str(args.path))
        actor = Actor(user_id=CLI_USER, guild_id=args.guild, display_name="console admin", is_admin=True)
        result = await engine.import_card(actor, data, filename, name=args.name, replace=args.replace)
        print(f"imported {result.character.name} ({result.spec} {result.source_format}, "
              f"{result.lore_entries} lore entries){' — replaced the old card' if result.replaced else ''}")
        return 0
    return await _with_engine(args, settings, body)


# --- `chronicle run`: the Discord bot (bot/discord_main.py) ---------------------------------------

def _add_run_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    sub.add_parser("run", parents=[common], help="start the Discord bot (needs DISCORD_TOKEN)")


_EXTRA_PARSERS.append(_add_run_parser)


@command("run")
async def _run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.discord_main import run_discord

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
                                     shard_ids=settings.shard_ids)
    finally:
        await engine.close()


def notice_for(settings: Settings) -> Callable[[str], None]:
    """Where start-up notices go: a log record with CHRONICLE_LOG_FORMAT=json (stderr stays JSON), else stderr."""
    if settings.log_format == "json":
        return lambda line: log.warning("notice", message=line)
    return lambda line: print(line, file=sys.stderr)


def model_target(settings: Settings, model: Any) -> ModelTarget | None:
    """The doctor's view of the model server (the configured one, or the bundled one's)."""
    from bot.doctor import ModelTarget

    base_url = getattr(model, "base_url", None)
    if not isinstance(base_url, str):
        return None
    return ModelTarget(base_url, settings.llm_api_key.get_secret_value(), str(getattr(model, "model", "")),
                       settings.llm_context_tokens)


# --- `chronicle doctor`: every setup check, one line each (bot/doctor.py) ---------------------------

def _add_doctor_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    sub.add_parser("doctor", parents=[common], help="check the setup (Discord, the model, the database); "
                                                    "exit 1 if something needs fixing")


_EXTRA_PARSERS.append(_add_doctor_parser)


@command("doctor")
async def _doctor(args: argparse.Namespace, settings: Settings) -> int:
    from bot import doctor
    from bot.discord_main import point_discord_at

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
        checks = await doctor.check_with_token(engine, token, sync_guild_ids=settings.sync_guild_ids) + checks
        if model is not None:
            checks += await doctor.model_checks(model, model_target(settings, model))
        checks += await doctor.database_checks(engine)
    print(doctor.report(checks))
    failed = sum(check.ok is False for check in checks)
    print("doctor: everything Chronicle needs is in place" if not failed else
          f"doctor: {failed} thing{'s' if failed != 1 else ''} to fix (see the lines marked ✗)")
    return 0 if not failed else 1


def _raw_terminal() -> bool:
    """Whether the process's own stderr is a terminal (progress lines that rewrite themselves go there)."""
    return sys.__stderr__ is not None and sys.__stderr__.isatty()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse, load settings, run the subcommand; errors print one line and exit non-zero.

    Everything printed goes through TerminalSafe: names, lines and log fields can't carry escape codes
    to the terminal."""
    args = build_parser().parse_args(argv)
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = TerminalSafe(sys.stdout), TerminalSafe(sys.stderr)
    try:
        return _main(args)
    finally:
        sys.stdout, sys.stderr = streams


def _main(args: argparse.Namespace) -> int:
    """Run a parsed command line (stdout and stderr already neutralise control characters)."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"chronicle: setting error: {exc}", file=sys.stderr)
        return 2
    explicit = "log_level" in settings.model_fields_set
    configure_logging(settings.log_format, settings.log_level if args.command == "run" or explicit else "warning")
    try:
        return asyncio.run(_COMMANDS[args.command](args, settings))
    except EngineError as exc:
        if settings.log_format == "json":
            log.error("chronicle_failed", error=str(exc))
        else:
            print(f"chronicle: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
