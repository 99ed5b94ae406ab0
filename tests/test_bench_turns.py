"""`python -m bench --only turns --quick`: section 14 (a group story's next speaker and its prompt) runs alone and
prints its table and target."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_turns_bench_prints_its_table_and_target() -> None:
    done = subprocess.run([sys.executable, "-m", "bench", "--only", "turns", "--quick"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "== 14. Group stories" in done.stdout and "400 messages" in done.stdout, done.stdout
    assert "choosing the speaker + building its prompt p99 ≤ 20 ms (20 characters, 400 messages)" in done.stdout
