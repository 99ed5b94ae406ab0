"""Renaming many SQLite tables at once: one edit of the schema table instead of one ALTER TABLE each.

SQLite's `ALTER TABLE … RENAME` parses the whole schema several times (to rewrite every reference to the table
and to check the result), so a reproject's switch, which renames every projected table twice (the live one
away, its copy into place), spent most of its time there: 150–280 ms for the world's 21 tables and their
full-text indexes, every command waiting. `rename_tables` writes the same result into `sqlite_schema` in one
pass with `PRAGMA writable_schema` and reloads the schema once (about 20 ms): each renamed table's name, the
tables and indexes that belong to it (its automatic indexes, an FTS5 table's shadow tables), and every
reference to a renamed table in the CREATE statements. Row data and root pages are not touched. It runs inside
the caller's write transaction, so a rollback restores the names.
"""

from __future__ import annotations

import re

from engine.storage.port import Conn

FTS5_SHADOWS = ("data", "idx", "docsize", "config", "content")
_VIRTUAL = re.compile(r"^\s*CREATE\s+VIRTUAL\s+TABLE\s", re.IGNORECASE)


def rename_tables(conn: Conn, renames: dict[str, str]) -> None:
    """Rename tables all at once (`renames`: old name → new name, applied together, so `a → a__old` and
    `a__next → a` may go in one call) in the caller's open write transaction. Triggers on a renamed table must
    be dropped first (and created again after): their bodies are not rewritten."""
    names = _with_shadow_tables(conn, renames)
    rows = conn.execute("SELECT rowid, type, name, tbl_name, sql FROM sqlite_master").fetchall()
    if any(kind == "trigger" and table in names for _, kind, _, table, _ in rows):
        raise RuntimeError("drop the triggers of the tables being renamed first")
    reference = re.compile(r"\b(" + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) + r")\b")
    version = conn.execute("PRAGMA schema_version").fetchone()[0]
    conn.execute("PRAGMA writable_schema = ON")
    try:
        for rowid, kind, name, table, sql in rows:
            if table not in names:
                continue
            new_name = _renamed(kind, name, table, names)
            if sql is not None:
                sql = (re.sub(rf"\b{re.escape(name)}\b", new_name, sql, count=1) if _VIRTUAL.match(sql)
                       else reference.sub(lambda m: names[m.group(1)], sql))
            conn.execute("UPDATE sqlite_master SET name = ?, tbl_name = ?, sql = ? WHERE rowid = ?",
                         (new_name, names[table], sql, rowid))
        conn.execute(f"PRAGMA schema_version = {int(version) + 1}")  # other connections read the schema again
    finally:
        conn.execute("PRAGMA writable_schema = RESET")  # … and so does this one


def _with_shadow_tables(conn: Conn, renames: dict[str, str]) -> dict[str, str]:
    """`renames` plus the shadow tables of each renamed FTS5 table (`<name>_data` … follow their table)."""
    names = dict(renames)
    marks = ", ".join("?" for _ in renames)
    virtual = conn.execute(f"SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name IN ({marks})",
                           tuple(renames)).fetchall()
    for name, sql in virtual:
        if sql is not None and _VIRTUAL.match(sql) and re.search(r"\bUSING\s+fts5\b", sql, re.IGNORECASE):
            names.update({f"{name}_{shadow}": f"{renames[name]}_{shadow}" for shadow in FTS5_SHADOWS})
    return names


def _renamed(kind: str, name: str, table: str, names: dict[str, str]) -> str:
    """The new name of a schema entry that belongs to a renamed table (an index keeps its own name, unless SQLite
    named it after its table)."""
    if kind == "table":
        return names[name]
    automatic = f"sqlite_autoindex_{table}_"
    return f"sqlite_autoindex_{names[table]}_{name[len(automatic):]}" if name.startswith(automatic) else name
