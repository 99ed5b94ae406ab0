"""docker-compose.yml: PostgreSQL with a healthcheck, and bot processes that split the shards between them."""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

from config.settings import load_settings

COMPOSE = Path(__file__).resolve().parent.parent / "docker-compose.yml"


def _services() -> dict[str, dict]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]


def test_postgres_keeps_its_data_and_reports_health():
    postgres = _services()["postgres"]
    assert postgres["image"].split(":")[0] == "postgres" and int(postgres["image"].split(":")[1]) >= 17
    assert any(volume.endswith(":/var/lib/postgresql/data") for volume in postgres["volumes"])
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])


def test_the_bots_share_postgresql_and_own_every_shard_exactly_once():
    bots = {name: svc for name, svc in _services().items() if name != "postgres"}
    assert len(bots) == 2
    owned: list[int] = []
    for bot in bots.values():
        env = bot["environment"]
        assert bot["build"] == "." and bot["command"] == ["chronicle", "run"]
        assert bot["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert env["CHRONICLE_DATABASE"].startswith("postgresql://") and "@postgres:5432/" in env["CHRONICLE_DATABASE"]
        assert env["DISCORD_TOKEN"].startswith("${DISCORD_TOKEN")
        assert env["CHRONICLE_SHARD_COUNT"] == "4"
        owned += [int(shard) for shard in env["CHRONICLE_SHARD_IDS"].split(",")]
    assert sorted(owned) == [0, 1, 2, 3]


def _resolve(value: str) -> str:
    """A compose value with `${NAME:-default}` taken as its default and `${NAME:?message}` as a stand-in."""
    return re.sub(r"\$\{[A-Z_]+(?::-([^}]*)|:\?[^}]*)\}", lambda m: m.group(1) if m.group(1) is not None else "set",
                  value)


def test_each_bots_environment_is_valid_chronicle_settings(monkeypatch):
    """What compose passes is what config/settings.py accepts: a PostgreSQL URL and a block of the shards."""
    for bot in (svc for name, svc in _services().items() if name != "postgres"):
        for name in [n for n in os.environ if n.startswith(("CHRONICLE_", "DISCORD_"))]:
            monkeypatch.delenv(name)
        for name, value in bot["environment"].items():
            monkeypatch.setenv(name, _resolve(str(value)))
        settings = load_settings()
        assert settings.uses_postgres and settings.shard_count == 4
        assert settings.shard_ids == [int(s) for s in bot["environment"]["CHRONICLE_SHARD_IDS"].split(",")]
