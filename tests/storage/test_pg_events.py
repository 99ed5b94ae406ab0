"""PostgreSQL-only behaviour of the event store: the write transaction's table lock, holes in seq, aborted transactions."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from engine import store
from engine.errors import ConcurrencyConflict
from engine.storage.pg_conn import PgConnection, begin_write, savepoint, transaction, write_transaction
from engine.store import Stamp
from tests.storage.backends import weather


def _append(conn: PgConnection, chat: str, expected: int, *, key: str | None = None) -> list:
    with write_transaction(conn):
        return store.append(conn, f"chat:{chat}", expected, [weather(chat)], stamp=Stamp("now"),
                            idempotency_key=key)


def _wait_for_lock_waiter(observer: PgConnection, timeout: float = 10.0) -> None:
    """Return once some session waits for a lock on `events`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        waiting = observer.execute("SELECT count(*) FROM pg_locks WHERE relation = 'events'::regclass"
                                   " AND NOT granted").fetchone()[0]
        if waiting:
            return
        time.sleep(0.01)
    raise AssertionError("the second writer never waited for the events lock")


def test_an_open_append_holds_back_other_writers_and_readers_see_commit_order(pg_url: str):
    first, second, projector = (PgConnection.connect(pg_url) for _ in range(3))
    try:
        begin_write(first)
        held = store.append(first, "chat:a", 0, [weather("a")], stamp=Stamp("now"))
        landed: list = []
        writer = threading.Thread(target=lambda: landed.extend(_append(second, "b", 0)))
        writer.start()
        _wait_for_lock_waiter(projector)
        assert writer.is_alive() and list(store.read_after(projector, 0)) == []
        first.execute("COMMIT")
        writer.join(timeout=10)
        assert [e.seq for e in store.read_after(projector, 0)] == [held[0].seq, landed[0].seq]
        assert held[0].seq < landed[0].seq
    finally:
        for conn in (first, second, projector):
            conn.close()


def test_a_rolled_back_append_leaves_a_hole_that_readers_pass(pg_conn: PgConnection):
    before = _append(pg_conn, "c1", 0)
    with pytest.raises(RuntimeError), write_transaction(pg_conn):
        store.append(pg_conn, "chat:c1", 1, [weather("c1")], stamp=Stamp("now"))
        raise RuntimeError("the handler failed")
    after = _append(pg_conn, "c1", 1)
    assert after[0].seq == before[0].seq + 2  # seq before[0].seq + 1 is gone for good
    assert list(store.read_after(pg_conn, 0)) == before + after
    assert list(store.read_after(pg_conn, before[0].seq)) == after
    assert store.last_seq(pg_conn) == after[0].seq


def test_truncate_and_even_a_no_op_delete_are_refused(pg_conn: PgConnection):
    _append(pg_conn, "c1", 0)
    for statement in ("TRUNCATE events", "DELETE FROM events WHERE false", "UPDATE events SET kind = kind"):
        with pytest.raises(psycopg.errors.RestrictViolation, match="append-only"), transaction(pg_conn):
            pg_conn.execute(statement)
    assert len(list(store.read_after(pg_conn, 0))) == 1


def test_a_conflict_aborts_the_transaction_but_a_savepoint_keeps_the_group(pg_conn: PgConnection):
    """Group commit: one savepoint per command; a conflicting command is undone, its neighbours commit."""
    _append(pg_conn, "c1", 0)
    with write_transaction(pg_conn):
        with pytest.raises(ConcurrencyConflict), savepoint(pg_conn, "cmd_1"):
            store.append(pg_conn, "chat:c1", 0, [weather("c1")], stamp=Stamp("now"))
        with savepoint(pg_conn, "cmd_2"):
            store.append(pg_conn, "chat:c2", 0, [weather("c2")], stamp=Stamp("now"))
    assert [(e.chat_id, e.stream_version) for e in store.read_after(pg_conn, 0)] == [("c1", 1), ("c2", 1)]
    with write_transaction(pg_conn), pytest.raises(psycopg.errors.InFailedSqlTransaction):
        with pytest.raises(ConcurrencyConflict):
            store.append(pg_conn, "chat:c1", 0, [weather("c1")], stamp=Stamp("now"))
        pg_conn.execute("SELECT 1")  # without a savepoint the whole transaction is lost


def test_a_projector_following_its_cursor_under_concurrent_writers_misses_nothing(pg_url: str):
    """The lesson of the table lock: seq order is commit order, so `seq > cursor` never skips a late commit."""
    stop, seen, appended = threading.Event(), [], []
    failures: list[BaseException] = []

    def write(chat: str) -> None:
        with PgConnection.connect(pg_url) as conn:
            try:
                for version in range(300):
                    appended.extend(e.seq for e in _append(conn, chat, version))
            except BaseException as exc:  # noqa: BLE001  (reported below)
                failures.append(exc)

    def follow() -> None:
        with PgConnection.connect(pg_url) as conn:
            while True:
                done = stop.is_set()
                for event in store.read_after(conn, seen[-1] if seen else 0):
                    seen.append(event.seq)
                if done:
                    return

    writers = [threading.Thread(target=write, args=(chat,)) for chat in ("x", "y", "z")]
    follower = threading.Thread(target=follow)
    for thread in (*writers, follower):
        thread.start()
    for thread in writers:
        thread.join(timeout=60)
    stop.set()
    follower.join(timeout=60)
    assert failures == []
    assert seen == sorted(appended) and len(seen) == 900
