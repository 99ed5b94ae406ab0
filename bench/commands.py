"""Section 1: a person's message through the public engine API, with 1k…1M events in the log."""

from __future__ import annotations

import asyncio
import functools
import time
import uuid
from pathlib import Path

from bench.common import Figure, Settings, Table, Target, copy_db, percentile, ratio
from engine import Actor, Engine, projection, store
from engine.app import utc_now
from engine.commands import EndChat, SayLine, StartChat
from engine.events import ChatEnded, LineSaid
from engine.storage.sqlite import Synchronous
from engine.store import NewEvent, Stamp

ADMIN = Actor(user_id="bench-admin", guild_id="demo-guild-7", display_name="Bench", is_admin=True)
PERSON = Actor(user_id="demo-user-0", guild_id="demo-guild-7", display_name="Player 0")
LINE = "Did you hear what happened at the Old Mill last night? The bells rang three times at dawn."


async def timed_messages(engine: Engine, count: int, warmup: int = 50) -> tuple[float, list[float]]:
    """Record `count` messages in a fresh chat; return (commands/s, sorted latencies in seconds)."""
    channel = f"bench-{uuid.uuid4().hex[:10]}"
    await engine.perform(StartChat(actor=ADMIN, channel_id=channel, character="Aria", guest="Bram"))
    for i in range(warmup):
        await engine.perform(SayLine(actor=PERSON, channel_id=channel, message_id=f"{channel}-w{i}", text=LINE))
    latencies = []
    started = time.perf_counter()
    for i in range(count):
        t = time.perf_counter()
        await engine.perform(SayLine(actor=PERSON, channel_id=channel, message_id=f"{channel}-m{i}", text=LINE))
        latencies.append(time.perf_counter() - t)
    elapsed = time.perf_counter() - started
    await engine.perform(EndChat(actor=ADMIN, channel_id=channel))
    return count / elapsed, sorted(latencies)


async def timed_core(engine: Engine, count: int, warmup: int = 50) -> tuple[float, list[float]]:
    """The engine's core transaction alone: append one user_said, project it, advance the cursor (one hop)."""
    channel = f"bench-{uuid.uuid4().hex[:10]}"
    chat = await engine.perform(StartChat(actor=ADMIN, channel_id=channel, character="Aria", guest="Bram"))
    stream = f"chat:{chat.chat_id}"

    def one(conn, message_id: str) -> None:
        event = LineSaid(chat_id=chat.chat_id, message_id=message_id, author_id=PERSON.user_id, persona_name="Wren",
                         text=LINE)
        version = store.stream_version(conn, stream)
        recorded = store.append(conn, stream, version, [NewEvent(event, PERSON.guild_id, PERSON.user_id)],
                                stamp=Stamp(utc_now()), idempotency_key=f"message:{message_id}")
        projection.apply_new(conn, recorded)

    for i in range(warmup):
        await engine.db.write(functools.partial(one, message_id=f"{channel}-w{i}"))
    latencies = []
    started = time.perf_counter()
    for i in range(count):
        t = time.perf_counter()
        await engine.db.write(functools.partial(one, message_id=f"{channel}-m{i}"))
        latencies.append(time.perf_counter() - t)
    elapsed = time.perf_counter() - started
    await engine.db.write(functools.partial(_end_behind_the_engine, chat_id=chat.chat_id))
    return count / elapsed, sorted(latencies)


def _end_behind_the_engine(conn, chat_id: str) -> None:
    """End a chat on the core path too: its lines were written behind the engine's back, so the engine's known
    version of it is stale (as after a write from another process) and its end_chat would be a conflict."""
    stream = f"chat:{chat_id}"
    recorded = store.append(conn, stream, store.stream_version(conn, stream),
                            [NewEvent(ChatEnded(chat_id=chat_id, ended_by=ADMIN.user_id), ADMIN.guild_id,
                                      ADMIN.user_id)], stamp=Stamp(utc_now()))
    projection.apply_new(conn, recorded)


async def _run(paths: dict[str, Path], settings: Settings, sync: Synchronous, measure=timed_messages
               ) -> dict[str, dict[str, Figure]]:
    engines = {label: await Engine.open(path, synchronous=sync) for label, path in paths.items()}
    out = {label: {"tput": Figure(), "p50": Figure(), "p99": Figure(), "ratio": Figure()} for label in paths}
    first = next(iter(paths))
    try:
        for _ in range(settings.runs):
            per_round = {}
            for label, engine in engines.items():  # alternate sizes within each round
                tput, lat = await measure(engine, settings.commands)
                per_round[label] = tput
                out[label]["tput"].add(tput)
                out[label]["p50"].add(percentile(lat, 0.50))
                out[label]["p99"].add(percentile(lat, 0.99))
            for label in paths:
                out[label]["ratio"].add(ratio(per_round[first], per_round[label]))
    finally:
        for engine in engines.values():
            await engine.close()
    return out


def run(datasets: dict[str, Path], settings: Settings, counts: dict[str, int]) -> tuple[list[Table], list[Target]]:
    """Measure and tabulate section 1."""
    labels: list[str] = [label for label in ("1k", "100k", "1M") if label in datasets]
    tables: list[Table] = []
    results: dict[str, dict[str, dict[str, Figure]]] = {}
    syncs: tuple[Synchronous, ...] = ("NORMAL", "FULL")
    for sync in syncs:
        paths = {label: copy_db(datasets[label], settings.workdir / f"s1-{label}.db") for label in labels}
        results[sync] = asyncio.run(_run(paths, settings, sync))
    paths = {label: copy_db(datasets[label], settings.workdir / f"s1-{label}.db") for label in labels}
    results["core"] = asyncio.run(_run(paths, settings, "NORMAL", timed_core))
    table = Table("1. Command cost vs log size (SayLine through the engine API)",
                  ["log size", "synchronous", "commands/s", "p50 latency", "p99 latency", f"slowdown vs {labels[0]}"])
    for mode, per_label in results.items():
        for label in labels:
            f = per_label[label]
            what = "NORMAL, core only" if mode == "core" else mode
            table.rows.append([f"{label} ({counts[label]:,} events)", what, f["tput"].fmt(),
                               f["p50"].fmt(" ms", 2, 1e3), f["p99"].fmt(" ms", 2, 1e3), f["ratio"].fmt("×", 2)])
    table.notes.append(f"{settings.commands:,} timed commands per run after 50 warm-up ones, each in a new chat; "
                       f"{settings.runs} runs; the sizes alternate within each run; slowdown = commands/s at "
                       f"{labels[0]} ÷ at this size, per run.")
    table.notes.append("\"core only\" is the engine's append_and_apply transaction alone (append one user_said, "
                       "project it, advance the cursor, commit; one thread hop), without the command's validation, "
                       "decision reads and the returned view.")
    tables.append(table)
    normal = results["NORMAL"]
    big, small = labels[-1], labels[0]
    targets = [
        Target(f"throughput at {big} within 1.3× of {small}", normal[big]["ratio"].fmt("×", 2),
               normal[big]["ratio"].median <= 1.3),
        Target("≥ 7,000 commands/s (synchronous=NORMAL)", f"{normal[small]['tput'].median:,.0f}/s at {small}, "
               f"{normal[big]['tput'].median:,.0f}/s at {big}", min(normal[small]["tput"].median,
                                                                   normal[big]["tput"].median) >= 7000),
        Target("p99 ≤ 3 ms", f"{max(normal[label]['p99'].median for label in labels) * 1e3:.2f} ms (worst size)",
               max(normal[label]["p99"].median for label in labels) <= 0.003),
    ]
    return tables, targets
