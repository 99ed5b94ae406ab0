"""Story databases of a given log size, built with demo-data through the engine API and cached.

The sizes are built as one chain (each is the previous one plus more stories), each checkpointed
and copied aside, so a full run builds the ~1M-event database once. The cache lives across runs
under the cache directory, keyed by a hash of what decides the contents (demo.py, the event payloads; newer
migrations are applied when a copy is opened, as on any existing database); `--fresh` ignores it.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import sys
import time
from pathlib import Path

from bench.common import Settings, copy_db, events_source, remove_db
from engine import Engine
from engine.demo import fill

ROOT = Path(__file__).resolve().parent.parent


def _key(settings: Settings) -> str:
    h = hashlib.sha256()
    h.update(events_source())  # later migrations apply at open
    files = [ROOT / "engine" / "demo.py"]
    for f in files:
        h.update(f.read_bytes())
    h.update(repr(sorted(settings.sizes.items())).encode())
    return h.hexdigest()[:12]


def event_count(path: Path) -> int:
    """How many events the database's log holds."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
    finally:
        conn.close()


def _checkpoint(path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


async def _grow(path: Path, chats: int, messages: int, seed: int) -> None:
    engine = await Engine.open(path)
    try:
        started = time.perf_counter()
        stats = await fill(engine, chats=chats, messages=messages, seed=seed)
        print(f"  demo-data: +{stats.chats} chats, +{stats.messages} messages -> {stats.events:,} events "
              f"({time.perf_counter() - started:.0f}s)", file=sys.stderr, flush=True)
    finally:
        await engine.close()


def build_all(settings: Settings, *, fresh: bool = False) -> dict[str, Path]:
    """Paths of a read-only database per size label (build what the cache lacks)."""
    folder = settings.cache / f"datasets-{_key(settings)}"
    folder.mkdir(parents=True, exist_ok=True)
    out = {label: folder / f"{label}.db" for label in settings.sizes}
    if not fresh and all(p.exists() for p in out.values()):
        return out
    work = folder / "building.db"
    remove_db(work)
    chats_so_far = 0
    for label, (chats, messages) in settings.sizes.items():
        print(f"building the {label} database ...", file=sys.stderr, flush=True)
        asyncio.run(_grow(work, chats - chats_so_far, messages, seed=7))
        chats_so_far = chats
        _checkpoint(work)
        copy_db(work, out[label])
    remove_db(work)
    return out
