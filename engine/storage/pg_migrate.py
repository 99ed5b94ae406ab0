"""PostgreSQL migrations: numbered .sql files in migrations/postgres/, recorded in schema_migrations.

Each file runs in one transaction (PostgreSQL's DDL is transactional: a failing file leaves no
trace). The whole run holds one advisory lock, so processes that start together on a new
database (several shards' bots) migrate one after the other: the first applies, the others wait,
then find nothing pending.
"""

from __future__ import annotations

import re
from pathlib import Path

import structlog

from engine.storage.pg_conn import PgConnection, transaction

log = structlog.get_logger(__name__)
MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
MIGRATION_LOCK = 0x6368726F6E69636C  # pg_advisory_lock key: "chronicl" in ASCII, an arbitrary constant


def migrations_dir() -> Path:
    """The folder of numbered PostgreSQL migrations shipped beside the engine."""
    return Path(__file__).resolve().parents[2] / "migrations" / "postgres"


def migration_files(folder: Path) -> list[tuple[int, Path]]:
    """Every migration in `folder` as (version, path), in order; a badly named file is an error."""
    found: list[tuple[int, Path]] = []
    for path in sorted(folder.glob("*.sql")):
        match = MIGRATION_NAME.match(path.name)
        if match is None:
            raise RuntimeError(f"migration file name must look like 0001_name.sql: {path.name}")
        found.append((int(match.group(1)), path))
    versions = [version for version, _ in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations in {folder} share a number")
    return found


def applied_versions(conn: PgConnection) -> set[int]:
    """The versions recorded in schema_migrations (creating the table when missing)."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )
    return {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}


def migrate(conn: PgConnection, folder: Path | None = None) -> list[str]:
    """Apply pending migrations, each in its own transaction, under one advisory lock; return the names applied."""
    if conn.in_transaction:
        raise RuntimeError("migrate needs a connection outside any transaction")
    folder = folder or migrations_dir()
    files = migration_files(folder)
    conn.execute("SELECT pg_advisory_lock(?)", (MIGRATION_LOCK,))
    try:
        applied_now: list[str] = []
        done = applied_versions(conn)
        for version, path in files:
            if version in done:
                continue
            with transaction(conn):
                conn.executescript(path.read_text(encoding="utf-8"))
                conn.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", (version, path.name))
            log.info("migration_applied", migration=path.name, backend="postgres")
            applied_now.append(path.name)
        return applied_now
    finally:
        conn.execute("SELECT pg_advisory_unlock(?)", (MIGRATION_LOCK,))


def migrate_url(url: str, folder: Path | None = None) -> list[str]:
    """Open a connection to `url`, migrate, close; return the names applied."""
    with PgConnection.connect(url, application_name="chronicle-migrate") as conn:
        return migrate(conn, folder)
