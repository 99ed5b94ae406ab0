"""A tiny run of the benchmark suite (`python -m bench --quick`), so `make test` keeps it working."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_bench_runs_every_section() -> None:
    """Every section runs at tiny sizes and prints its table (`make test` installs the `bench` extra)."""
    done = subprocess.run([sys.executable, "-m", "bench", "--quick"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    for title in ("== 1.", "== 2.", "== 3.", "== 4.", "== 5.", "== 6.", "== 7.", "== 8.", "== 11a.", "== 12.", "== 13."):
        assert title in done.stdout, done.stdout
    assert "FAILED" not in done.stdout
    assert "saturation: ≥ 10,000 commands/s answered at 100 chats (10,000/s offered)" in done.stdout  # section 12
    # One process's own writes never make it decide a command twice (section 1's core-only timing writes
    # behind the engine, so it also ends its chat that way).
    assert "concurrency_conflict_redecide" not in done.stdout + done.stderr


def test_quick_postgres_bench_runs_beside_sqlite() -> None:
    """`python -m bench --only postgres --quick`: a private server, both backends, every row of its tables."""
    done = subprocess.run([sys.executable, "-m", "bench", "--only", "postgres", "--quick"], cwd=ROOT,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "== 10a." in done.stdout and "== 10b." in done.stdout
    assert "2 processes" in done.stdout and "4 processes" in done.stdout
    rows = [line for line in done.stdout.splitlines() if " processes (" in line]
    assert rows and all(re.search(r"cores: processes \d+\.\d+, server \d+\.\d+, machine \d+\.\d+", row)
                        for row in rows), rows  # what the processes, the server and the machine used
    assert "rebuild (reproject) on PostgreSQL" in done.stdout and "2 processes ÷ 1 process" in done.stdout  # targets


def test_the_postgres_section_replaces_its_old_self_and_survives_a_full_report(tmp_path: Path) -> None:
    from bench.postgres import BEGIN, END, kept_block, update_report

    report = tmp_path / "PERFORMANCE.md"
    report.write_text("# Performance\n\nthe main tables\n")
    update_report(report, f"{BEGIN}\nfirst\n{END}\n")
    update_report(report, f"{BEGIN}\nsecond\n{END}\n")
    text = report.read_text()
    assert text.count(BEGIN) == 1 and "second" in text and "first" not in text and "the main tables" in text
    assert kept_block(report) == f"{BEGIN}\nsecond\n{END}\n"


def test_quick_recall_bench_scores_every_kind_and_writes_its_section(tmp_path: Path) -> None:
    """`python -m bench --only recall --quick`: a short story through the engine, every kind of question scored for
    Chronicle and both baselines, no leaks, and its section written between its markers."""
    report = tmp_path / "PERFORMANCE.md"
    report.write_text("# Performance\n\nthe main tables\n")
    done = subprocess.run([sys.executable, "-m", "bench", "--only", "recall", "--quick", "--out", str(report)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    for title in ("== 11a.", "== 11b.", "== 11c."):
        assert title in done.stdout, done.stdout
    for kind in ("single", "when", "two", "updated", "**all**"):
        assert f" {kind} " in done.stdout, done.stdout
    assert "MET   recall: 0 leaks" in done.stdout
    text = report.read_text()
    assert "the main tables" in text and text.count("<!-- bench recall: begin -->") == 1
    assert "python -m bench --only recall --quick" in text


def test_a_long_story_holds_the_facts_the_benchmark_asks_about() -> None:
    """1,000 lines over 30+ sessions, 300+ facts with a quarter of each kind, two-line facts far apart, and every
    key in its own evidence line only (generate checks that and raises otherwise)."""
    from bench.longstory import KINDS, generate

    story = generate(3, 1_000)
    lines = story.lines()
    assert len(lines) == 1_000 and len(story.sessions) >= 30
    assert len({s.minute // (24 * 60) for s in story.sessions}) >= 20  # time skips of days, not minutes
    witnessed = [f for f in story.facts if f.kind != "offstage"]
    assert len(witnessed) >= 300
    for kind in KINDS:
        assert sum(f.kind == kind for f in witnessed) >= len(witnessed) / 4
    for fact in witnessed:
        assert all(k.casefold() not in fact.question.casefold() for k in fact.keys)
        if len(fact.lines) == 2:
            assert fact.lines[1] - fact.lines[0] >= 250
    offstage = [f for f in story.facts if f.kind == "offstage"]
    digests = "\n".join(d for s in story.sessions for d in s.offstage)
    assert offstage and all(f.keys[0] in digests for f in offstage)
    assert not any(f.keys[0].casefold() in line.text.casefold() for f in offstage for line in lines)


def test_the_baselines_fill_their_room_and_bm25_reaches_back() -> None:
    """(a) keeps the newest lines that fit; (b) keeps half of that and adds the older line BM25 ranks first."""
    from bench.recall_baselines import BM25, Lines, estimator, window, window_and_bm25

    texts = [f"Line {i} about the weather and the bus." for i in range(200)]
    texts[10] = "My nan's tortoise is called Humbug, she's ancient."
    count = estimator()
    lines = Lines.of(texts, count)
    question = "Caroline: What's the name of your nan's tortoise?"
    room = 40 * count(texts[-1])
    plain = window(lines, question, room, count)
    assert plain[-1] == question and sum(count(t) for t in plain) <= room and texts[10] not in plain
    mixed = window_and_bm25(lines, BM25(texts), question, question, room, count)
    assert texts[10] in mixed and sum(count(t) for t in mixed) <= room and mixed[-2] == texts[-1]
