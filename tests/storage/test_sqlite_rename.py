"""Renaming many SQLite tables in one edit of the schema (a reproject's switch): the same schema as one ALTER TABLE
per table, every row and index where it was, other connections following, and a rollback undoing it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from engine.storage.sqlite import configure
from engine.storage.sqlite_rename import rename_tables

SCHEMA = """
CREATE TABLE chats (chat_id TEXT PRIMARY KEY, channel TEXT NOT NULL UNIQUE);
CREATE TABLE lines (line_id TEXT PRIMARY KEY, chat_id TEXT NOT NULL REFERENCES chats (chat_id), text TEXT NOT NULL);
CREATE INDEX lines_by_chat ON lines (chat_id);
CREATE VIRTUAL TABLE lines_fts USING fts5(text, content='lines', content_rowid='rowid');
"""
COPY = """
CREATE TABLE chats__next (chat_id TEXT PRIMARY KEY, channel TEXT NOT NULL UNIQUE);
CREATE TABLE lines__next (line_id TEXT PRIMARY KEY, chat_id TEXT NOT NULL REFERENCES chats__next (chat_id),
                          text TEXT NOT NULL);
CREATE INDEX lines_by_chat__r ON lines__next (chat_id);
CREATE VIRTUAL TABLE lines_fts__next USING fts5(text, content='lines', content_rowid='rowid');
"""  # as a reproject makes them: the copy's full-text index reads the live name, which the copy takes
NAMES = ("chats", "lines", "lines_fts")
SWAP = {name: f"{name}__old" for name in NAMES} | {f"{name}__next": name for name in NAMES}


def _world(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    configure(conn)
    conn.executescript(SCHEMA + COPY)
    for suffix, word in (("", "old"), ("__next", "new")):
        conn.execute(f"INSERT INTO chats{suffix} VALUES ('c1', 'ch-{word}')")
        conn.executemany(f"INSERT INTO lines{suffix} VALUES (?, 'c1', ?)",
                         [(f"l{i}", f"{word} line {i}") for i in range(300)])
        conn.execute(f"INSERT INTO lines_fts{suffix} (rowid, text) SELECT rowid, text FROM lines{suffix}")
    return conn


def _schema(conn: sqlite3.Connection) -> list[tuple[str, str, str, int, str | None]]:
    rows = conn.execute("SELECT type, name, tbl_name, rootpage, sql FROM sqlite_master ORDER BY type, name")
    return [(kind, name, table, root, sql and sql.replace('"', "").replace("'", ""))
            for kind, name, table, root, sql in rows]


def _swap_with_alter(conn: sqlite3.Connection) -> None:
    for name in NAMES:
        conn.execute(f'ALTER TABLE "{name}" RENAME TO "{name}__old"')
    for name in NAMES:
        conn.execute(f'ALTER TABLE "{name}__next" RENAME TO "{name}"')


def test_one_schema_edit_renames_like_alter_table_and_keeps_every_row(tmp_path: Path):
    ours, theirs = _world(tmp_path / "ours.db"), _world(tmp_path / "theirs.db")
    reader = sqlite3.connect(tmp_path / "ours.db")  # opened before: its schema must follow the rename
    assert reader.execute("SELECT channel FROM chats").fetchone() == ("ch-old",)
    for conn, swap in ((ours, lambda c: rename_tables(c, SWAP)), (theirs, _swap_with_alter)):
        conn.execute("BEGIN IMMEDIATE")
        swap(conn)
        conn.execute("COMMIT")
    assert _schema(ours) == _schema(theirs)
    for conn in (ours, reader, sqlite3.connect(tmp_path / "ours.db")):
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("SELECT channel FROM chats").fetchone() == ("ch-new",)
        assert conn.execute("SELECT channel FROM chats__old").fetchone() == ("ch-old",)
        assert conn.execute("SELECT count(*) FROM lines_fts WHERE lines_fts MATCH 'new'").fetchone() == (300,)
        assert conn.execute("SELECT count(*) FROM lines INDEXED BY lines_by_chat__r WHERE chat_id = 'c1'"
                            ).fetchone() == (300,)
    ours.execute("INSERT INTO lines_fts (lines_fts) VALUES ('integrity-check')")
    with pytest.raises(sqlite3.IntegrityError):  # the renamed child's foreign key names the renamed parent
        ours.execute("INSERT INTO lines VALUES ('x', 'nobody', 'orphan')")


def test_a_rolled_back_rename_leaves_the_names_as_they_were(tmp_path: Path):
    conn = _world(tmp_path / "w.db")
    before = _schema(conn)
    conn.execute("BEGIN IMMEDIATE")
    rename_tables(conn, SWAP)
    assert conn.execute("SELECT channel FROM chats").fetchone() == ("ch-new",)
    conn.execute("ROLLBACK")
    assert _schema(conn) == before
    assert conn.execute("SELECT channel FROM chats").fetchone() == ("ch-old",)
    assert conn.execute("SELECT count(*) FROM lines_fts__next WHERE lines_fts__next MATCH 'new'").fetchone() == (300,)


def test_a_table_with_a_trigger_is_refused(tmp_path: Path):
    conn = _world(tmp_path / "w.db")
    conn.execute("CREATE TRIGGER lines_ai AFTER INSERT ON lines BEGIN SELECT 1; END")
    conn.execute("BEGIN IMMEDIATE")
    with pytest.raises(RuntimeError, match="triggers"):
        rename_tables(conn, SWAP)
    conn.execute("ROLLBACK")
