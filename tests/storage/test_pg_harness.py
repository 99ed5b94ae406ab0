"""The PostgreSQL test harness itself: a real server, both URL forms, fresh databases, a loud failure."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.pg import PgServer, PostgresUnavailable, start_server


def test_the_server_is_a_real_postgresql_reached_by_socket_and_tcp_urls(pg_server: PgServer, pg_url: str):
    name = pg_url.split("/")[3].split("?")[0]
    assert pg_url.startswith("postgresql://postgres:@/") and f"?host={pg_server.socket_dir}" in pg_url
    for url in (pg_url, pg_server.url(name, tcp=True)):
        with psycopg.connect(url) as conn:
            version, database = conn.execute("SELECT current_setting('server_version_num'), current_database()").fetchone()
        assert int(version) >= 170000 and database == name


def test_each_test_gets_its_own_migrated_database(pg_server: PgServer, pg_url: str):
    with psycopg.connect(pg_url, autocommit=True) as conn:
        tables = {row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        conn.execute("CREATE TABLE scratch (x int)")
    assert {"events", "projection_cursor", "chats", "memories", "schema_migrations"} <= tables
    with psycopg.connect(pg_server.url("chronicle_template")) as conn:
        assert conn.execute("SELECT to_regclass('scratch')").fetchone()[0] is None


def test_an_empty_database_has_no_tables(pg_empty_url: str):
    with psycopg.connect(pg_empty_url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0] == 0


def test_a_server_that_cannot_start_is_an_error_naming_the_cause(tmp_path: Path):
    with pytest.raises(PostgresUnavailable, match="initdb failed"):
        start_server(bin_dir=tmp_path / "no-such-postgres")
