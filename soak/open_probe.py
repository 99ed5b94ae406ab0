"""What checking a database file costs at open: the header probe Chronicle does, and `PRAGMA quick_check`.

    python -m soak.open_probe DB [DB …]

Prints one JSON object per file: its size, events, the header probe's time (median of 5) and
quick_check's time (median of 3, read-only connection; the file is in the page cache after the first).
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import sys
import time
from pathlib import Path

from engine.storage.sqlite_faults import inspect_file


def _timed(fn: object, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(path: Path) -> dict:
    """The figures for one database file."""
    def quick_check() -> None:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        finally:
            conn.close()

    conn = sqlite3.connect(path)
    try:
        events = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    finally:
        conn.close()
    return {"file": str(path), "mb": round(path.stat().st_size / 2**20, 1), "events": events,
            "header_probe_ms": round(_timed(lambda: inspect_file(path), 5) * 1000, 3),
            "quick_check_s": round(_timed(quick_check, 3), 3)}


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(json.dumps(measure(Path(name))))
