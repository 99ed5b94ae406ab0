"""Section 12: latency at real load — commands arriving on a Poisson schedule (an open loop) across 100 chats.

A closed loop (section 9: every chat sends its next line once the last one is answered) measures the
throughput ceiling; its latency is bound by Little's law and says little about what a person sees. Here
commands arrive at a fixed mean rate whatever the engine does: arrival times are drawn once per run
(exponential gaps, seeded), each `SayLine` is submitted at its time to one of 100 chats chosen at random, and
its latency runs from the scheduled arrival to the answer (a late submission counts against the engine, so
a stall is not hidden by the load pausing with it: no coordinated omission).
"""

from __future__ import annotations

import asyncio
import functools
import random
import time
import uuid
from pathlib import Path
from typing import Any

from bench.commands import ADMIN, LINE, PERSON
from bench.common import Figure, Settings, Table, Target, copy_db, percentile
from engine import Engine
from engine.commands import SayLine, StartChat

RATES = (200, 1_000, 3_000, 10_000)  # commands per second, across all chats (the last one past saturation)
CHATS = 100
SECONDS = 3.0  # of arrivals per rate and run (at least MIN_COMMANDS commands, for the p99.9)
MIN_COMMANDS = 2_000


def arrivals(rate: float, count: int, seed: int) -> list[float]:
    """`count` arrival offsets (seconds from the start) of a Poisson process of mean `rate` per second."""
    rng = random.Random(seed)
    t, out = 0.0, []
    for _ in range(count):
        t += rng.expovariate(rate)
        out.append(t)
    return out


async def open_loop(engine: Engine, channels: list[str], schedule: list[float], seed: int) -> tuple[list[float], float]:
    """Submit one SayLine per scheduled arrival to a random chat; return (sorted latencies, achieved rate)."""
    rng = random.Random(seed)
    targets = [rng.choice(channels) for _ in schedule]
    tag = uuid.uuid4().hex[:8]  # no message id of an earlier run comes again (it would be answered as a duplicate)
    latencies: list[float] = []
    pending: list[asyncio.Future[Any]] = []
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.01

    def finished(due: float, _: object) -> None:
        latencies.append(time.perf_counter() - due)

    index = 0
    while index < len(schedule):
        now = loop.time()
        while index < len(schedule) and start + schedule[index] <= now:
            due = time.perf_counter() - (now - (start + schedule[index]))  # the arrival, on the latency clock
            channel = targets[index]
            future = engine.perform(SayLine(actor=PERSON, channel_id=channel, message_id=f"{channel}-{tag}-{index}",
                                            text=LINE))
            future.add_done_callback(functools.partial(finished, due))
            pending.append(future)
            index += 1
        if index < len(schedule):
            await asyncio.sleep(max(0.0, start + schedule[index] - loop.time()))
    await asyncio.gather(*pending)
    elapsed = loop.time() - start
    return sorted(latencies), len(schedule) / elapsed


async def started_chats(engine: Engine, prefix: str) -> list[str]:
    """CHATS new chats with Aria and Bram, in channels named after `prefix` and a fresh run id."""
    run = uuid.uuid4().hex[:8]
    channels = [f"{prefix}-{run}-{c}" for c in range(CHATS)]
    for channel in channels:
        await engine.perform(StartChat(actor=ADMIN, channel_id=channel, character="Aria", guest="Bram"))
    return channels


async def _run_rates(path: Path, rates: tuple[int, ...], seconds: float, minimum: int, seed: int
                     ) -> dict[int, tuple[list[float], float]]:
    engine = await Engine.open(path)
    try:
        channels = await started_chats(engine, "ol")
        await open_loop(engine, channels, arrivals(500, 200, seed), seed)  # warm-up
        out = {}
        for rate in rates:
            count = max(minimum, int(rate * seconds))
            out[rate] = await open_loop(engine, channels, arrivals(rate, count, seed + rate), seed + rate)
        return out
    finally:
        await engine.close()


def run(datasets: dict[str, Path], settings: Settings, counts: dict[str, int]) -> tuple[list[Table], list[Target]]:
    """Measure and tabulate section 12."""
    seconds, minimum = (0.2, 50) if settings.quick else (SECONDS, MIN_COMMANDS)
    runs = min(settings.runs, 3)
    figures = {rate: {q: Figure() for q in ("p50", "p99", "p999", "rate")} for rate in RATES}
    counted: dict[int, int] = {}
    for r in range(runs):
        path = copy_db(datasets["1k"], settings.workdir / "s12.db")
        for rate, (lat, achieved) in asyncio.run(_run_rates(path, RATES, seconds, minimum, seed=r)).items():
            figures[rate]["p50"].add(percentile(lat, 0.50))
            figures[rate]["p99"].add(percentile(lat, 0.99))
            figures[rate]["p999"].add(percentile(lat, 0.999))
            figures[rate]["rate"].add(achieved)
            counted[rate] = len(lat)
    table = Table(f"12. Latency at real load: Poisson arrivals across {CHATS} chats (open loop)",
                  ["arrival rate", "commands per run", "p50", "p99", "p99.9", "answered/s"])
    for rate in RATES:
        f = figures[rate]
        table.rows.append([f"{rate:,}/s", f"{counted[rate]:,}", f["p50"].fmt(" ms", 2, 1e3),
                           f["p99"].fmt(" ms", 2, 1e3), f["p999"].fmt(" ms", 2, 1e3), f["rate"].fmt("/s")])
    table.notes.append(
        f"{runs} runs on a copy of the ~1k-event database, {CHATS} chats started first; per rate, arrivals drawn "
        f"with exponential gaps (seeded) for {seconds:g} s (at least {minimum:,} commands), each a SayLine "
        "submitted through the engine API at its time to a chat picked at random (a chat's lines queue behind "
        "each other, as in a busy channel). Latency runs from the scheduled arrival to the answer, so a late "
        "submission counts (no coordinated omission). The rates run one after another on one engine, after 200 "
        f"warm-up commands; every command is a new line (no message id comes twice). At {RATES[-1]:,}/s offered the "
        "engine is past saturation: answered/s there is the most it answers, and its latencies are the queue.")
    p99 = figures[1_000]["p99"]
    most = figures[RATES[-1]]["rate"]
    return [table], [Target("open loop: p99 ≤ 5 ms at 1,000 commands/s (100 chats)", p99.fmt(" ms", 2, 1e3),
                            p99.median <= 0.005),
                     Target(f"saturation: ≥ 10,000 commands/s answered at 100 chats ({RATES[-1]:,}/s offered)",
                            most.fmt("/s"), most.median >= 10_000)]
