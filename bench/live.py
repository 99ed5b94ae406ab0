"""Section 13: the rebuild (reproject) beside plain sqlite3's replay of a log of the same size, and with the
stories' commands running while it runs.

Plain: bench/raw.py's replay (one `json.loads` and one message row per event, one transaction) of a log of as
many events as the story database, on the same schema. Ours, quiet: `maintenance.rebuild` in a fresh process
(bench/rebuild.py). Ours, live: the same rebuild while SayLine commands arrive on a Poisson schedule across
CHATS chats (bench/openloop.py's clock: latency from the scheduled arrival to the answer).
"""

from __future__ import annotations

import asyncio
import functools
import json
import random
import time
from pathlib import Path
from typing import Any

from bench import report
from bench.commands import LINE, PERSON
from bench.common import Figure, Settings, Table, Target, copy_db, percentile, ratio, remove_db
from bench.openloop import CHATS, started_chats
from bench.raw import EVENT_SQL, MESSAGE_SQL, TEXT, _fresh, raw_replay
from bench.rebuild import rebuild_once
from engine import Engine
from engine.commands import SayLine
from engine.storage.sqlite import transaction

RATE = 200  # commands per second while the rebuild runs
RUNS = 1  # a 1M rebuild takes minutes on a shared machine, three times over per run


def plain_log(path: Path, count: int) -> Path:
    """A plain log of `count` one-line events with their message rows (what bench/raw.py's commands write)."""
    conn = _fresh(path)
    payload = json.dumps({"chat_id": "c", "text": TEXT})
    with transaction(conn):
        conn.executemany(EVENT_SQL, (("chat:c", i + 1, "c", payload, f"k{i}") for i in range(count)))
        conn.executemany(MESSAGE_SQL, ((f"m{i + 1}", "c", i + 1, TEXT) for i in range(count)))
    conn.close()
    return path


async def rebuild_with_commands(path: Path, rate: float, seed: int) -> tuple[int, float, list[float]]:
    """Rebuild while SayLines arrive at `rate`/s; return (events replayed, seconds, sorted command latencies)."""
    engine = await Engine.open(path)
    try:
        channels = await started_chats(engine, "rl")
        rng, loop = random.Random(seed), asyncio.get_running_loop()
        latencies: list[float] = []
        pending: list[asyncio.Future[Any]] = []

        def answered(arrival: float, _: object) -> None:
            latencies.append(time.perf_counter() - arrival)

        started = time.perf_counter()
        rebuild = asyncio.ensure_future(engine.maintenance.rebuild())
        due, index = loop.time(), 0
        while not rebuild.done():
            due += rng.expovariate(rate)
            await asyncio.sleep(max(0.0, due - loop.time()))
            arrival = time.perf_counter() - max(0.0, loop.time() - due)
            channel = rng.choice(channels)
            future = engine.perform(SayLine(actor=PERSON, channel_id=channel, message_id=f"{channel}-r{index}",
                                            text=LINE))
            future.add_done_callback(functools.partial(answered, arrival))
            pending.append(future)
            index += 1
        events = await rebuild
        elapsed = time.perf_counter() - started
        await asyncio.gather(*pending)
        return events, elapsed, sorted(latencies)
    finally:
        await engine.close()


def _measure(datasets: dict[str, Path], settings: Settings, counts: dict[str, int], labels: list[str]
             ) -> dict[str, dict[str, Figure]]:
    runs = RUNS
    f = {label: {k: Figure() for k in ("plain", "quiet", "share", "live", "live_share", "p50", "p99", "max",
                                       "commands", "longest")} for label in labels}
    for r in range(runs):
        for label in labels:  # plain, ours quiet, ours with commands: back to back for each size
            log = plain_log(settings.workdir / "s13-plain.db", counts[label])
            plain = raw_replay(log)
            remove_db(log)
            path = copy_db(datasets[label], settings.workdir / f"s13-{label}.db")
            quiet = rebuild_once(path)
            quiet_rate = quiet["events"] / quiet["seconds"]
            path = copy_db(datasets[label], settings.workdir / f"s13-{label}.db")
            events, seconds, lat = asyncio.run(rebuild_with_commands(path, RATE, seed=r))
            remove_db(path)
            g = f[label]
            g["plain"].add(plain)
            g["quiet"].add(quiet_rate)
            g["share"].add(ratio(quiet_rate, plain))
            g["live"].add(events / seconds)
            g["live_share"].add(ratio(events / seconds, plain))
            g["p50"].add(percentile(lat, 0.5))
            g["p99"].add(percentile(lat, 0.99))
            g["max"].add(lat[-1] if lat else 0.0)
            g["commands"].add(len(lat))
            g["longest"].add(ratio(lat[-1] if lat else 0.0, seconds))
    return f


def run(datasets: dict[str, Path], settings: Settings, counts: dict[str, int]) -> tuple[list[Table], list[Target]]:
    """Measure and tabulate section 13."""
    labels: list[str] = [label for label in ("100k", "1M") if label in datasets]
    f = _measure(datasets, settings, counts, labels)
    table = Table("13. Rebuild beside plain sqlite3, and with commands running",
                  ["log size", "plain sqlite3 replay", "rebuild, quiet", "÷ plain", "rebuild, commands running",
                   "÷ plain", "commands answered", "command p50", "command p99", "longest command"])
    for label in labels:
        g = f[label]
        table.rows.append([f"{label} ({counts[label]:,} events)", g["plain"].fmt(" ev/s"), g["quiet"].fmt(" ev/s"),
                           g["share"].fmt("×", 2), g["live"].fmt(" ev/s"), g["live_share"].fmt("×", 2),
                           g["commands"].fmt(), g["p50"].fmt(" ms", 1, 1e3), g["p99"].fmt(" ms", 1, 1e3),
                           g["max"].fmt(" ms", 0, 1e3)])
    table.notes.append(
        f"{RUNS} run(s); per size: plain sqlite3 replaying a log of as many events "
        "(bench/raw.py's replay: json.loads and one message row per event, one transaction, same schema), then "
        "Chronicle's rebuild of the story database in a fresh process, then the rebuild again in the engine while "
        f"SayLine commands arrive on a Poisson schedule at {RATE}/s across {CHATS} chats (latency from the "
        "scheduled arrival to the answer). Each fill batch's budget doubles from 10 ms to 250 ms while no command "
        "waits and falls back at once when one does.")
    targets = []
    for label in labels:
        g = f[label]
        targets.append(Target(f"rebuild ≥ 0.9× plain sqlite3's replay at {label}", g["share"].fmt("×", 2),
                              g["share"].median >= 0.9))
    for label in labels:
        g = f[label]
        targets.append(Target(f"commands during the {label} rebuild: p99 ≤ 50 ms", g["p99"].fmt(" ms", 1, 1e3),
                              g["p99"].median <= 0.05))
        targets.append(Target(f"commands during the {label} rebuild: none waits for the whole rebuild",
                              f"longest {g['max'].fmt(' ms', 0, 1e3)}, {g['longest'].median:.1%} of the rebuild",
                              max(g["longest"].values) < 0.5))
    return [table], targets


BEGIN = "<!-- bench live: begin -->"
END = "<!-- bench live: end -->"


def block(tables: list[Table], targets: list[Target], *, command: str, elapsed: float, quick: bool) -> str:
    """Sections 12 and 13 as their own block of docs/PERFORMANCE.md (kept by runs that do not measure them)."""
    return report.section_block((BEGIN, END), "Latency at real load, and the rebuild with commands running "
                                "(sections 12 and 13)", tables, targets, command=command, elapsed=elapsed,
                                quick=quick)
