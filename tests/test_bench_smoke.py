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
    # One process's own writes never make it decide a command twice (section 1's core-only timing writes
    # behind the engine, so it also ends its chat that way).
    assert "concurrency_conflict_redecide" not in done.stdout + done.stderr


def test_quick_postgres_bench_runs_beside_sqlite() -> None:
    """`python -m bench --only postgres --quick`: a private server, both backends, every row of its tables."""
    done = subprocess.run([sys.executable, "-m", "bench", "--only", "postgres", "--quick"], cwd=ROOT,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "== 10a." in done.stdout and "== 10b." in done.stdout
    assert "two processes" in done.stdout and "rebuild (reproject) on PostgreSQL" in done.stdout


def test_the_postgres_section_replaces_its_old_self_and_survives_a_full_report(tmp_path: Path) -> None:
    from bench.postgres import BEGIN, END, kept_block, update_report

    report = tmp_path / "PERFORMANCE.md"
    report.write_text("# Performance\n\nthe main tables\n")
    update_report(report, f"{BEGIN}\nfirst\n{END}\n")
    update_report(report, f"{BEGIN}\nsecond\n{END}\n")
    text = report.read_text()
    assert text.count(BEGIN) == 1 and "second" in text and "first" not in text and "the main tables" in text
    assert kept_block(report) == f"{BEGIN}\nsecond\n{END}\n"
