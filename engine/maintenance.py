"""Maintenance: drift check against a fresh rebuild (both backends), copying a log between databases, chat export."""

from __future__ import annotations

import json
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine import projection, queries, store
from engine.errors import EngineError, InvalidInput, StorageError
from engine.storage import connect, is_database_url, redact, snapshot, sqlite_faults
from engine.storage.port import Conn
from engine.storage.sqlite import configure, transaction
from engine.storage.sqlite_readonly import connect_read_only
from engine.storytime import format_clock
from engine.views import ChatView, CheckReport

MAX_DIFFS_PER_TABLE = 20


def _snapshot(source: Path, target: Path) -> None:
    """Copy a consistent snapshot of a live database file (SQLite's backup API), reading it read-only."""
    src = connect_read_only(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


QUICK_CHECK_LINES = 20
DAMAGE = ("corrupt", "not_a_database")


def damage_report(path: Path) -> list[str]:
    """What is wrong with a database file itself (not a database, cut short, damaged pages); [] when sound.

    Reads only: the header, then SQLite's `PRAGMA quick_check` on a read-only connection
    (engine.storage.sqlite_readonly).
    """
    path = Path(path)
    if not path.exists():
        return [f"{path} does not exist"]
    refused = sqlite_faults.inspect_file(path)
    if refused is not None:
        return [str(refused)]
    try:
        conn = connect_read_only(path)
        try:
            rows = [row[0] for row in conn.execute(f"PRAGMA quick_check({QUICK_CHECK_LINES})")]
        finally:
            conn.close()
    except sqlite3.Error as exc:  # damage is reported; anything else (a lock) is not damage
        fault = sqlite_faults.classify(exc, path)
        return [f"{path}: SQLite's quick_check failed: {exc}"] if fault and fault.kind in DAMAGE else []
    except StorageError as exc:
        return [str(exc)] if exc.kind in DAMAGE else []
    return [] if rows == ["ok"] else [f"{path}: {row}" for row in rows]


def check(db: Any) -> CheckReport:
    """Rebuild the world of an open Storage from its log, apart from the live one, and diff (run in a thread).

    A SQLite file is first checked to still be the one open (a deleted or replaced file is its one-line
    StorageError), then read read-only: a snapshot in a temporary folder is rebuilt, never a file beside it."""
    if db.dialect == "postgres":
        from engine.storage.pg_check import check_postgres

        return check_postgres(db.url)
    return check_database(db.source())


def import_log(conn: Conn, source: str | Path) -> int:
    """Copy every event of the log at `source` into this empty log (same seqs, same bytes), then rebuild the world.

    Runs in the target's write transaction: the copy and its world commit together or not at all.
    The source is read in one snapshot, so a live source gives the log as it was at one moment.
    """
    if (present := store.last_seq(conn)) != 0:
        raise EngineError(f"the target already holds events (up to seq {present}); copy needs a new, empty database")
    source_conn = _connect_source(source)
    copied, after = 0, 0
    try:
        with snapshot(source_conn):
            while rows := store.read_rows(source_conn, after):
                store.insert_rows(conn, rows)
                copied, after = copied + len(rows), rows[-1][0]
    finally:
        source_conn.close()
    store.continue_seq(conn)
    projection.rebuild_in(conn)
    return copied


def _connect_source(source: str | Path) -> Any:
    """A connection to the log to copy; a PostgreSQL server that can't be used is one StorageError naming it."""
    if not is_database_url(source):
        if not Path(source).is_file():
            raise FileNotFoundError(f"no database file at {source}")
        return connect(source, read_only=True)
    from engine.storage.pg_faults import as_storage_error

    with as_storage_error(redact(source), opening=True):
        return connect(source)


def check_database(path: Path) -> CheckReport:
    """Rebuild a copy of `path` from its log and diff every projected table against the live rows."""
    with tempfile.TemporaryDirectory(prefix="chronicle-check-") as scratch:
        live, rebuilt = Path(scratch) / "live.db", Path(scratch) / "rebuilt.db"
        _snapshot(path, live)
        _snapshot(live, rebuilt)
        conn = sqlite3.connect(rebuilt)
        try:
            configure(conn, "OFF")
            with transaction(conn):
                events = projection.rebuild_in(conn)
            conn.execute("ATTACH DATABASE ? AS live", (str(live),))
            differences = [*_fts_problems(conn)]
            for table in projection.projector.tables:
                differences += _diff_table(conn, table.name)
            return CheckReport(len(projection.projector.tables), events, tuple(differences))
        finally:
            conn.close()


def _fts_problems(conn: sqlite3.Connection) -> list[str]:
    problems = []
    for index, rows in (("memories_fts", "memories"), ("messages_fts", "messages")):
        try:
            conn.execute(f"INSERT INTO live.{index} ({index}) VALUES ('integrity-check')")
        except sqlite3.DatabaseError as exc:
            problems.append(f"{index}: the live full-text index does not match the {rows} ({exc})")
    return problems


def _diff_table(conn: sqlite3.Connection, table: str) -> list[str]:
    """Rows only in the live table, and rows only in the rebuilt one."""
    out: list[str] = []
    for label, left, right in (("only in live", "live", "main"), ("only in rebuild", "main", "live")):
        rows = conn.execute(
            f"SELECT * FROM {left}.{table} EXCEPT SELECT * FROM {right}.{table} LIMIT ?", (MAX_DIFFS_PER_TABLE + 1,)
        ).fetchall()
        out += [f"{table}: {label}: {row!r}" for row in rows[:MAX_DIFFS_PER_TABLE]]
        if len(rows) > MAX_DIFFS_PER_TABLE:
            out.append(f"{table}: {label}: … and more")
    return out


@dataclass(frozen=True, slots=True)
class ChatExport:
    """A chat's events or live lines (JSON Lines) and transcript (Markdown); `full` when it is the whole log."""

    chat_id: str
    events_jsonl: str
    transcript_md: str
    full: bool = True

    def write_to(self, folder: Path) -> tuple[Path, Path]:
        """Write `<chat>.events.jsonl` and `<chat>.md` into `folder` (made if needed); a place that can't
        be written is one InvalidInput line naming it."""
        events, transcript = folder / f"{self.chat_id}.events.jsonl", folder / f"{self.chat_id}.md"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            events.write_text(self.events_jsonl, encoding="utf-8")
            transcript.write_text(self.transcript_md, encoding="utf-8")
        except ValueError:  # a NUL byte in the path
            raise InvalidInput("can't write the export there: the folder name holds a NUL character.") from None
        except OSError as exc:
            where = exc.filename or folder
            raise InvalidInput(f"can't write the export to {where}: {exc.strerror or exc}. Choose a folder you "
                               "can write to (out:…).") from None
        return events, transcript


def export_chat(conn: Conn, chat: ChatView, *, full: bool = True) -> ChatExport:
    """The whole log of the chat (rewound and deleted lines too), or only the live story."""
    if full:
        lines = [json.dumps({"seq": e.seq, "kind": e.kind, "version": e.version, "stream": e.stream,
                             "stream_version": e.stream_version, "actor_id": e.actor_id,
                             "recorded_at": e.recorded_at, "command_id": e.command_id, "cause": e.cause,
                             "payload": e.payload.model_dump(mode="json")}, ensure_ascii=False)
                 for e in store.read_chat(conn, chat.chat_id)]
    else:
        lines = [json.dumps({"role": m.role, "speaker": m.speaker, "text": m.text,
                             "story_time": format_clock(m.story_minute)}, ensure_ascii=False)
                 for m in queries.list_messages(conn, chat.chat_id, limit=10_000_000)]
    return ChatExport(chat.chat_id, "\n".join(lines) + ("\n" if lines else ""), _markdown(conn, chat), full)


def _markdown(conn: Conn, chat: ChatView) -> str:
    host = queries.find_character_by_id(conn, chat.host_id)
    guest = queries.find_character_by_id(conn, chat.guest_id) if chat.guest_id else None
    cast = " and ".join(c.name for c in (host, guest) if c is not None)
    out = [f"# Story with {cast}", "",
           f"*{chat.anchor} · {format_clock(chat.story_minute)} · weather: {chat.weather} · {chat.status}*", ""]
    scene_id = None
    for m in queries.list_messages(conn, chat.chat_id, limit=10_000_000):
        if m.scene_id != scene_id and m.scene_id is not None:
            scene = queries.find_scene(conn, m.scene_id)
            out += [f"## {scene.title if scene else 'Scene'}", ""]
        scene_id = m.scene_id
        if m.role == "narrator":
            out += [f"*— {m.text} —*", ""]
        else:
            out += [f"**{m.speaker}** ({format_clock(m.story_minute)}): {m.text}", ""]
    return "\n".join(out)
