"""Section 2: `reproject` (maintenance.rebuild) of 100k and 1M events: events/s and peak RSS (in a child process)."""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import Figure, Settings, Table, Target, copy_db


def child(path: str) -> None:
    """Run in a fresh process: open the engine, rebuild, print events, seconds and peak RSS as JSON."""
    from bench.common import quiet
    from engine import Engine

    quiet()

    async def main() -> dict:
        engine = await Engine.open(path)
        try:
            started = time.perf_counter()
            count = await engine.maintenance.rebuild()
            elapsed = time.perf_counter() - started
        finally:
            await engine.close()
        return {"events": count, "seconds": elapsed}

    result = asyncio.run(main())
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def rebuild_once(path: Path) -> dict:
    """One rebuild of `path` in a child process."""
    done = subprocess.run([sys.executable, "-m", "bench.rebuild", str(path)], capture_output=True, text=True,
                          check=True, cwd=Path(__file__).resolve().parent.parent)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(datasets: dict[str, Path], settings: Settings,
        counts: dict[str, int]) -> tuple[list[Table], list[Target], dict[str, Any]]:
    """Measure and tabulate section 2; also return the median events/s per size for other sections."""
    labels = [label for label in ("100k", "1M") if label in datasets]
    paths = {label: copy_db(datasets[label], settings.workdir / f"s2-{label}.db") for label in labels}
    figures = {label: {"rate": Figure(), "rss": Figure(), "secs": Figure()} for label in labels}
    for _ in range(settings.runs):
        for label in labels:
            r = rebuild_once(paths[label])
            figures[label]["rate"].add(r["events"] / r["seconds"])
            figures[label]["rss"].add(r["peak_rss_mb"])
            figures[label]["secs"].add(r["seconds"])
    table = Table("2. Rebuild (reproject the whole world from the log)",
                  ["log size", "events/s", "seconds", "peak RSS of the process"])
    for label in labels:
        f = figures[label]
        table.rows.append([f"{label} ({counts[label]:,} events)", f["rate"].fmt(), f["secs"].fmt(" s", 2),
                           f["rss"].fmt(" MB")])
    table.notes.append(f"{settings.runs} runs, each in a fresh process (Engine.open, then maintenance.rebuild: one "
                       "transaction, the log streamed in batches); RSS includes the interpreter and the engine.")
    big = labels[-1]
    targets = [
        Target("rebuild ≥ 150,000 events/s", f"{figures[big]['rate'].median:,.0f}/s at {big}",
               figures[big]["rate"].median >= 150_000),
        Target(f"peak RSS ≤ 200 MB at {big}", f"{figures[big]['rss'].median:,.0f} MB",
               figures[big]["rss"].median <= 200),
    ]
    return [table], targets, {label: figures[label]["rate"].median for label in labels}


if __name__ == "__main__":
    child(sys.argv[1])
