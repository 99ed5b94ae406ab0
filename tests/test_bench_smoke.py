"""A tiny run of the benchmark suite (`python -m bench --quick`), so `make test` keeps it working."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_bench_runs_every_section() -> None:
    """Every section runs at tiny sizes and prints its table (`make test` installs the `bench` extra)."""
    done = subprocess.run([sys.executable, "-m", "bench", "--quick"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    for title in ("== 1.", "== 2.", "== 3.", "== 4.", "== 5.", "== 6.", "== 7.", "== 8."):
        assert title in done.stdout, done.stdout
    assert "FAILED" not in done.stdout
