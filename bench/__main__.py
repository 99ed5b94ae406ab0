"""`python -m bench [--quick] [--sections 1,2,…] [--out FILE] [--only postgres|recall]`: run the suite, print tables,
write the report."""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
import traceback
from dataclasses import replace
from pathlib import Path

from bench import (
    anchor,
    commands,
    concurrency,
    group_commit,
    live,
    narrator,
    openloop,
    postgres,
    predecessor,
    raw,
    rebuild,
    recall,
    recall_report,
    report,
    turns,
)
from bench.common import Settings, Table, Target, quiet, settings
from bench.datasets import build_all, event_count

ROOT = Path(__file__).resolve().parent.parent
NOTES = ROOT / "bench" / "NOTES.md"


def main(argv: list[str] | None = None) -> int:
    """Run the chosen sections; return 1 if a section failed."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (the smoke test); figures not meaningful")
    parser.add_argument("--sections", default="1,2,3,4,5,6,7,8,9,11,12,13,14", help="comma-separated section numbers")
    parser.add_argument("--out", type=Path,
                        help="report file (default: docs/PERFORMANCE.md after a full run of every section)")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "chronicle-bench",
                        help="where built databases are kept between runs")
    parser.add_argument("--fresh", action="store_true", help="rebuild the cached databases")
    parser.add_argument("--only", choices=["postgres", "recall", "live", "turns"],
                        help="run one section alone: `postgres` (PostgreSQL beside SQLite, bench/postgres.py), "
                             "`recall` (section 11, long-story recall, bench/recall.py), `live` (sections 12 and "
                             "13: latency at real load, the rebuild with commands running; bench/openloop.py, "
                             "bench/live.py) or `turns` (section 14, a 20-character cast; bench/turns.py)")
    parser.add_argument("--live-sizes", default="100k,1M",
                        help="the story databases section 13 rebuilds (a 1M one takes minutes, three times over)")
    args = parser.parse_args(argv)
    quiet()
    if args.only == "postgres":
        return _postgres(args)
    if args.only == "recall":
        return _recall(args)
    if args.only == "turns":
        out = args.out or (None if args.quick else ROOT / "docs" / "PERFORMANCE.md")
        return turns.only(args.quick, args.cache, out, f"`python -m bench {shlex.join(sys.argv[1:])}`")
    wanted = {int(s) for s in args.sections.split(",") if s.strip()}
    if args.only == "live":
        wanted = {12, 13}
    started = time.perf_counter()
    tables: list[Table] = []
    targets: list[Target] = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="chronicle-bench-") as work:
        cache = Path(work) / "cache" if args.quick else args.cache
        s = settings(args.quick, Path(work), cache)
        if args.only == "live":  # the databases are grown in order: build only up to the largest one rebuilt
            labels = list(s.sizes)
            last = max((labels.index(size.strip()) for size in args.live_sizes.split(",") if size.strip() in labels),
                       default=len(labels) - 1)
            s = replace(s, sizes={label: s.sizes[label] for label in labels[:last + 1]})
        datasets = build_all(s, fresh=args.fresh)
        counts = {label: event_count(path) for label, path in datasets.items()}
        steps = [
            (1, lambda: commands.run(datasets, s, counts)),
            (2, lambda: rebuild.run(datasets, s, counts)[:2]),
            (3, lambda: (predecessor.run(datasets, s, counts), [])),
            (4, lambda: anchor.run(datasets, s, counts)),
            (5, lambda: (raw.run(datasets, s, counts), [])),
            (6, lambda: narrator.run(datasets, s)),  # 6 and 7 together
            (8, lambda: concurrency.run(datasets, s, counts)),
            (9, lambda: group_commit.run(datasets, s, counts)),
            (14, lambda: turns.run(datasets, s)),  # group stories (bench/turns.py)
        ]
        for number, step in steps:
            if number not in wanted and not (number == 6 and 7 in wanted):
                continue
            t0 = time.perf_counter()
            print(f"section {number} ...", file=sys.stderr, flush=True)
            try:
                new_tables, new_targets = step()
            except Exception:  # a failing section is reported, the others still run
                failed = True
                traceback.print_exc()
                tables.append(Table(f"{number}. FAILED", ["error"], [[traceback.format_exc().splitlines()[-1]]]))
                continue
            for table in new_tables:
                print(table.text(), flush=True)
            tables += new_tables
            targets += new_targets
            print(f"section {number}: {time.perf_counter() - t0:.0f}s", file=sys.stderr, flush=True)
        live_block, failed = _live_section(args, datasets, s, counts, wanted, failed)
        recall_block, failed = _recall_section(args, Path(work), wanted, failed)
    elapsed = time.perf_counter() - started
    complete = wanted >= {1, 2, 3, 4, 5, 6, 7, 8, 9}
    out = args.out or (ROOT / "docs" / "PERFORMANCE.md" if (complete or args.only) and not args.quick else None)
    if out is not None and args.only == "live":
        report.replace_block(out, live.BEGIN, live.END, live_block)
        print(f"wrote the live section of {out}", file=sys.stderr)
    elif out is not None:
        command = ("`make bench` (runs `python -m bench`)" if not argv and not sys.argv[1:]
                   else f"`python -m bench {shlex.join(sys.argv[1:])}`")
        preface = NOTES.read_text(encoding="utf-8").strip() if NOTES.exists() else ""
        out.parent.mkdir(parents=True, exist_ok=True)
        kept = postgres.kept_block(out)  # the PostgreSQL section is measured by `--only postgres`
        recall_block = recall_block or report.kept_block(out, recall_report.BEGIN, recall_report.END)
        live_block = live_block or report.kept_block(out, live.BEGIN, live.END)
        out.write_text(report.render(sorted(tables, key=_section_order), targets, command=command, elapsed=elapsed,
                                     quick=args.quick, preface=preface)
                       + "".join(f"\n{block}" for block in (live_block, kept, recall_block) if block),
                       encoding="utf-8")
        print(f"wrote {out}", file=sys.stderr)
    for t in targets:
        print(f"{'MET ' if t.met else 'MISS'}  {t.text}: {t.measured}")
    return 1 if failed else 0


def _section_order(table: Table) -> tuple[int, str]:
    """Tables in section order (12 after 9, not after 1), then by title."""
    number = table.title.split(".", 1)[0]
    return (int(number) if number.isdigit() else 10**6, table.title)


def _postgres(args: argparse.Namespace) -> int:
    """`--only postgres`: print its tables; a full-size run also rewrites its section of docs/PERFORMANCE.md."""
    started = time.perf_counter()
    sizes = postgres.QUICK if args.quick else postgres.FULL
    with tempfile.TemporaryDirectory(prefix="chronicle-bench-pg-") as work:
        cache = Path(work) / "cache" if args.quick else args.cache
        tables, version = postgres.run(sizes, cache, Path(work))
    for table in tables:
        print(table.text(), flush=True)
    out = args.out or (None if args.quick else ROOT / "docs" / "PERFORMANCE.md")
    if out is not None:
        block = postgres.section(tables, version=version, command=f"python -m bench {shlex.join(sys.argv[1:])}",
                                 elapsed=time.perf_counter() - started, quick=args.quick)
        postgres.update_report(out, block)
        print(f"wrote the PostgreSQL section of {out}", file=sys.stderr)
    return 0


def _live_section(args: argparse.Namespace, datasets: dict[str, Path], s: Settings, counts: dict[str, int],
                  wanted: set[int], failed: bool) -> tuple[str, bool]:
    """Sections 12 and 13 (when wanted): their tables and targets printed, their block for the report."""
    started = time.perf_counter()
    tables: list[Table] = []
    targets: list[Target] = []
    sizes = {size.strip() for size in args.live_sizes.split(",")}
    rebuilt = {label: path for label, path in datasets.items() if label not in ("100k", "1M") or label in sizes}
    for number, step in ((12, openloop.run), (13, live.run)):
        if number not in wanted:
            continue
        print(f"section {number} ...", file=sys.stderr, flush=True)
        try:
            new_tables, new_targets = step(rebuilt, s, counts)
        except Exception:  # reported like the other sections; the rest still runs
            failed = True
            traceback.print_exc()
            error = traceback.format_exc().splitlines()[-1]
            new_tables, new_targets = [Table(f"{number}. FAILED", ["error"], [[error]])], []
        for table in new_tables:
            print(table.text(), flush=True)
        tables += new_tables
        targets += new_targets
    for t in targets:
        print(f"{'MET ' if t.met else 'MISS'}  {t.text}: {t.measured}")
    if not tables:
        return "", failed
    command = f"`python -m bench {shlex.join(sys.argv[1:])}`" if sys.argv[1:] else "`make bench`"
    return live.block(tables, targets, command=command, elapsed=time.perf_counter() - started,
                      quick=args.quick), failed


def _recall_section(args: argparse.Namespace, work: Path, wanted: set[int], failed: bool) -> tuple[str, bool]:
    """Section 11 in a whole run: its tables printed, its block for the report ('' when not run or failed)."""
    if 11 not in wanted:
        return "", failed
    print("section 11 ...", file=sys.stderr, flush=True)
    try:
        command = ("`make bench` (runs `python -m bench`)" if not sys.argv[1:]
                   else f"`python -m bench {shlex.join(sys.argv[1:])}`")
        return _run_recall(args, work, command), failed
    except Exception:  # like the other sections: reported, the rest of the report still written
        traceback.print_exc()
        print(Table("11. FAILED", ["error"], [[traceback.format_exc().splitlines()[-1]]]).text(), flush=True)
        return "", True


def _run_recall(args: argparse.Namespace, work: Path, command: str) -> str:
    """Measure section 11, print its tables and targets; returns its block of the report (`command` in
    markdown)."""
    started = time.perf_counter()
    sizes = recall.QUICK if args.quick else recall.FULL
    cache = work / "recall-cache" if args.quick else recall.cache_folder()
    results = recall.measure(sizes, cache, work, fresh=args.fresh)
    for table in recall_report.tables(results):
        print(table.text(), flush=True)
    for t in recall_report.targets(results):
        print(f"{'n/a ' if t.met is None else 'MET ' if t.met else 'MISS'}  recall: {t.text}: {t.measured}")
    return recall_report.block(results, command=command, elapsed=time.perf_counter() - started, quick=args.quick)


def _recall(args: argparse.Namespace) -> int:
    """`--only recall`: print its tables; a full-size run also rewrites its section of docs/PERFORMANCE.md."""
    with tempfile.TemporaryDirectory(prefix="chronicle-bench-recall-") as work:
        block = _run_recall(args, Path(work), f"`python -m bench {shlex.join(sys.argv[1:])}`")
    out = args.out or (None if args.quick else ROOT / "docs" / "PERFORMANCE.md")
    if out is not None:
        report.replace_block(out, recall_report.BEGIN, recall_report.END, block)
        print(f"wrote the recall section of {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
