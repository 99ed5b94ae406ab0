"""Identify turns across processes: turns of one key are spaced by the server's clock, even after a crash."""

from __future__ import annotations

import threading

from engine.storage.pg_conn import PgConnection
from engine.storage.pg_turns import take_turn

SPACING = 0.3


def _taken(url: str) -> dict[int, float]:
    with PgConnection.connect(url) as conn:
        rows = conn.execute("SELECT key, EXTRACT(EPOCH FROM taken_at)::float8 FROM turns").fetchall()
    return dict(rows)


def test_three_processes_taking_one_bucket_are_spaced_and_other_buckets_do_not_wait(pg_url: str):
    times: list[float] = []

    def process() -> None:
        with PgConnection.connect(pg_url) as conn:
            take_turn(conn, 0, SPACING)
            times.append(_taken(pg_url)[0])  # under no lock any more, but only this thread moved key 0 last

    threads = [threading.Thread(target=process) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(times) == 3
    ordered = sorted(times)
    assert all(later - earlier >= SPACING for earlier, later in zip(ordered, ordered[1:], strict=False))
    with PgConnection.connect(pg_url) as conn:
        assert take_turn(conn, 1, SPACING) == 0.0  # another bucket: no wait


def test_a_crashed_holder_does_not_shorten_the_spacing(pg_url: str):
    first = PgConnection.connect(pg_url)
    take_turn(first, 2, SPACING)
    first.close()  # the process died right after its IDENTIFY
    with PgConnection.connect(pg_url) as conn:
        before = _taken(pg_url)[2]
        take_turn(conn, 2, SPACING)
    assert _taken(pg_url)[2] - before >= SPACING
