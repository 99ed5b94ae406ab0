"""`make soak` (python -m soak): the trials of docs/RELIABILITY.md in one run, by hand, in about 22 minutes.

    python -m soak [--kills 200] [--channels 100] [--messages 20] [--world DB] [--world-chats 44] [--gone-rounds 20]
                   [--race-rounds 20]

1. kills: SIGKILL at random points of a scripted story (soak/kills.py);
2. load: channels × messages through the local fake Discord (soak/discord_load.py);
3. reproject: commands during a reproject of a large world (soak/reproject_load.py). `--world` names
   a database to use (a copy is made); without it one of about 100,000 events is built once with
   demo-data and kept in the system's temporary folder;
4. reproject-postgres: the same on PostgreSQL (the world's log copied into a private embedded server);
5. file-gone: the database file deleted while 20 channels talk (soak/file_gone.py);
6. reproject-race: other processes opening the database while `chronicle reproject` runs, `--race-rounds`
   rounds (soak/reproject_race.py) on a world of 20 × 2,000 lines, and on PostgreSQL on one of 4 × 2,000.
7. lore: a busy channel with hostile lorebook keys beside normal ones, on both backends (soak/lore_load.py).
Each trial runs in a process of its own and prints one JSON line; this prints them and a verdict.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _trial(*args: str) -> tuple[dict, float]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"error": (done.stderr or done.stdout)[-2000:], "exit": done.returncode}, time.perf_counter() - started
    result = json.loads(lines[-1])
    result["exit"] = done.returncode
    return result, time.perf_counter() - started


def _world(path: Path | None, chats: int) -> Path:
    if path is not None:
        return path
    built = Path(tempfile.gettempdir()) / f"chronicle-soak-world-{chats}x2000.db"
    if not built.exists():
        print(f"building a world of {chats} stories × 2,000 lines (once) …", file=sys.stderr, flush=True)
        partial = built.with_suffix(".building.db")
        subprocess.run([sys.executable, "-m", "bot.cli", "demo-data", "--chats", str(chats), "--messages", "2000",
                        "--database", str(partial)], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        partial.rename(built)
    return built


def main(argv: list[str] | None = None) -> int:
    """Run the trials and print their figures; exit 1 if any failed."""
    parser = argparse.ArgumentParser(prog="python -m soak")
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--channels", type=int, default=100)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--world", type=Path)
    parser.add_argument("--world-chats", type=int, default=44)
    parser.add_argument("--gone-rounds", type=int, default=20)
    parser.add_argument("--race-rounds", type=int, default=20)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    results = {}
    for name, trial in (("kills", ("soak.kills", "--kills", str(args.kills))),
                        ("load", ("soak.discord_load", "--channels", str(args.channels), "--messages",
                                  str(args.messages))),
                        ("reproject", ("soak.reproject_load", str(_world(args.world, args.world_chats)))),
                        ("reproject-postgres", ("soak.reproject_load", str(_world(args.world, args.world_chats)),
                                                "--postgres")),
                        ("file-gone", ("soak.file_gone", "--rounds", str(args.gone_rounds))),
                        ("reproject-race", ("soak.reproject_race", str(_world(None, 20)), "--rounds",
                                            str(args.race_rounds))),
                        ("reproject-race-postgres", ("soak.reproject_race", str(_world(None, 4)), "--rounds",
                                                     str(args.race_rounds), "--postgres")),
                        ("lore", ("soak.lore_load",))):
        result, seconds = _trial(*trial)
        results[name] = result
        print(f"{name} ({seconds:.0f}s): {json.dumps(result)}", flush=True)
    failed = [name for name, result in results.items() if result.get("exit") != 0]
    print(f"soak: {'FAILED: ' + ', '.join(failed) if failed else 'passed'} in {time.perf_counter() - started:.0f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
