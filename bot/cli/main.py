"""The `chronicle` command: the only place that wires settings, logging, the engine and a frontend."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bot.cli import run, story  # noqa: F401  (their subcommands register themselves)
from bot.cli.common import (
    COMMANDS,
    EXTRA_PARSERS,
    Parser,
    bounded,
    command,
    database_of,
    log,
    model_from_settings,
    open_engine,
    with_engine,
)
from config.logging import configure_logging
from config.settings import Settings, SettingsError, check_database, load_settings
from engine import Engine, EngineError, EventView, damage_report
from engine.storage import is_database_url
from engine.text import TerminalSafe


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = Parser(prog="chronicle", description="Chronicle: event-sourced roleplay for Discord.")
    common = Parser(add_help=False)
    common.add_argument("--database", metavar="PATH_OR_URL",
                        help="a SQLite file or a postgresql:// URL (default: CHRONICLE_DATABASE or data/chronicle.db)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("migrate", parents=[common], help="apply pending database migrations")
    sub.add_parser("chats", parents=[common], help="list chats with their ids")
    p = sub.add_parser("reproject", parents=[common], help="rebuild the world (or one chat) from the event log")
    p.add_argument("--chat", help="rebuild only this chat's rows")
    sub.add_parser("check", parents=[common], help="compare the live world with a fresh rebuild; exit 1 on drift")
    p = sub.add_parser("events", parents=[common], help="show the newest events, or every event after a seq")
    p.add_argument("--chat", help="only this chat's events")
    p.add_argument("--limit", type=bounded(1, 2**62), help="at most this many (default: the newest 20; with --after "
                   "or --all, no limit)")
    start = p.add_mutually_exclusive_group()
    start.add_argument("--after", type=bounded(0, 2**62), metavar="SEQ", help="every event after this seq, oldest "
                       "first")
    start.add_argument("--all", action="store_true", help="the whole log, oldest first")
    p.add_argument("--json", action="store_true", help="one JSON object per line (JSON Lines)")
    p = sub.add_parser("demo-data", parents=[common], help="fill the database with a generated story world")
    p.add_argument("--chats", type=bounded(1, 100_000), default=5)
    p.add_argument("--messages", type=bounded(1, 1_000_000), default=100, help="messages per chat")
    p.add_argument("--seed", type=bounded(-(2**62), 2**62), default=7)
    for extra in (_copy_parser, _console_parser, *EXTRA_PARSERS):
        extra(sub, common)
    return parser


@command("migrate")
async def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    async def body(engine: Engine) -> int:
        print(f"database {engine.location} is up to date")
        return 0
    return await with_engine(args, settings, body)


@command("chats")
async def _chats(args: argparse.Namespace, settings: Settings) -> int:
    async def body(engine: Engine) -> int:
        chats = await engine.reads.list_chats()
        for chat in chats:
            print(f"{chat.chat_id}  {chat.status:5}  guild {chat.guild_id}  channel {chat.channel_id}  {chat.anchor}")
        if not chats:
            print("no chats yet")
        return 0
    return await with_engine(args, settings, body, read_only=True)


@command("reproject")
async def _reproject(args: argparse.Namespace, settings: Settings) -> int:
    async def body(engine: Engine) -> int:
        started = time.perf_counter()
        if args.chat:
            count = await engine.maintenance.reproject_chat(args.chat)
            what = f"chat {args.chat}"
        else:
            count = await engine.maintenance.rebuild()
            what = "the world"
        elapsed = time.perf_counter() - started
        print(f"reprojected {what}: {count} events in {elapsed:.2f}s ({count / max(elapsed, 1e-9):,.0f} events/s)")
        return 0
    return await with_engine(args, settings, body)


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
        report = await engine.maintenance.check()
        for line in report.differences:
            print(line)
        verdict = "clean" if report.clean else f"DRIFT: {len(report.differences)} difference(s)"
        print(f"check: {report.events} events replayed, {report.tables_checked} tables compared: {verdict}")
        return 0 if report.clean else 1
    return await with_engine(args, settings, body, read_only=True)


@command("events")
async def _events(args: argparse.Namespace, settings: Settings) -> int:
    async def body(engine: Engine) -> int:
        if args.all or args.after is not None:
            pages = engine.reads.event_pages(after=args.after or 0, chat_id=args.chat, limit=args.limit)
        else:
            pages = engine.reads.event_pages(newest=args.limit or 20, chat_id=args.chat, limit=args.limit or 20)
        async for page in pages:  # printed as read: any length of log in constant memory
            for event in page:
                print(_event_line(event, as_json=args.json))
            sys.stdout.flush()
        return 0
    return await with_engine(args, settings, body, read_only=True)


def _event_line(event: EventView, *, as_json: bool) -> str:
    if as_json:
        return json.dumps({"seq": event.seq, "kind": event.kind, "stream": event.stream, "chat_id": event.chat_id,
                           "actor_id": event.actor_id, "recorded_at": event.recorded_at, "payload": event.payload},
                          ensure_ascii=False)
    summary = ", ".join(f"{k}={str(v)[:40]!r}" for k, v in list(event.payload.items())[:4])
    return f"{event.seq:>8}  {event.recorded_at[:19]}  {event.kind:<24} {summary}"


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
    return await with_engine(args, settings, body)



def _copy_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("copy", help="copy a whole event log into a new, empty database and rebuild its world there")
    p.add_argument("--from", dest="source", required=True, metavar="PATH_OR_URL", help="the database to copy")
    p.add_argument("--to", dest="target", required=True, metavar="PATH_OR_URL",
                   help="the new database (a postgresql:// URL or a SQLite file); its log must be empty")


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
            count = await engine.maintenance.copy_log_from(source)
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


def console_history(database: Path | str) -> Path:
    """The console's line history: next to the SQLite file (the data directory), or in data/ for a URL."""
    text = str(database)
    return (Path("data") if "://" in text else Path(text).parent) / "console_history"


@command("console")
async def _console(args: argparse.Namespace, settings: Settings) -> int:
    from bot.console.app import Console
    from bot.console.terminal import run_terminal

    engine = await open_engine(settings, args.database)  # a storage fault is one line before any model starts
    try:
        async with model_from_settings(settings, notice=lambda line: print(line, file=sys.stderr)) as model:
            engine.model = model
            console = Console(engine, channel=args.channel, speaker=args.speaker,
                              history=console_history(args.database or settings.database))
            await (run_terminal(console) if console.at_a_terminal() else console.run())
    finally:
        await engine.close()
    return 0


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
        run = COMMANDS["table"] if getattr(args, "action_path", None) else COMMANDS[args.command]
        return asyncio.run(run(args, settings))
    except EngineError as exc:
        if settings.log_format == "json":
            log.error("chronicle_failed", error=str(exc))
        else:
            print(f"chronicle: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # whoever read the output stopped early (`chronicle events --all | head`)
        if sys.__stdout__ is not None:  # nothing more to flush at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.__stdout__.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
