"""Settings: defaults in code, TOML overrides, environment overrides both; bad values name the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Run each test from an empty directory with no Chronicle variables set."""
    for name in ("DISCORD_TOKEN", "CHRONICLE_DATABASE", "CHRONICLE_CONFIG", "CHRONICLE_LLM_BASE_URL",
                 "CHRONICLE_SYNC_GUILD_IDS", "CHRONICLE_ADMIN_ROLE_IDS", "CHRONICLE_LOG_FORMAT",
                 "CHRONICLE_DISCORD_API_BASE", "CHRONICLE_DISCORD_GATEWAY_URL", "CHRONICLE_LLM_MAX_TOKENS",
                 "CHRONICLE_SHARD_COUNT", "CHRONICLE_SHARD_IDS", "CHRONICLE_LLM_REPLY_DEADLINE",
                 "CHRONICLE_AUTO_MEMORY", "CHRONICLE_AUTO_MEMORY_LINES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_starts_with_no_config_file_at_all():
    settings = load_settings()
    assert settings.database == "data/chronicle.db" and not settings.uses_postgres
    assert settings.shard_count is None and settings.shard_ids is None
    assert settings.discord_token is None and settings.llm_base_url is None
    assert settings.sync_guild_ids == [] and settings.log_format == "console"
    assert settings.gateway_url == "wss://gateway.discord.gg/"


def test_toml_overrides_defaults_and_environment_overrides_toml(tmp_path: Path, monkeypatch):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "chronicle.toml").write_text('database = "toml.db"\nllm_max_tokens = 99\n')
    assert load_settings().database == "toml.db"
    monkeypatch.setenv("CHRONICLE_DATABASE", "env.db")
    settings = load_settings()
    assert settings.database == "env.db" and settings.llm_max_tokens == 99


def test_dotenv_file_is_read(tmp_path: Path):
    (tmp_path / ".env").write_text("CHRONICLE_LOG_FORMAT=json\nDISCORD_TOKEN=abc\n")
    settings = load_settings()
    assert settings.log_format == "json"
    assert settings.discord_token.get_secret_value() == "abc"
    assert "abc" not in repr(settings)


@pytest.mark.parametrize(("raw", "ids"), [("123,456", [123, 456]), ("789", [789]), ("", []), ("[1, 2]", [1, 2]),
                                          (" 5 , 6 ", [5, 6])])
def test_id_lists_take_commas_a_single_id_nothing_or_json(monkeypatch, raw: str, ids: list[int]):
    monkeypatch.setenv("CHRONICLE_SYNC_GUILD_IDS", raw)
    assert load_settings().sync_guild_ids == ids


@pytest.mark.parametrize(("url", "setting", "on"), [(None, None, False), ("http://127.0.0.1:8080/v1", None, True),
                                                   ("http://127.0.0.1:8080/v1", "false", False), (None, "true", True),
                                                   ("http://127.0.0.1:8080/v1", "", True)])
def test_automatic_memories_are_on_with_a_configured_model_unless_set(monkeypatch, url: str | None,
                                                                       setting: str | None, on: bool):
    if url is not None:
        monkeypatch.setenv("CHRONICLE_LLM_BASE_URL", url)
    if setting is not None:
        monkeypatch.setenv("CHRONICLE_AUTO_MEMORY", setting)
    settings = load_settings()
    assert settings.auto_memory_on is on and settings.auto_memory_lines == 20


@pytest.mark.parametrize(("name", "value"), [("CHRONICLE_SYNC_GUILD_IDS", "abc"), ("CHRONICLE_LOG_FORMAT", "xml"),
                                             ("CHRONICLE_LLM_MAX_TOKENS", "lots"), ("CHRONICLE_AUTO_MEMORY", "maybe"),
                                             ("CHRONICLE_AUTO_MEMORY_LINES", "2")])
def test_a_bad_value_is_one_line_naming_the_setting(monkeypatch, name: str, value: str):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).startswith(f"{name}:") and "\n" not in str(caught.value)


def test_a_missing_config_file_named_explicitly_is_an_error(monkeypatch):
    monkeypatch.setenv("CHRONICLE_CONFIG", "/nowhere/chronicle.toml")
    with pytest.raises(SettingsError, match="CHRONICLE_CONFIG"):
        load_settings()


def test_gateway_is_derived_from_a_local_api_base(monkeypatch):
    monkeypatch.setenv("CHRONICLE_DISCORD_API_BASE", "http://127.0.0.1:8123/api/v10/")
    settings = load_settings()
    assert settings.discord_api_base == "http://127.0.0.1:8123/api/v10"
    assert settings.gateway_url == "ws://127.0.0.1:8123/gateway"


@pytest.mark.parametrize("url", ["postgresql://chronicle:secret@db.example:5432/chronicle",
                                 "postgresql://postgres:@/story?host=/run/pg", "postgres://u@localhost/db"])
def test_a_postgresql_url_is_kept_whole_not_taken_as_a_file_name(monkeypatch, url: str):
    monkeypatch.setenv("CHRONICLE_DATABASE", url)
    settings = load_settings()
    assert settings.database == url and settings.uses_postgres


@pytest.mark.parametrize(("value", "says"), [("mysql://u@h/db", "mysql:// is not supported"),
                                             ("postgresql://u@h/db?host=a b", "not a valid PostgreSQL URL"),
                                             ("  ", "SQLite file path or a postgresql:// URL")])
def test_a_bad_database_is_one_line_naming_it(monkeypatch, value: str, says: str):
    monkeypatch.setenv("CHRONICLE_DATABASE", value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).startswith("CHRONICLE_DATABASE: ") and says in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_block_of_shards_over_postgresql(monkeypatch):
    monkeypatch.setenv("CHRONICLE_DATABASE", "postgresql://u@h/db")
    monkeypatch.setenv("CHRONICLE_SHARD_COUNT", "4")
    monkeypatch.setenv("CHRONICLE_SHARD_IDS", "3,2")
    settings = load_settings()
    assert (settings.shard_count, settings.shard_ids) == (4, [2, 3])


def test_every_shard_in_one_process_works_on_sqlite_too(monkeypatch):
    monkeypatch.setenv("CHRONICLE_SHARD_COUNT", "2")
    assert (load_settings().shard_count, load_settings().shard_ids) == (2, None)
    monkeypatch.setenv("CHRONICLE_SHARD_IDS", "[0, 1]")
    assert load_settings().shard_ids == [0, 1]


@pytest.mark.parametrize(("env", "name", "says"), [
    ({"CHRONICLE_SHARD_IDS": "0,1"}, "CHRONICLE_SHARD_IDS", "needs CHRONICLE_SHARD_COUNT"),
    ({"CHRONICLE_SHARD_COUNT": "4", "CHRONICLE_SHARD_IDS": "4"}, "CHRONICLE_SHARD_IDS", "not below"),
    ({"CHRONICLE_SHARD_COUNT": "4", "CHRONICLE_SHARD_IDS": "1,1"}, "CHRONICLE_SHARD_IDS", "twice"),
    ({"CHRONICLE_SHARD_COUNT": "4", "CHRONICLE_SHARD_IDS": "0,1"}, "CHRONICLE_SHARD_IDS", "PostgreSQL"),
    ({"CHRONICLE_SHARD_COUNT": "4", "CHRONICLE_SHARD_IDS": "one"}, "CHRONICLE_SHARD_IDS", "integer"),
    ({"CHRONICLE_SHARD_COUNT": "0"}, "CHRONICLE_SHARD_COUNT", "greater than or equal to 1"),
])
def test_a_bad_shard_setting_is_one_line_naming_it(monkeypatch, env: dict[str, str], name: str, says: str):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).startswith(f"{name}: ") and says in str(caught.value) and "\n" not in str(caught.value)


def test_the_reply_deadline_defaults_to_90_seconds_and_is_read_from_toml_and_environment(tmp_path: Path, monkeypatch):
    assert load_settings().llm_reply_deadline == 90.0
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "chronicle.toml").write_text("llm_reply_deadline = 45\n")
    assert load_settings().llm_reply_deadline == 45.0
    monkeypatch.setenv("CHRONICLE_LLM_REPLY_DEADLINE", "2.5")
    assert load_settings().llm_reply_deadline == 2.5
    monkeypatch.setenv("CHRONICLE_LLM_REPLY_DEADLINE", "0")
    with pytest.raises(SettingsError, match="^CHRONICLE_LLM_REPLY_DEADLINE: .*greater than 0"):
        load_settings()


def test_a_model_url_that_is_not_http_is_named_without_its_password(monkeypatch):
    monkeypatch.setenv("CHRONICLE_LLM_BASE_URL", "ftp://alice:S3CRET@models.example/v1?api_key=S3CRET")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value) == ("CHRONICLE_LLM_BASE_URL: must be an http:// or https:// URL ending in /v1, not "
                                 "'ftp://alice:***@models.example/v1?api_key=***'")
    monkeypatch.setenv("CHRONICLE_LLM_BASE_URL", " ")
    assert load_settings().llm_base_url is None  # empty is unset: the bundled demo model
