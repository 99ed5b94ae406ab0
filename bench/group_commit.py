"""Section 9: group commit with 1, 10 and 100 chats writing at once, before and after, beside eventsourcing.

Each chat records `messages` person lines one after another (SayLine through the engine API: its
decision, append, projection and view); the chats run concurrently. "Before" is the same engine with group
commit off (every command its own transaction); "after" commits the commands waiting for the writer
together, one savepoint each. The anchor is the `eventsourcing` library doing the same work per command:
one event appended and projected into a view with its tracking record, the chats on as many threads.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.anchor import _env, _library
from bench.commands import ADMIN, LINE, PERSON
from bench.common import Figure, Settings, Table, Target, copy_db, percentile, ratio, remove_db
from engine import Engine
from engine.commands import SayLine, StartChat

CHAT_COUNTS = (1, 10, 100)


async def _ours(path: Path, chats: int, messages: int, group_commit: bool) -> tuple[float, list[float]]:
    """(commands/s, latencies) for `chats` chats × `messages` lines, all chats at once."""
    engine = await Engine.open(path, group_commit=group_commit)
    try:
        run = uuid.uuid4().hex[:8]
        channels = [f"gc-{run}-{c}" for c in range(chats)]
        await asyncio.gather(*(engine.perform(StartChat(actor=ADMIN, channel_id=ch, character="Aria",
                                                        guest="Bram")) for ch in channels))
        latencies: list[float] = []

        async def chat(channel: str) -> None:
            for i in range(messages):
                t = time.perf_counter()
                await engine.perform(SayLine(actor=PERSON, channel_id=channel, message_id=f"{channel}-m{i}", text=LINE))
                latencies.append(time.perf_counter() - t)

        started = time.perf_counter()
        await asyncio.gather(*(chat(ch) for ch in channels))
        elapsed = time.perf_counter() - started
        return chats * messages / elapsed, sorted(latencies)
    finally:
        await engine.close()


def _theirs(workdir: Path, chats: int, messages: int) -> tuple[float, list[float]]:
    """The same work on eventsourcing: per command, one event saved and projected with tracking."""
    import eventsourcing.sqlite as es_sqlite
    from eventsourcing.persistence import Tracking

    story_cls, stories, views, projection_cls, _ = _library()
    log_path, view_path = workdir / "s9-es.db", workdir / "s9-es-view.db"
    remove_db(log_path)
    remove_db(view_path)
    app = stories(env=_env(log_path))
    view = views(es_sqlite.SQLiteDatastore(str(view_path)))
    view.create_table()
    projection = projection_cls(view=view)
    position = [0]
    lock = threading.Lock()  # the projection follows the log in order, as a tracked follower does
    latencies: list[float] = []
    aggregates = [story_cls(channel=f"es-{c}") for c in range(chats)]
    for aggregate in aggregates:
        app.save(aggregate)

    def project_new() -> None:
        with lock:
            for notification in app.recorder.select_notifications(start=position[0] + 1, limit=500):
                projection.process_event(app.mapper.to_domain_event(notification), Tracking(app.name, notification.id))
                position[0] = notification.id

    def chat(aggregate: Any) -> None:
        for i in range(messages):
            t = time.perf_counter()
            aggregate.say(message_id=f"{aggregate.channel}-m{i}", author_id=PERSON.user_id, text=LINE)
            app.save(aggregate)
            project_new()
            latencies.append(time.perf_counter() - t)

    project_new()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=chats) as pool:
        list(pool.map(chat, aggregates))
    elapsed = time.perf_counter() - started
    app.close()
    view.datastore.close()
    return chats * messages / elapsed, sorted(latencies)


def run(datasets: dict[str, Path], settings: Settings, counts: dict[str, int]) -> tuple[list[Table], list[Target]]:
    """Measure and tabulate section 9."""
    messages = max(3, settings.commands // 10)
    figures: dict[tuple[int, str], dict[str, Figure]] = {}
    for _ in range(settings.runs):
        for chats in CHAT_COUNTS:  # alternate before/after/anchor within each run
            for label in ("before", "after", "eventsourcing"):
                if label == "eventsourcing":
                    tput, lat = _theirs(settings.workdir, chats, messages)
                else:
                    path = copy_db(datasets["1k"], settings.workdir / f"s9-{label}.db")
                    tput, lat = asyncio.run(_ours(path, chats, messages, group_commit=label == "after"))
                f = figures.setdefault((chats, label), {"tput": Figure(), "p50": Figure(), "p99": Figure()})
                f["tput"].add(tput)
                f["p50"].add(percentile(lat, 0.50))
                f["p99"].add(percentile(lat, 0.99))
    table = Table("9. Group commit: 1, 10 and 100 concurrent chats",
                  ["chats at once", "writer", "commands/s", "p50 latency", "p99 latency", "÷ eventsourcing"])
    for chats in CHAT_COUNTS:
        anchor = figures[(chats, "eventsourcing")]["tput"].median
        for label in ("before", "after", "eventsourcing"):
            f = figures[(chats, label)]
            share = "" if label == "eventsourcing" else f"{ratio(f['tput'].median, anchor):.2f}×"
            name = {"before": "Chronicle, group commit off", "after": "Chronicle, group commit on",
                    "eventsourcing": "eventsourcing (threads)"}[label]
            table.rows.append([str(chats), name, f["tput"].fmt("/s"), f["p50"].fmt(" ms", 2, 1e3),
                               f["p99"].fmt(" ms", 2, 1e3), share])
    table.notes.append(f"Each chat records {messages} lines one after another (SayLine: validation, decision, "
                       "append, projection, the returned view); the chats run at once (asyncio tasks for Chronicle, "
                       f"threads for eventsourcing). {settings.runs} runs, alternating writers within each run, on a "
                       "copy of the ~1k-event database. eventsourcing per command: one event saved by app.save() and "
                       "projected into a view with its tracking record (a follower pulling new notifications).")
    after, before = figures[(100, "after")], figures[(100, "before")]
    es = figures[(100, "eventsourcing")]
    seq_before, seq_after = figures[(1, "before")], figures[(1, "after")]
    targets = [
        Target("group commit: ≥ 10,000 commands/s at 100 concurrent chats", after["tput"].fmt("/s"),
               after["tput"].median >= 10_000),
        Target("group commit: ≥ 2× eventsourcing at 100 concurrent chats",
               f"{ratio(after['tput'].median, es['tput'].median):.2f}×",
               ratio(after["tput"].median, es["tput"].median) >= 2),
        Target("group commit: p99 ≤ 5 ms at 100 concurrent chats", after["p99"].fmt(" ms", 2, 1e3),
               after["p99"].median <= 0.005),
        Target("group commit: sequential SayLine cost does not rise (1 chat, on vs off)",
               f"p50 {seq_after['p50'].fmt(' ms', 3, 1e3)} vs {seq_before['p50'].fmt(' ms', 3, 1e3)}",
               seq_after["p50"].median <= seq_before["p50"].median * 1.05),
        Target("group commit: faster than one transaction per command at 100 chats",
               f"{ratio(after['tput'].median, before['tput'].median):.2f}×",
               after["tput"].median > before["tput"].median),
    ]
    return [table], targets
