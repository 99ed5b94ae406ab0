"""The `chronicle` admin CLI, run as a real subprocess against a real database file."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def chronicle(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `chronicle ARGS` with a clean environment."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CHRONICLE_", "DISCORD_"))}
    clean.update(env or {})
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=cwd, env=clean, capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database filled by `chronicle demo-data`."""
    db = tmp_path_factory.mktemp("cli") / "demo.db"
    done = chronicle("demo-data", "--chats", "3", "--messages", "40", "--database", str(db), cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "3 chats" in done.stdout
    return db


def test_demo_data_then_check_is_clean_and_reproject_keeps_it_clean(demo_db: Path):
    check = chronicle("check", "--database", str(demo_db), cwd=ROOT)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "clean" in check.stdout
    reproject = chronicle("reproject", "--database", str(demo_db), cwd=ROOT)
    assert reproject.returncode == 0 and "events/s" in reproject.stdout
    assert chronicle("check", "--database", str(demo_db), cwd=ROOT).returncode == 0


def test_check_reports_drift_and_exits_1(demo_db: Path, tmp_path: Path):
    copy = tmp_path / "drift.db"
    src, dst = sqlite3.connect(demo_db), sqlite3.connect(copy)
    src.backup(dst)
    src.close()
    with dst:
        dst.execute("UPDATE chats SET weather = 'tampered' WHERE rowid = 1")
    dst.close()
    check = chronicle("check", "--database", str(copy), cwd=ROOT)
    assert check.returncode == 1
    assert "chats: only in live" in check.stdout and "tampered" in check.stdout and "DRIFT" in check.stdout


def _first_chat(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT chat_id FROM chats ORDER BY created_seq LIMIT 1").fetchone()[0]
    finally:
        conn.close()


def test_events_json_chats_export_and_single_chat_reproject(demo_db: Path, tmp_path: Path):
    chat_id = _first_chat(demo_db)
    listed = chronicle("chats", "--database", str(demo_db), cwd=ROOT)
    assert chat_id in listed.stdout
    events = chronicle("events", "--chat", chat_id, "--limit", "5", "--json", "--database", str(demo_db), cwd=ROOT)
    rows = [json.loads(line) for line in events.stdout.splitlines()]
    assert len(rows) == 5 and all(r["chat_id"] == chat_id for r in rows)
    assert [r["seq"] for r in rows] == sorted(r["seq"] for r in rows)
    out = tmp_path / "export"
    assert chronicle("export", "--chat", chat_id, "--out", str(out), "--database", str(demo_db), cwd=ROOT).returncode == 0
    lines = (out / f"{chat_id}.events.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["kind"] == "chat_created"
    assert (out / f"{chat_id}.md").read_text().startswith("# Story with")
    one = chronicle("reproject", "--chat", chat_id, "--database", str(demo_db), cwd=ROOT)
    assert one.returncode == 0 and chat_id in one.stdout
    assert chronicle("check", "--database", str(demo_db), cwd=ROOT).returncode == 0


def test_rewind_from_the_cli(tmp_path: Path):
    db = tmp_path / "rw.db"
    assert chronicle("demo-data", "--chats", "1", "--messages", "10", "--database", str(db), cwd=ROOT).returncode == 0
    chat_id = _first_chat(db)
    done = chronicle("rewind", "--chat", chat_id, "--messages", "2", "--database", str(db), cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "2 message(s) left the story" in done.stdout
    assert chronicle("check", "--database", str(db), cwd=ROOT).returncode == 0


def test_errors_are_one_line_and_exit_non_zero(tmp_path: Path):
    db = str(tmp_path / "e.db")
    unknown = chronicle("rewind", "--chat", "chat_nope", "--messages", "1", "--database", db, cwd=ROOT)
    assert unknown.returncode == 1
    assert unknown.stderr.strip().count("\n") == 0 and "no chat with id" in unknown.stderr
    bad_setting = chronicle("check", cwd=tmp_path, env={"CHRONICLE_LOG_FORMAT": "xml"})
    assert bad_setting.returncode == 2 and "CHRONICLE_LOG_FORMAT" in bad_setting.stderr
    zero = chronicle("demo-data", "--chats", "0", "--database", db, cwd=ROOT)
    assert zero.returncode == 2 and zero.stderr.count("\n") == 1 and "from 1 to" in zero.stderr
    for args in (("rewind", "--chat", "c", "--messages", "999999999999999999999"), ("rewind", "--chat", "c", "--seq",
                 "-5"), ("events", "--limit", "-1"), ("events", "--limit", "0")):
        refused = chronicle(*args, "--database", db, cwd=ROOT)
        assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr


def test_runs_from_any_directory_with_no_config(tmp_path: Path):
    done = chronicle("migrate", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "data" / "chronicle.db").exists()


def test_json_logs_record_each_append_with_seq_kind_and_chat(tmp_path: Path):
    done = chronicle("demo-data", "--chats", "1", "--messages", "4", "--database", str(tmp_path / "j.db"), cwd=ROOT,
                     env={"CHRONICLE_LOG_FORMAT": "json", "CHRONICLE_LOG_LEVEL": "info"})
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    appended = [r for r in records if r["event"] == "event_appended"]
    assert appended and all({"seq", "kind", "chat", "level", "timestamp"} <= set(r) for r in appended)
    assert [r["seq"] for r in appended] == sorted(r["seq"] for r in appended)
    assert any(r["kind"] == "user_said" and r["chat"] for r in appended)
