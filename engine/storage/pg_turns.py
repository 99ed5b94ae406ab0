"""Turns spaced in time across every process sharing one PostgreSQL database (Discord's identify buckets).

A turn of `key` is taken under a PostgreSQL advisory lock on that key; the time it was taken is kept
in the `turns` table, so a process that starts right after another one crashed still waits out the
spacing (a lock alone is released the moment its holder dies). Times are the server's clock, the
same for every process.
"""

from __future__ import annotations

import time

from engine.storage.pg_conn import PgConnection

TURN_LOCKS = 0x63686E74  # the first key of pg_advisory_lock(int, int): "chnt", an arbitrary constant


def take_turn(conn: PgConnection, key: int, spacing: float) -> float:
    """Wait until `spacing` seconds have passed since turn `key` was last taken, take it; return the seconds waited."""
    conn.execute("SELECT pg_advisory_lock(?, ?)", (TURN_LOCKS, key))
    try:
        row = conn.execute("SELECT EXTRACT(EPOCH FROM clock_timestamp() - taken_at)::float8 FROM turns WHERE key = ?",
                           (key,)).fetchone()
        waited = 0.0 if row is None else max(0.0, spacing - row[0])
        if waited:
            time.sleep(waited)
        conn.execute("INSERT INTO turns (key, taken_at) VALUES (?, clock_timestamp())"
                     " ON CONFLICT (key) DO UPDATE SET taken_at = excluded.taken_at", (key,))
        return waited
    finally:
        conn.execute("SELECT pg_advisory_unlock(?, ?)", (TURN_LOCKS, key))
