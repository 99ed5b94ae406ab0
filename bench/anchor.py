"""Section 4: the `eventsourcing` library (SQLite backend) as an anchor: one-event saves and a tracked catch-up.

Both sides use files on disk in WAL mode with synchronous=NORMAL (the library's connections are given
the same pragma), in the same process, alternating A and B within each run.
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
from functools import singledispatchmethod
from pathlib import Path
from typing import Any

from bench.commands import timed_messages
from bench.common import Figure, Settings, Table, Target, copy_db, ratio, remove_db
from engine import Engine


@functools.cache
def _library() -> Any:
    """Import eventsourcing lazily (only the `bench` extra installs it) and define the anchor app."""
    import eventsourcing.sqlite as es_sqlite
    from eventsourcing.application import Application
    from eventsourcing.domain import Aggregate, event
    from eventsourcing.projection import Projection

    if not getattr(es_sqlite.SQLiteConnectionPool, "_bench_patched", False):
        original = es_sqlite.SQLiteConnectionPool._create_connection

        def create_connection(self: Any) -> Any:
            conn = original(self)
            conn._sqlite_conn.execute("PRAGMA synchronous = NORMAL")
            return conn

        es_sqlite.SQLiteConnectionPool._create_connection = create_connection  # type: ignore[method-assign]
        es_sqlite.SQLiteConnectionPool._bench_patched = True  # type: ignore[attr-defined]

    class Story(Aggregate):
        """A chat as one aggregate; each person's line is one event."""

        @event("Started")
        def __init__(self, channel: str) -> None:
            self.channel = channel

        @event("Said")
        def say(self, message_id: str, author_id: str, text: str) -> None:
            pass

    class Stories(Application):
        """The upstream application."""

    class MessagesView(es_sqlite.SQLiteTrackingRecorder):
        """A materialised view of the lines, written with its tracking record in one transaction."""

        def construct_create_table_statements(self) -> list[str]:
            return [*super().construct_create_table_statements(),
                    "CREATE TABLE IF NOT EXISTS view_messages (message_id TEXT PRIMARY KEY, story_id TEXT NOT NULL,"
                    " author_id TEXT NOT NULL, text TEXT NOT NULL)"]

        def insert_message(self, event: Any, tracking: Any) -> None:
            with self.datastore.transaction(commit=True) as c:
                c.execute("INSERT INTO view_messages VALUES (?, ?, ?, ?)",
                          (event.message_id, str(event.originator_id), event.author_id, event.text))
                self._insert_tracking(c, tracking)

        def touch(self, tracking: Any) -> None:
            with self.datastore.transaction(commit=True) as c:
                self._insert_tracking(c, tracking)

    class MessagesProjection(Projection[MessagesView]):
        """Project each Said event into view_messages."""

        @singledispatchmethod
        def process_event(self, domain_event: Any, tracking: Any) -> None:
            self.view.touch(tracking)

        @process_event.register(Story.Said)  # type: ignore[attr-defined]  # made by @event
        def _(self, domain_event: Any, tracking: Any) -> None:
            self.view.insert_message(domain_event, tracking)

    return Story, Stories, MessagesView, MessagesProjection, None


def _env(path: Path) -> dict[str, str]:
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}


def _es_saves(app: Any, story_cls: Any, count: int) -> float:
    """Save `count` one-event changes of one in-memory aggregate; return saves/s."""
    story = story_cls(channel=f"c{time.perf_counter_ns()}")
    app.save(story)
    started = time.perf_counter()
    for i in range(count):
        story.say(message_id=f"{story.channel}-m{i}", author_id="demo-user-0",
                  text="Did you hear what happened at the Old Mill?")
        app.save(story)
    return count / (time.perf_counter() - started)


def _es_catch_up(lib: Any, app: Any, view_path: Path) -> tuple[int, float]:
    """Catch a fresh tracked projection up with the whole application log; return (events, seconds).

    The library's SQLite recorder has no subscriptions, so this pulls notifications in pages, as a
    follower does: map each to its domain event, process it into the view with its tracking record.
    """
    import eventsourcing.sqlite as es_sqlite
    from eventsourcing.persistence import Tracking

    _, _, views, projection_cls, _ = lib
    remove_db(view_path)
    started = time.perf_counter()
    view = views(es_sqlite.SQLiteDatastore(str(view_path)))
    view.create_table()
    projection = projection_cls(view=view)
    position = view.max_tracking_id(app.name) or 0
    count = 0
    while True:
        page = app.recorder.select_notifications(start=position + 1, limit=500)
        if not page:
            break
        for notification in page:
            projection.process_event(app.mapper.to_domain_event(notification), Tracking(app.name, notification.id))
            position = notification.id
            count += 1
    elapsed = time.perf_counter() - started
    view.datastore.close()
    return count, elapsed


async def _ours_rebuild(path: Path) -> tuple[int, float]:
    engine = await Engine.open(path)
    try:
        started = time.perf_counter()
        count = await engine.maintenance.rebuild()
        return count, time.perf_counter() - started
    finally:
        await engine.close()


async def _ours_commands(path: Path, count: int) -> float:
    engine = await Engine.open(path)
    try:
        return (await timed_messages(engine, count))[0]
    finally:
        await engine.close()


def run(datasets: dict[str, Path], settings: Settings, counts: dict[str, int]) -> tuple[list[Table], list[Target]]:
    """Measure and tabulate section 4."""
    lib = _library()
    story_cls, stories, *_ = lib
    es_path = settings.workdir / "s4-eventsourcing.db"
    remove_db(es_path)
    os.environ.pop("PERSISTENCE_MODULE", None)
    app = stories(env=_env(es_path))
    ours_db = copy_db(datasets["1k"], settings.workdir / "s4-ours-1k.db")
    rebuild_label = "10k" if "10k" in datasets else "1k"
    ours_rebuild_db = copy_db(datasets[rebuild_label], settings.workdir / f"s4-ours-{rebuild_label}.db")
    # Give the library's log as many events as ours has for the rebuild comparison.
    target_events = counts[rebuild_label]
    _es_saves(app, story_cls, max(1, target_events - 2 * settings.es_commands * settings.runs - 1))
    f = {k: Figure() for k in ("es_save", "ours_cmd", "cmd_ratio", "es_catch", "ours_rebuild", "rebuild_ratio")}
    for run_index in range(settings.runs):
        es = _es_saves(app, story_cls, settings.es_commands)
        ours = asyncio.run(_ours_commands(ours_db, settings.es_commands))
        f["es_save"].add(es)
        f["ours_cmd"].add(ours)
        f["cmd_ratio"].add(ratio(ours, es))
        events, secs = _es_catch_up(lib, app, settings.workdir / f"s4-view-{run_index}.db")
        remove_db(settings.workdir / f"s4-view-{run_index}.db")
        ours_events, ours_secs = asyncio.run(_ours_rebuild(ours_rebuild_db))
        f["es_catch"].add(events / secs)
        f["ours_rebuild"].add(ours_events / ours_secs)
        f["rebuild_ratio"].add(ratio(ours_events / ours_secs, events / secs))
    app.close()
    table = Table("4. Anchor library: eventsourcing (SQLite backend), same machine, same run",
                  ["operation", "eventsourcing", "Chronicle", "Chronicle ÷ eventsourcing"])
    table.rows.append(["one command (one event saved; ours: SayLine with its decision, projection and view)",
                       f["es_save"].fmt("/s"), f["ours_cmd"].fmt("/s"), f["cmd_ratio"].fmt("×", 2)])
    table.rows.append([f"projection catch-up with tracking vs our rebuild (~{target_events:,} events)",
                       f["es_catch"].fmt(" ev/s"), f["ours_rebuild"].fmt(" ev/s"), f["rebuild_ratio"].fmt("×", 1)])
    table.notes.append("eventsourcing: one in-memory aggregate, `app.save()` after each one-event change (no "
                       "repository read: the most favourable case for it); its catch-up pulls the application's "
                       "notifications (its SQLite recorder has no subscriptions) into a Projection whose "
                       "SQLiteTrackingRecorder view writes a row plus its tracking record per event, from empty. "
                       "Chronicle: the engine API on a copy of the demo database; rebuild = maintenance.rebuild.")
    targets = [
        Target("our command throughput ≥ 2× eventsourcing's one-event save", f["cmd_ratio"].fmt("×", 2),
               f["cmd_ratio"].median >= 2),
        Target("our rebuild ≥ 10× its projection catch-up", f["rebuild_ratio"].fmt("×", 1),
               f["rebuild_ratio"].median >= 10),
    ]
    return [table], targets
