"""One formatter for every record: CHRONICLE_LOG_FORMAT=json gives one JSON object per line and nothing else."""

from __future__ import annotations

import io
import json
import logging
import warnings
from collections.abc import Iterator

import pytest
import structlog

from config.logging import configure_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put the root logger and structlog back as they were."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.captureWarnings(False)
    structlog.reset_defaults()


def _emit_everything() -> None:
    structlog.get_logger("engine.app").info("event_appended", seq=7, kind="user_said", token="secret-value")
    logging.getLogger("discord.gateway").info("Shard ID %s has connected to Gateway", None)
    logging.getLogger("discord.client").warning("multi\nline\nmessage")
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("aiohttp.server").exception("Error handling request")
        structlog.get_logger("bot.errors").exception("interaction_failed", error_id="abc123")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("something is deprecated", DeprecationWarning, stacklevel=1)
    structlog.get_logger("engine.app").debug("debug_detail", n=1)


def test_json_format_is_one_object_per_line_for_every_source(restore_logging: None) -> None:
    out = io.StringIO()
    configure_logging("json", "debug", stream=out)
    _emit_everything()
    lines = out.getvalue().splitlines()
    records = [json.loads(line) for line in lines]  # every line parses
    assert all(isinstance(r, dict) for r in records)
    by_event = {r["event"]: r for r in records}
    assert by_event["event_appended"]["seq"] == 7 and by_event["event_appended"]["token"] == "***"
    assert by_event["event_appended"]["logger"] == "engine.app" and by_event["event_appended"]["level"] == "info"
    assert by_event["Shard ID None has connected to Gateway"]["logger"] == "discord.gateway"
    assert by_event["multi\nline\nmessage"]["level"] == "warning"
    assert "ValueError: boom" in by_event["Error handling request"]["exception"]
    assert "ValueError: boom" in by_event["interaction_failed"]["exception"]
    assert any("something is deprecated" in r["event"] and r["logger"] == "py.warnings" for r in records)
    assert by_event["debug_detail"]["level"] == "debug"
    assert all("timestamp" in r for r in records)


def test_console_format_shows_stdlib_and_structlog_records_alike(restore_logging: None) -> None:
    out = io.StringIO()
    configure_logging("console", "info", stream=out)
    _emit_everything()
    text = out.getvalue()
    assert "event_appended" in text and "secret-value" not in text
    assert "Shard ID None has connected to Gateway" in text and "[discord.gateway]" in text
    assert "ValueError: boom" in text
    assert "debug_detail" not in text  # below the level


def test_chatty_libraries_stay_at_info_when_chronicle_logs_debug(restore_logging: None) -> None:
    out = io.StringIO()
    configure_logging("json", "debug", stream=out)
    logging.getLogger("aiosqlite").debug("executing SELECT 1")
    structlog.get_logger("engine.db").debug("kept")
    events = [json.loads(line)["event"] for line in out.getvalue().splitlines()]
    assert events == ["kept"]
