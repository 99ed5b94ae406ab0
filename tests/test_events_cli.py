"""`chronicle events --after SEQ | --all` dump any length of log as it is read (JSON Lines with --json), on both
backends; `--limit` and `--chat` still work. Real `chronicle` processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import raw_connection
from tests.test_cli import ROOT, chronicle


def _seqs(done: subprocess.CompletedProcess) -> list[int]:
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return [json.loads(line)["seq"] for line in done.stdout.splitlines()]


def _log(location: str) -> list[tuple[int, str | None]]:
    conn = raw_connection(location)
    try:
        return [(row[0], row[1]) for row in conn.execute("SELECT seq, chat_id FROM events ORDER BY seq")]
    finally:
        conn.close()


def test_events_after_and_all_on_both_backends(location: str):
    filled = chronicle("demo-data", "--chats", "2", "--messages", "40", "--database", location, cwd=ROOT)
    assert filled.returncode == 0, filled.stderr
    log = _log(location)
    seqs, db = [seq for seq, _ in log], ("--database", location)
    assert _seqs(chronicle("events", "--all", "--json", *db, cwd=ROOT)) == seqs
    assert _seqs(chronicle("events", "--after", str(seqs[9]), "--limit", "5", "--json", *db, cwd=ROOT)) == seqs[10:15]
    assert _seqs(chronicle("events", "--after", str(seqs[-1]), "--json", *db, cwd=ROOT)) == []
    chat = next(chat for _, chat in log if chat)
    in_chat = [seq for seq, c in log if c == chat]
    assert _seqs(chronicle("events", "--chat", chat, "--all", "--json", *db, cwd=ROOT)) == in_chat
    assert _seqs(chronicle("events", "--chat", chat, "--limit", "3", "--json", *db, cwd=ROOT)) == in_chat[-3:]
    assert _seqs(chronicle("events", "--json", *db, cwd=ROOT)) == seqs[-20:]  # the default: the newest 20
    assert _seqs(chronicle("events", "--limit", "150000", "--json", *db, cwd=ROOT)) == seqs  # past the old 100,000
    plain = chronicle("events", "--after", str(seqs[-3]), *db, cwd=ROOT)
    assert [line.split()[0] for line in plain.stdout.splitlines()] == [str(s) for s in seqs[-2:]]
    both = chronicle("events", "--all", "--after", "3", *db, cwd=ROOT)
    assert both.returncode == 2 and both.stderr.startswith("chronicle: ") and len(both.stderr.splitlines()) == 1


def test_a_dump_read_by_a_pipe_that_closes_early_ends_quietly(tmp_path: Path):
    db = tmp_path / "big.db"
    assert chronicle("demo-data", "--chats", "4", "--messages", "200", "--database", str(db), cwd=ROOT).returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHRONICLE_", "DISCORD_"))}
    command = f'"{sys.executable}" -m bot.cli events --all --json --database "{db}" 2>"{tmp_path / "err"}" | head -n 1'
    done = subprocess.run(["sh", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert json.loads(done.stdout)["seq"] == 1
    assert (tmp_path / "err").read_text() == ""  # no BrokenPipeError traceback
