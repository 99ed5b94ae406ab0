"""Section 5: plain sqlite3 doing the same work, as the physical ceiling.

The same inserts per command (the event row, one projected message row, the cursor; one transaction
each) and the same replay (read the log in batches, insert the message rows in one transaction), on
the same schema (Chronicle's migrations), with no Python model, no decision, no thread hop.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path

from bench.commands import timed_messages
from bench.common import Figure, Settings, Table, copy_db, ratio
from engine import Engine
from engine.storage.sqlite import configure, migrate, transaction

EVENT_SQL = ("INSERT INTO events (stream, stream_version, kind, version, chat_id, guild_id, actor_id, payload, "
             "recorded_at, idempotency_key) VALUES (?, ?, 'user_said', 1, ?, 'g', 'u', ?, '2026-01-01T00:00:00', ?)")
MESSAGE_SQL = ("INSERT INTO messages (message_id, chat_id, seq, role, author_id, speaker, character_id, text, "
               "discord_ids, revision, retracted, story_minute, scene_id, recorded_at) VALUES "
               "(?, ?, ?, 'person', 'u', 'Wren', NULL, ?, '[]', 0, 0, 480, NULL, '2026-01-01T00:00:00')")
TEXT = "Did you hear what happened at the Old Mill last night? The bells rang three times at dawn."


def _fresh(path: Path) -> sqlite3.Connection:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    configure(conn, "NORMAL")
    migrate(conn)
    with transaction(conn):
        conn.execute("INSERT INTO chats VALUES ('c', 'g', 'ch', 'h', NULL, 'u', 'open', 480, 480, 'a', 'clear',"
                     " NULL, NULL, 1, NULL, NULL, 'host')")
    return conn


def raw_commands(path: Path, count: int) -> float:
    """Commands/s of plain sqlite3: event + message row + cursor per transaction."""
    conn = _fresh(path)
    payload = json.dumps({"chat_id": "c", "text": TEXT})
    started = time.perf_counter()
    for i in range(count):
        conn.execute("BEGIN IMMEDIATE")
        seq = conn.execute(EVENT_SQL, ("chat:c", i + 1, "c", payload, f"k{i}")).lastrowid
        conn.execute(MESSAGE_SQL, (f"m{i}", "c", seq, TEXT))
        conn.execute("UPDATE projection_cursor SET position = ? WHERE name = 'world'", (seq,))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return count / elapsed


def raw_replay(path: Path) -> float:
    """Events/s of plain sqlite3 replaying that log into empty message rows in one transaction."""
    conn = sqlite3.connect(path, isolation_level=None)
    configure(conn, "NORMAL")
    started = time.perf_counter()
    count, position = 0, 0
    with transaction(conn):
        conn.execute("DELETE FROM messages")
        while True:
            rows = conn.execute("SELECT seq, chat_id, payload FROM events WHERE seq > ? ORDER BY seq LIMIT 2000",
                                (position,)).fetchall()
            if not rows:
                break
            for seq, chat_id, payload in rows:
                conn.execute(MESSAGE_SQL, (f"m{seq}", chat_id, seq, json.loads(payload)["text"]))
            position = rows[-1][0]
            count += len(rows)
        conn.execute("UPDATE projection_cursor SET position = ? WHERE name = 'world'", (position,))
    elapsed = time.perf_counter() - started
    conn.close()
    return count / elapsed


async def _ours(path: Path, count: int) -> tuple[float, float]:
    engine = await Engine.open(path)
    try:
        tput = (await timed_messages(engine, count))[0]
        started = time.perf_counter()
        events = await engine.maintenance.rebuild()
        return tput, events / (time.perf_counter() - started)
    finally:
        await engine.close()


def run(datasets: dict[str, Path], settings: Settings, counts: dict[str, int]) -> list[Table]:
    """Measure and tabulate section 5 (raw vs ours, alternating within each run)."""
    f = {k: Figure() for k in ("raw_cmd", "ours_cmd", "cmd_share", "raw_replay", "ours_replay", "replay_share")}
    ours_db = copy_db(datasets["1k"], settings.workdir / "s5-ours.db")
    for _ in range(settings.runs):
        path = settings.workdir / "s5-raw.db"
        rc = raw_commands(path, settings.raw_events)
        rr = raw_replay(path)
        oc, orr = asyncio.run(_ours(ours_db, settings.commands))
        f["raw_cmd"].add(rc)
        f["ours_cmd"].add(oc)
        f["cmd_share"].add(ratio(oc, rc) * 100)
        f["raw_replay"].add(rr)
        f["ours_replay"].add(orr)
        f["replay_share"].add(ratio(orr, rr) * 100)
    table = Table("5. Raw limit: plain sqlite3, same schema, same machine",
                  ["operation", "plain sqlite3", "Chronicle", "Chronicle as % of plain"])
    table.rows.append(["command transaction (event + message row + cursor)", f["raw_cmd"].fmt("/s"),
                       f["ours_cmd"].fmt("/s"), f["cmd_share"].fmt(" %")])
    table.rows.append(["replay into the world tables", f["raw_replay"].fmt(" ev/s"), f["ours_replay"].fmt(" ev/s"),
                       f["replay_share"].fmt(" %")])
    table.notes.append(f"plain: {settings.raw_events:,} one-transaction inserts on the migrated schema, then that "
                       "log replayed (json.loads of each payload, one message row per event) in one transaction. "
                       f"Chronicle: SayLine through the engine API, then maintenance.rebuild of the ~{counts['1k']:,}"
                       "-event demo database (all event kinds, pydantic-validated payloads).")
    return [table]
