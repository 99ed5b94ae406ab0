"""The event store's contract: one module (engine.store), run on SQLite and PostgreSQL alike."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.errors import ConcurrencyConflict
from engine.store import Stamp
from tests.storage.backends import Backend, postgres_backend, sqlite_backend, weather

WRITES_PER_THREAD = 1_000


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Each backend on a fresh migrated database."""
    if request.param == "sqlite":
        chosen = sqlite_backend(tmp_path / "chronicle.db")
    else:
        chosen = postgres_backend(request.getfixturevalue("pg_url"))
    yield chosen
    chosen.close_all()


def _append(backend: Backend, conn, chat: str, expected: int, count: int = 1, *, key: str | None = None) -> list:
    with backend.transaction(conn):
        return backend.store.append(conn, f"chat:{chat}", expected, [weather(chat, f"w{i}") for i in range(count)],
                                    stamp=Stamp("2026-01-01T00:00:00"), idempotency_key=key)


def test_appended_events_come_back_in_order_with_their_envelope(backend: Backend):
    conn = backend.connect()
    first = _append(backend, conn, "c1", 0, 2, key="discord-1")
    second = _append(backend, conn, "c2", 0)
    assert [e.stream_version for e in first] == [1, 2] and first[0].idempotency_key == "discord-1"
    assert first[1].idempotency_key is None and first[0].seq < first[1].seq < second[0].seq
    read = list(backend.store.read_after(conn, 0))
    assert read == first + second
    assert backend.store.stream_version(conn, "chat:c1") == 2 and backend.store.stream_version(conn, "chat:new") == 0
    assert backend.store.last_seq(conn) == second[0].seq
    assert backend.store.find_by_key(conn, "discord-1") == first[0] and backend.store.find_by_key(conn, "x") is None
    assert backend.store.read_chat(conn, "c1") == first
    assert backend.store.read_chat(conn, "c1", before=first[1].seq) == first[:1]
    assert backend.store.read_recent(conn, limit=2) == [first[1], second[0]]
    assert backend.store.read_recent(conn, chat_id="c2", guild_id="guild-1") == second
    assert list(backend.store.read_after(conn, first[0].seq, until=first[1].seq)) == first[1:]


def test_reading_after_crosses_batch_boundaries(backend: Backend, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(backend.store, "READ_BATCH", 3)
    conn = backend.connect()
    appended = _append(backend, conn, "c1", 0, 10)
    assert list(backend.store.read_after(conn, 0)) == appended


def test_a_stale_expected_version_is_a_conflict_and_records_nothing(backend: Backend):
    conn = backend.connect()
    _append(backend, conn, "c1", 0, 2)
    with pytest.raises(ConcurrencyConflict):
        _append(backend, conn, "c1", 1)
    assert backend.store.stream_version(conn, "chat:c1") == 2
    assert len(list(backend.store.read_after(conn, 0))) == 2


def test_several_commands_events_go_in_with_one_statement_in_order(backend: Backend):
    """`append_many`: each command's events on its own stream from the version it was decided at, seqs in the order
    given, the key on each command's first event; read back exactly as `append` would have recorded them."""
    conn = backend.connect()
    _append(backend, conn, "c2", 0, 2)
    stamp = Stamp("2026-01-01T00:00:00", "cmd-1")
    with backend.transaction(conn):
        appended = backend.store.append_many(conn, [
            backend.store.Appending("chat:c1", 0, [weather("c1", "a"), weather("c1", "b")], stamp, "k-1"),
            backend.store.Appending("chat:c3", 0, [], stamp),
            backend.store.Appending("chat:c2", 2, [weather("c2", "c")], stamp, "k-2")])
    assert [[(e.stream, e.stream_version, e.payload.weather, e.idempotency_key) for e in c] for c in appended] == [
        [("chat:c1", 1, "a", "k-1"), ("chat:c1", 2, "b", None)], [], [("chat:c2", 3, "c", "k-2")]]
    seqs = [e.seq for c in appended for e in c]
    assert seqs == sorted(seqs) and list(backend.store.read_after(conn, seqs[0] - 1)) == appended[0] + appended[2]


def test_a_very_large_lot_goes_in_with_a_few_statements(backend: Backend, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(backend.store, "APPEND_ROWS", 3)
    conn = backend.connect()
    with backend.transaction(conn):
        appended = backend.store.append_many(conn, [
            backend.store.Appending(f"chat:c{i}", 0, [weather(f"c{i}", f"w{j}") for j in range(i)], Stamp("now"))
            for i in range(5)])
    assert [[(e.chat_id, e.stream_version) for e in c] for c in appended] == [
        [(f"c{i}", j + 1) for j in range(i)] for i in range(5)]
    assert list(backend.store.read_after(conn, 0)) == [e for c in appended for e in c]


def test_several_commands_with_one_stale_version_are_a_conflict(backend: Backend):
    """A stale version anywhere in the lot (or a key already recorded) is a ConcurrencyConflict; the caller's
    rollback leaves nothing of it."""
    conn = backend.connect()
    _append(backend, conn, "c1", 0, key="k-0")
    last = backend.store.last_seq(conn)
    for stale in (backend.store.Appending("chat:c1", 0, [weather("c1")], Stamp("now")),
                  backend.store.Appending("chat:c9", 0, [weather("c9")], Stamp("now"), "k-0")):
        with pytest.raises(ConcurrencyConflict), backend.transaction(conn):
            backend.store.append_many(conn, [backend.store.Appending("chat:c2", 0, [weather("c2")], Stamp("now")),
                                             stale])
        assert [e.seq for e in backend.store.read_after(conn, last)] == []


def test_a_recorded_idempotency_key_is_a_conflict_on_both_backends(backend: Backend):
    """Another writer recorded the key first: a ConcurrencyConflict (a retry then finds the key), not a raw error."""
    conn = backend.connect()
    _append(backend, conn, "c1", 0, key="discord-42")
    with pytest.raises(ConcurrencyConflict, match="try again"):
        _append(backend, conn, "c2", 0, key="discord-42")
    assert [e.chat_id for e in backend.store.read_after(conn, 0)] == ["c1"]


def test_appending_needs_the_callers_write_transaction(backend: Backend):
    conn = backend.connect()
    with pytest.raises(RuntimeError, match="transaction"):
        backend.store.append(conn, "chat:c1", 0, [weather("c1")], stamp=Stamp("now"))
    assert list(backend.store.read_after(conn, 0)) == []


def test_an_event_of_another_stream_is_refused(backend: Backend):
    conn = backend.connect()
    with pytest.raises(ValueError, match="belongs to chat:c2"), backend.transaction(conn):
        backend.store.append(conn, "chat:c1", 0, [weather("c2")], stamp=Stamp("now"))


def test_update_and_delete_of_events_are_refused_by_the_database(backend: Backend):
    conn = backend.connect()
    _append(backend, conn, "c1", 0)
    for statement in ("UPDATE events SET kind = 'x'", "DELETE FROM events"):
        with pytest.raises(backend.integrity_error, match="append-only"), backend.transaction(conn):
            conn.execute(statement)
    assert [e.kind for e in backend.store.read_after(conn, 0)] == ["weather_changed"]


def _writer(backend: Backend, chat: str, name: str, failures: list[BaseException]) -> None:
    """Append WRITES_PER_THREAD events one by one, deciding again on every conflict."""
    conn = backend.connect()
    try:
        for i in range(WRITES_PER_THREAD):
            while True:
                try:
                    with backend.transaction(conn):
                        version = backend.store.stream_version(conn, f"chat:{chat}")
                        backend.store.append(conn, f"chat:{chat}", version, [weather(chat, f"{name}-{i}")],
                                             stamp=Stamp("now"))
                    break
                except ConcurrencyConflict:
                    continue
    except BaseException as exc:  # noqa: BLE001  (the test reports it)
        failures.append(exc)


def _run_writers(backend: Backend, chats: list[str]) -> None:
    failures: list[BaseException] = []
    threads = [threading.Thread(target=_writer, args=(backend, chat, f"writer{n}", failures))
               for n, chat in enumerate(chats)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == [] and not any(t.is_alive() for t in threads)


def test_two_writers_on_one_stream_never_share_or_skip_a_version(backend: Backend):
    _run_writers(backend, ["shared", "shared"])
    events = list(backend.store.read_after(backend.connect(), 0))
    assert [e.stream_version for e in events] == list(range(1, 2 * WRITES_PER_THREAD + 1))
    for writer in ("writer0", "writer1"):  # each writer's decisions landed once each, in its own order
        assert [e.payload.weather for e in events if e.payload.weather.startswith(writer)] == [
            f"{writer}-{i}" for i in range(WRITES_PER_THREAD)]


def test_two_writers_on_separate_streams_all_land(backend: Backend):
    _run_writers(backend, ["left", "right"])
    events = list(backend.store.read_after(backend.connect(), 0))
    assert len(events) == 2 * WRITES_PER_THREAD and len({e.seq for e in events}) == len(events)
    for chat in ("left", "right"):
        versions = [e.stream_version for e in events if e.chat_id == chat]
        assert versions == list(range(1, WRITES_PER_THREAD + 1))
