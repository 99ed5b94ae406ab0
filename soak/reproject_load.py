"""Commands during a reproject: their latency (p50/p99/max) while `rebuild()` replays a large world.

    python -m soak.reproject_load DB [--channels 4] [--baseline 5]

DB is copied first (the original is not changed). Each of `--channels` new stories records person
lines one after another for the whole reproject, each line awaited, and every latency is kept; the
same is measured for `--baseline` seconds with no reproject running. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from config.logging import configure_logging
from engine import Actor, Engine

GUILD = "soak-guild"


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
    if not any(c.name == "Soak Host" for c in await engine.list_characters(GUILD)):
        await engine.author_character(admin, "Soak Host", "A patient listener.")
    names = []
    for index in range(channels):
        channel = f"soak-{time.time_ns()}-{index}"
        await engine.start_chat(admin, channel, "Soak Host")
        names.append(channel)
    return names


async def _speak(engine: Engine, channel: str, until: asyncio.Event | float, out: list[float]) -> None:
    actor = Actor(user_id="soak-person", guild_id=GUILD, display_name="Wren")
    n = len(out) * 1000
    while not (until.is_set() if isinstance(until, asyncio.Event) else time.monotonic() >= until):
        n += 1
        started = time.perf_counter()
        await engine.record_message(actor, channel, f"{channel}-{time.time_ns()}",
                                    f"Line {n} while the world is rebuilt.")
        out.append(time.perf_counter() - started)
        await asyncio.sleep(0.005)


async def measure(path: Path, channels: int, baseline: float) -> dict:
    """Baseline latencies, then latencies during a full reproject; the reproject's own figures."""
    engine = await Engine.open(path)
    try:
        stories = await _stories(engine, channels)
        quiet: list[float] = []
        deadline = time.monotonic() + baseline
        await asyncio.gather(*(_speak(engine, c, deadline, quiet) for c in stories))
        busy: list[float] = []
        done = asyncio.Event()
        speakers = [asyncio.create_task(_speak(engine, c, done, busy)) for c in stories]
        started = time.perf_counter()
        events = await engine.rebuild()
        seconds = time.perf_counter() - started
        done.set()
        await asyncio.gather(*speakers)
        report = await engine.check()
    finally:
        await engine.close()
    return {"events": events, "reproject_seconds": round(seconds, 1), "baseline": summary(quiet),
            "during_reproject": summary(busy), "check_clean": report.clean}


def main(argv: list[str] | None = None) -> int:
    """Run the measurement on a copy of DB and print it as JSON."""
    parser = argparse.ArgumentParser(prog="python -m soak.reproject_load")
    parser.add_argument("db", type=Path)
    parser.add_argument("--channels", type=int, default=4)
    parser.add_argument("--baseline", type=float, default=5.0)
    args = parser.parse_args(argv)
    configure_logging("console", "warning")
    with tempfile.TemporaryDirectory(prefix="chronicle-soak-", dir=args.db.parent) as scratch:
        copy = Path(scratch) / "world.db"
        shutil.copyfile(args.db, copy)
        result = asyncio.run(measure(copy, args.channels, args.baseline))
    print(json.dumps(result))
    return 0 if result["check_clean"] else 1


if __name__ == "__main__":
    sys.exit(main())
