"""The `chronicle` admin commands on PostgreSQL, and `chronicle copy` moving a SQLite community's log there.

Run as real subprocesses with the database given as a `postgresql://` URL (the unix-socket form).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine import store
from engine.projection import projector
from tests.conftest import raw_connection
from tests.pg import PgServer
from tests.test_cli import ROOT, chronicle

BACKEND_ONLY_COLUMNS = {"scope", "search"}  # SQLite's FTS scope, PostgreSQL's tsvector


def _world(location: str) -> dict[str, list[tuple]]:
    """Every projected table's rows (the columns both backends have), sorted."""
    conn = raw_connection(location)
    try:
        out = {}
        for table in projector.tables:
            cursor = conn.execute(f"SELECT * FROM {table.name} LIMIT 0")
            names = [d[0] for d in cursor.description if d[0] not in BACKEND_ONLY_COLUMNS]
            rows = conn.execute(f"SELECT {', '.join(names)} FROM {table.name}").fetchall()
            out[table.name] = sorted((tuple(row) for row in rows), key=repr)
        return out
    finally:
        conn.close()


def _log(location: str) -> list[tuple[Any, ...]]:
    conn = raw_connection(location)
    try:
        return [tuple(row) for row in store.read_rows(conn, 0, limit=10_000_000)]
    finally:
        conn.close()


def test_copy_moves_a_sqlite_log_to_postgresql_and_check_proves_it(tmp_path: Path, pg_server: PgServer, pg_url: str):
    source = tmp_path / "community.db"
    filled = chronicle("demo-data", "--chats", "2", "--messages", "30", "--database", str(source), cwd=ROOT)
    assert filled.returncode == 0, filled.stderr
    rewound = chronicle("rewind", "--chat", _first_chat(source), "--messages", "3", "--database", str(source), cwd=ROOT)
    assert rewound.returncode == 0, rewound.stderr

    copied = chronicle("copy", "--from", str(source), "--to", pg_url, cwd=ROOT)
    assert copied.returncode == 0, copied.stderr
    assert f"copied {len(_log(str(source)))} events" in copied.stdout and "secret" not in copied.stdout
    check = chronicle("check", "--database", pg_url, cwd=ROOT)
    assert check.returncode == 0 and "clean" in check.stdout, check.stdout + check.stderr
    assert _log(pg_url) == _log(str(source))  # every event, same seq, same payload bytes
    assert _world(pg_url) == _world(str(source))

    again = chronicle("copy", "--from", str(source), "--to", pg_url, cwd=ROOT)
    assert again.returncode == 1 and "already holds events" in again.stderr and "Traceback" not in again.stderr
    more = chronicle("demo-data", "--chats", "1", "--messages", "3", "--seed", "9", "--database", pg_url, cwd=ROOT)
    assert more.returncode == 0, more.stderr
    seqs = [row[0] for row in _log(pg_url)]
    assert seqs[len(_log(str(source)))] == seqs[len(_log(str(source))) - 1] + 1  # new appends carry on after the copy

    back = tmp_path / "back.db"
    assert chronicle("copy", "--from", pg_url, "--to", str(back), cwd=ROOT).returncode == 0
    assert chronicle("check", "--database", str(back), cwd=ROOT).returncode == 0
    assert _log(str(back)) == _log(pg_url)


def test_admin_commands_work_on_postgresql(tmp_path: Path, pg_url: str):
    assert chronicle("migrate", "--database", pg_url, cwd=ROOT).returncode == 0
    filled = chronicle("demo-data", "--chats", "2", "--messages", "20", "--database", pg_url, cwd=ROOT)
    assert filled.returncode == 0 and "2 chats" in filled.stdout, filled.stderr
    listed = chronicle("chats", "--database", pg_url, cwd=ROOT)
    chat_id = listed.stdout.split()[0]
    events = chronicle("events", "--chat", chat_id, "--limit", "5", "--json", "--database", pg_url, cwd=ROOT)
    assert [json.loads(line)["chat_id"] for line in events.stdout.splitlines()] == [chat_id] * 5
    assert chronicle("rewind", "--chat", chat_id, "--messages", "2", "--database", pg_url, cwd=ROOT).returncode == 0
    out = tmp_path / "out"
    assert chronicle("export", "--chat", chat_id, "--out", str(out), "--database", pg_url, cwd=ROOT).returncode == 0
    assert (out / f"{chat_id}.md").read_text().startswith("# Story with")
    reproject = chronicle("reproject", "--database", pg_url, cwd=ROOT)
    assert reproject.returncode == 0 and "reprojected the world" in reproject.stdout
    assert chronicle("reproject", "--chat", chat_id, "--database", pg_url, cwd=ROOT).returncode == 0
    check = chronicle("check", "--database", pg_url, cwd=ROOT)
    assert check.returncode == 0 and "clean" in check.stdout, check.stdout + check.stderr


def test_check_on_postgresql_reports_drift_and_leaves_nothing_behind(pg_url: str, tmp_path: Path):
    assert chronicle("demo-data", "--chats", "1", "--messages", "10", "--database", pg_url, cwd=ROOT).returncode == 0
    conn = raw_connection(pg_url)
    try:
        assert conn.execute("UPDATE messages SET text = 'tampered' WHERE seq = (SELECT MAX(seq) FROM messages)").rowcount == 1
    finally:
        conn.close()
    check = chronicle("check", "--database", pg_url, cwd=ROOT)
    assert check.returncode == 1 and "messages: only in live" in check.stdout and "tampered" in check.stdout
    conn = raw_connection(pg_url)
    try:
        temp = conn.execute("SELECT count(*) FROM pg_class WHERE relpersistence = 't'").fetchone()[0]
        assert temp == 0
    finally:
        conn.close()


def test_a_url_that_names_no_server_is_one_line(tmp_path: Path, pg_server: PgServer):
    url = pg_server.url("no_such_database")
    done = chronicle("check", "--database", url, cwd=ROOT)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("chronicle: could not open the database") and "no_such_database" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    bad = chronicle("check", "--database", "mysql://u@h/db", cwd=ROOT)
    assert bad.returncode == 1 and bad.stderr.strip() == (
        "chronicle: --database: mysql:// is not supported: give a SQLite file path or a postgresql:// URL")


def test_postgresql_storage_faults_are_one_line_on_the_cli(pg_url: str):
    for url in ("postgresql://127.0.0.1:1/x", "postgresql://someone:secret@127.0.0.1:1/x"):
        done = chronicle("check", "--database", url, cwd=ROOT)
        assert done.returncode == 1 and "Traceback" not in done.stderr and "secret" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert done.stderr.startswith("chronicle: could not open the database postgresql://") and "127.0.0.1:1" in done.stderr
    conn = raw_connection(pg_url)
    try:
        conn.execute(f'ALTER DATABASE "{pg_url.split("/")[3].split("?")[0]}" SET default_transaction_read_only = on')
    finally:
        conn.close()
    done = chronicle("demo-data", "--chats", "1", "--messages", "2", "--database", pg_url, cwd=ROOT)
    assert done.returncode == 1 and "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "only allows reading" in done.stderr and "default_transaction_read_only" in done.stderr


def _first_chat(database: Path) -> str:
    listed = chronicle("chats", "--database", str(database), cwd=ROOT)
    return listed.stdout.split()[0]
