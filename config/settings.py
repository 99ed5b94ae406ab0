"""Chronicle's settings: code defaults < config/chronicle.toml < .env < environment."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from engine.storage import redact, redact_text

DEFAULT_CONFIG_FILE = Path("config/chronicle.toml")
DATABASE_URL_SCHEMES = ("postgresql://", "postgres://")
MAX_SHARDS = 65_536


def _alias(env_name: str, short: str) -> Any:
    """Accept the flat environment name, and the short name in TOML or kwargs."""
    return AliasChoices(env_name, short)


def check_database(value: Any) -> str:
    """A SQLite file path, or a `postgresql://` URL that libpq can read (unix-socket `?host=/dir` included)."""
    text = str(value).strip() if value is not None else ""
    if not text:
        raise ValueError("must be a SQLite file path or a postgresql:// URL")
    if text.lower().startswith(DATABASE_URL_SCHEMES):
        from psycopg.conninfo import conninfo_to_dict

        try:
            conninfo_to_dict(text)
        except Exception as exc:  # noqa: BLE001 — libpq's own message says what is wrong
            raise ValueError(f"not a valid PostgreSQL URL ({str(exc).strip().splitlines()[0]})") from None
    elif "://" in text:
        raise ValueError(f"{text.split('://')[0]}:// is not supported: give a SQLite file path or a postgresql:// URL")
    return text


class SettingsError(Exception):
    """A setting is missing or invalid; the message names it in one line."""


class Settings(BaseSettings):
    """Every setting (README: Settings), with defaults that work on a fresh machine."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        case_sensitive=False,
    )

    discord_token: SecretStr | None = Field(None, validation_alias=_alias("DISCORD_TOKEN", "discord_token"))
    database: str = Field("data/chronicle.db", validation_alias=_alias("CHRONICLE_DATABASE", "database"))
    llm_base_url: str | None = Field(None, validation_alias=_alias("CHRONICLE_LLM_BASE_URL", "llm_base_url"))
    llm_model: str = Field("local", validation_alias=_alias("CHRONICLE_LLM_MODEL", "llm_model"))
    llm_api_key: SecretStr = Field(
        SecretStr("not-needed"), validation_alias=_alias("CHRONICLE_LLM_API_KEY", "llm_api_key")
    )
    llm_temperature: float = Field(
        0.8, ge=0, le=2, validation_alias=_alias("CHRONICLE_LLM_TEMPERATURE", "llm_temperature")
    )
    llm_max_tokens: int = Field(
        300, ge=16, le=8192, validation_alias=_alias("CHRONICLE_LLM_MAX_TOKENS", "llm_max_tokens")
    )
    llm_context_tokens: int = Field(
        2048, ge=512, le=1_000_000, validation_alias=_alias("CHRONICLE_LLM_CONTEXT_TOKENS", "llm_context_tokens")
    )
    llm_timeout: float = Field(60.0, gt=0, le=600, validation_alias=_alias("CHRONICLE_LLM_TIMEOUT", "llm_timeout"))
    llm_max_retries: int = Field(
        3, ge=0, le=10, validation_alias=_alias("CHRONICLE_LLM_MAX_RETRIES", "llm_max_retries")
    )
    llm_reply_deadline: float = Field(
        90.0, gt=0, le=3600, validation_alias=_alias("CHRONICLE_LLM_REPLY_DEADLINE", "llm_reply_deadline")
    )
    max_concurrent_replies: int = Field(
        4, ge=1, le=256, validation_alias=_alias("CHRONICLE_MAX_CONCURRENT_REPLIES", "max_concurrent_replies")
    )
    max_queued_replies: int = Field(
        3, ge=1, le=100, validation_alias=_alias("CHRONICLE_MAX_QUEUED_REPLIES", "max_queued_replies")
    )
    max_chain: int = Field(
        3, ge=1, le=25, validation_alias=_alias("CHRONICLE_MAX_CHAIN", "max_chain")
    )
    auto_memory: bool | None = Field(None, validation_alias=_alias("CHRONICLE_AUTO_MEMORY", "auto_memory"))
    auto_memory_lines: int = Field(
        20, ge=4, le=500, validation_alias=_alias("CHRONICLE_AUTO_MEMORY_LINES", "auto_memory_lines")
    )
    admin_role_ids: Annotated[list[int], NoDecode] = Field(
        default_factory=list, validation_alias=_alias("CHRONICLE_ADMIN_ROLE_IDS", "admin_role_ids")
    )
    sync_guild_ids: Annotated[list[int], NoDecode] = Field(
        default_factory=list, validation_alias=_alias("CHRONICLE_SYNC_GUILD_IDS", "sync_guild_ids")
    )
    discord_api_base: str = Field(
        "https://discord.com/api/v10", validation_alias=_alias("CHRONICLE_DISCORD_API_BASE", "discord_api_base")
    )
    discord_gateway_url: str | None = Field(
        None, validation_alias=_alias("CHRONICLE_DISCORD_GATEWAY_URL", "discord_gateway_url")
    )
    log_format: Literal["console", "json"] = Field(
        "console", validation_alias=_alias("CHRONICLE_LOG_FORMAT", "log_format")
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", validation_alias=_alias("CHRONICLE_LOG_LEVEL", "log_level")
    )
    shard_count: int | None = Field(
        None, ge=1, le=MAX_SHARDS, validation_alias=_alias("CHRONICLE_SHARD_COUNT", "shard_count")
    )
    shard_ids: Annotated[list[int] | None, NoDecode] = Field(
        None, validation_alias=_alias("CHRONICLE_SHARD_IDS", "shard_ids")
    )

    @field_validator("database", mode="before")
    @classmethod
    def _check_database(cls, value: Any) -> str:
        """A SQLite file path, or a `postgresql://` URL that libpq can read."""
        return check_database(value)

    @field_validator("llm_base_url", mode="before")
    @classmethod
    def _check_llm_base_url(cls, value: Any) -> str | None:
        """An http:// or https:// URL (empty means unset: the bundled demo model)."""
        text = str(value).strip() if value is not None else ""
        if not text:
            return None
        if not text.lower().startswith(("http://", "https://")) or not text.split("://", 1)[1].strip("/"):
            raise ValueError(f"must be an http:// or https:// URL ending in /v1, not {redact(text)!r}")
        return text

    @field_validator("auto_memory", mode="before")
    @classmethod
    def _check_auto_memory(cls, value: Any) -> Any:
        """true or false; empty means unset (on with a configured model, off with the bundled demo model)."""
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def auto_memory_on(self) -> bool:
        """Whether the narrator writes automatic memories: CHRONICLE_AUTO_MEMORY, else whether a model is set."""
        return self.auto_memory if self.auto_memory is not None else self.llm_base_url is not None

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _parse_shard_ids(cls, value: Any) -> Any:
        """Take `0,1`, a single id, nothing (every shard), or a JSON list."""
        parsed = cls._parse_id_list(value)
        return parsed or None

    @field_validator("shard_ids")
    @classmethod
    def _check_shard_ids(cls, value: list[int] | None, info: ValidationInfo) -> list[int] | None:
        """This process's block of shards: needs the count, ids below it, and PostgreSQL unless it is every shard."""
        if value is None:
            return None
        count = info.data.get("shard_count")
        if count is None:
            raise ValueError("needs CHRONICLE_SHARD_COUNT (the total number of shards across every process)")
        wrong = [shard for shard in value if not 0 <= shard < count]
        if wrong:
            raise ValueError(f"shard {wrong[0]} is not below CHRONICLE_SHARD_COUNT={count}")
        if len(set(value)) != len(value):
            raise ValueError("a shard is listed twice")
        database = str(info.data.get("database", ""))
        if sorted(value) != list(range(count)) and not database.lower().startswith(DATABASE_URL_SCHEMES):
            raise ValueError("a block of the shards means several processes, which need a PostgreSQL "
                             "CHRONICLE_DATABASE (a SQLite file belongs to one process)")
        return sorted(value)

    @field_validator("admin_role_ids", "sync_guild_ids", mode="before")
    @classmethod
    def _id_list(cls, value: Any) -> Any:
        """Take `123,456`, a single id, nothing, or a JSON list."""
        return cls._parse_id_list(value)

    @staticmethod
    def _parse_id_list(value: Any) -> Any:
        """Take `123,456`, a single id, nothing, or a JSON list."""
        if value is None:
            return []
        if isinstance(value, int):
            return [value]
        if isinstance(value, str):
            text = value.strip()
            if not text:
                return []
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("discord_api_base")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        """Keep the API base without a trailing slash."""
        return value.rstrip("/")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment beats .env beats the TOML file beats the defaults in code."""
        toml_path = Path(os.environ.get("CHRONICLE_CONFIG", DEFAULT_CONFIG_FILE))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, dotenv_settings]
        if toml_path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)

    @property
    def uses_postgres(self) -> bool:
        """Whether `database` is a PostgreSQL URL (else a SQLite file path)."""
        return self.database.lower().startswith(DATABASE_URL_SCHEMES)

    @property
    def gateway_url(self) -> str:
        """The gateway to dial: the configured one, else derived from a non-default API base."""
        if self.discord_gateway_url:
            return self.discord_gateway_url
        if self.discord_api_base.startswith("https://discord.com"):
            return "wss://gateway.discord.gg/"
        host = self.discord_api_base.split("://", 1)[-1].split("/", 1)[0]
        return f"ws://{host}/gateway"


def _setting_name(loc: tuple[Any, ...]) -> str:
    """The environment name of the field a validation error points at."""
    field = str(loc[0]) if loc else "?"
    info = Settings.model_fields.get(field)
    alias = getattr(info, "validation_alias", None) if info else None
    choices = getattr(alias, "choices", None)
    return str(choices[0]) if choices else field.upper()


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, or raise SettingsError with one line naming the bad setting."""
    config_file = os.environ.get("CHRONICLE_CONFIG")
    if config_file and not Path(config_file).is_file():
        raise SettingsError(f"CHRONICLE_CONFIG: no file at {config_file}")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = redact_text(first["msg"].removeprefix("Value error, "))
        raise SettingsError(f"{_setting_name(first['loc'])}: {message}") from None
    except ValueError as exc:  # a malformed TOML file or JSON list
        raise SettingsError(f"configuration: {redact_text(str(exc))}") from None
