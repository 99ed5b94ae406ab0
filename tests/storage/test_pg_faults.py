"""PostgreSQL storage faults are one StorageError line each, naming the server (never its password) and the fix;
a lost connection is reported once and the next command connects again, never running the failed one twice.

Real faults on the embedded server where one can be made (a terminated backend, a read-only database, a revoked
privilege, a role's connection limit, a lock held elsewhere, a timeout, a closed port); the SQLSTATEs a test
server can't be driven into (a full disk, no memory) are classified from psycopg's own error classes.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any

import psycopg
import pytest
from psycopg import errors

from bot.discord.errors import STORAGE_TEXT
from engine import Actor, Engine, StorageError
from engine.commands import SayLine
from engine.storage import open_storage, redact
from engine.storage.pg_faults import classify
from tests.conftest import raw_connection, story

SERVER = "postgresql://chronicle:***@db.example:5432/story"


def _one_line(error: BaseException, location: str) -> str:
    text = str(error)
    assert isinstance(error, StorageError) and "\n" not in text and location in text, text
    assert "secret" not in text
    return text


@pytest.mark.parametrize(("error", "opening", "kind", "words"), [
    (errors.DiskFull("could not extend file: No space left on device"), False, "full", "disk"),
    (errors.OutOfMemory("out of memory"), False, "overloaded", "out of memory"),
    (errors.TooManyConnections("sorry, too many clients already"), True, "overloaded", "out of connections"),
    (errors.ReadOnlySqlTransaction("cannot execute INSERT in a read-only transaction"), False, "unwritable",
     "only allows reading"),
    (errors.InsufficientPrivilege("permission denied for table events"), False, "unwritable", "may not"),
    (errors.LockNotAvailable("canceling statement due to lock timeout"), False, "locked", "waiting"),
    (errors.QueryCanceled("canceling statement due to statement timeout"), False, "locked", "waiting"),
    (errors.AdminShutdown("terminating connection due to administrator command"), False, "disconnected",
     "may or may not"),
    (errors.CannotConnectNow("the database system is starting up"), True, "unreachable", "could not open"),
    (psycopg.OperationalError('connection failed: connection to server at "10.0.0.1", port 5432 failed: '
                              "Connection refused\n\tIs the server running?"), True, "unreachable", "Connection refused"),
    (psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly"), False,
     "disconnected", "server closed the connection"),
    (errors.IoError("could not read block 7"), False, "io", "server's log"),
])
def test_each_storage_fault_is_one_line_of_a_fitting_kind(error: Exception, opening: bool, kind: str, words: str):
    storage = classify(error, SERVER, opening=opening)
    assert storage is not None and storage.kind == kind and storage.path == SERVER
    assert words in _one_line(storage, SERVER)


@pytest.mark.parametrize("error", [errors.UniqueViolation("duplicate key"), errors.SerializationFailure("retry"),
                                   errors.SyntaxError("oops"), ValueError("not a database error")])
def test_errors_about_the_data_or_the_code_are_not_storage_faults(error: Exception):
    assert classify(error, SERVER) is None


def test_the_bot_has_words_for_every_kind_postgresql_adds():
    assert {"unreachable", "disconnected", "overloaded"} <= STORAGE_TEXT.keys()


@pytest.mark.parametrize("url", ["postgresql://127.0.0.1:1/story", "postgresql://chronicle:secret@127.0.0.1:1/story"])
async def test_a_server_that_does_not_answer_is_one_line_at_open(url: str):
    with pytest.raises(StorageError) as caught:
        await Engine.open(url)
    assert caught.value.kind == "unreachable"
    assert "could not open the database" in _one_line(caught.value, redact(url))


async def test_a_missing_database_is_one_line_at_open(pg_server: Any):
    url = pg_server.url("no_such_database")
    with pytest.raises(StorageError) as caught:
        await Engine.open(url)
    assert caught.value.kind == "unreachable" and 'database "no_such_database" does not exist' in str(caught.value)


def _terminate(url: str, application: str) -> int:
    """Terminate every backend of `application` on the database at `url` (as a server restart would)."""
    conn = raw_connection(url)
    try:
        return len(conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = ?"
                                " AND datname = current_database()", (application,)).fetchall())
    finally:
        conn.close()


async def test_a_connection_terminated_mid_work_is_one_line_and_the_next_write_connects_again(pg_url: str):
    db = await open_storage(pg_url)
    runs: list[int] = []

    def slow_insert(conn: Any) -> None:
        runs.append(1)
        conn.execute("INSERT INTO projection_meta (name, value) VALUES ('mark', 'x')")
        conn.execute("SELECT pg_sleep(5)")

    try:
        timer = threading.Timer(0.5, _terminate, (pg_url, "chronicle-writer"))
        timer.start()
        with pytest.raises(StorageError) as caught:
            await db.write(slow_insert)
        timer.join()
        assert caught.value.kind == "disconnected" and "may or may not" in _one_line(caught.value, db.location)
        assert runs == [1]  # reported, not run again: a commit may have happened
        await db.write(lambda conn: conn.execute("INSERT INTO projection_meta (name, value) VALUES ('next', 'y')"))
        names = await db.read(lambda conn: [r[0] for r in conn.execute("SELECT name FROM projection_meta")])
        assert "next" in names and "mark" not in names
    finally:
        await db.close()


async def test_connections_lost_while_idle_come_back_without_an_error(pg_url: str, admin: Actor):
    engine = await Engine.open(pg_url)
    try:
        await story(engine, admin)
        assert _terminate(pg_url, "chronicle-writer") == 1 and _terminate(pg_url, "chronicle-reader") == 1
        await asyncio.sleep(0.1)
        await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id="after-restart", text="said after the server dropped us"))
        lines = await engine.reads.transcript((await engine.reads.get_chat("chan-1")).chat_id, limit=10)
        assert lines[-1].text == "said after the server dropped us"
    finally:
        await engine.close()


async def test_a_server_gone_for_a_while_refuses_commands_with_one_line_then_serves_again(pg_url: str, admin: Actor):
    engine = await Engine.open(pg_url)
    name = pg_url.split("/")[3].split("?")[0]
    admin_conn = raw_connection(pg_url.replace(f"/{name}?", "/postgres?"))
    try:
        await story(engine, admin)
        _terminate(pg_url, "chronicle-writer")
        admin_conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')  # as a server still starting up
        with pytest.raises(StorageError) as caught:
            await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id="refused", text="never recorded"))
        assert caught.value.kind == "unreachable" and "not currently accepting connections" in str(caught.value)
        _one_line(caught.value, engine.location)
        admin_conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id="served", text="recorded once the server is back"))
        texts = [m.text for m in await engine.reads.transcript((await engine.reads.get_chat("chan-1")).chat_id, limit=10)]
        assert texts[-1] == "recorded once the server is back" and "never recorded" not in texts
    finally:
        admin_conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        admin_conn.close()
        await engine.close()


async def test_a_read_only_database_is_one_line_at_open_and_for_a_running_engine(pg_url: str, admin: Actor):
    engine = await Engine.open(pg_url)
    try:
        await story(engine, admin)
        name = pg_url.split("/")[3].split("?")[0]
        conn = raw_connection(pg_url)
        try:
            conn.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')  # new connections
        finally:
            conn.close()
        _terminate(pg_url, "chronicle-writer")  # the running engine's next connection is a new one
        with pytest.raises(StorageError) as caught:
            await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id="refused", text="never recorded"))
        assert caught.value.kind == "unwritable" and "only allows reading" in _one_line(caught.value, engine.location)
    finally:
        await engine.close()
    with pytest.raises(StorageError) as caught:
        await Engine.open(pg_url)
    assert caught.value.kind == "unwritable" and "could not open" not in str(caught.value)
    _one_line(caught.value, redact(pg_url))


def _role(url: str, *grants: str, options: str = "") -> str:
    """A new login role given `grants`; return `url` connecting as it."""
    role = f"limited_{uuid.uuid4().hex[:8]}"
    conn = raw_connection(url)
    try:
        conn.execute(f"CREATE ROLE {role} LOGIN {options}")
        for grant in grants:
            conn.execute(grant.format(role=role))
    finally:
        conn.close()
    return url.replace("postgres:@", f"{role}:@", 1)


async def test_a_revoked_privilege_is_one_line(pg_url: str, admin: Actor):
    url = _role(pg_url, "GRANT USAGE, CREATE ON SCHEMA public TO {role}",
                "GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}", "GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}")
    engine = await Engine.open(url)
    try:
        await story(engine, admin)
        conn = raw_connection(pg_url)
        try:
            conn.execute(f"REVOKE INSERT ON messages FROM {url.split('//')[1].split(':')[0]}")
        finally:
            conn.close()
        with pytest.raises(StorageError) as caught:
            await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id="refused", text="never recorded"))
        assert caught.value.kind == "unwritable" and "permission denied for table messages" in str(caught.value)
        _one_line(caught.value, engine.location)
    finally:
        await engine.close()


async def test_a_role_out_of_connections_is_one_line_at_open(pg_url: str):
    with pytest.raises(StorageError) as caught:
        await Engine.open(_role(pg_url, options="CONNECTION LIMIT 0"))
    assert caught.value.kind == "overloaded" and "too many connections" in str(caught.value)


async def test_a_lock_held_elsewhere_and_a_statement_timeout_are_one_line_and_pass(pg_url: str, admin: Actor):
    engine = await Engine.open(pg_url, busy_ms=300)
    other = raw_connection(pg_url)
    try:
        await story(engine, admin)
        other.execute("BEGIN")
        other.execute("LOCK TABLE events IN EXCLUSIVE MODE")  # another program writing, for far too long
        with pytest.raises(StorageError) as caught:
            await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id="waited", text="never recorded"))
        assert caught.value.kind == "locked" and "lock timeout" in _one_line(caught.value, engine.location)
        other.execute("ROLLBACK")
        await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id="passed", text="recorded once the lock is gone"))

        def slow(conn: Any) -> None:
            conn.execute("SET LOCAL statement_timeout = 50")
            conn.execute("SELECT pg_sleep(1)")

        with pytest.raises(StorageError) as caught:
            await engine.db.write(slow)
        assert caught.value.kind == "locked" and "statement timeout" in str(caught.value)
    finally:
        other.close()
        await engine.close()
