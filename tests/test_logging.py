"""One formatter for every record: CHRONICLE_LOG_FORMAT=json gives one JSON object per line and nothing else, and no
line ever carries a URL's password or secret parameters."""

from __future__ import annotations

import io
import json
import logging
import warnings
from collections.abc import Iterator

import pytest
import structlog

from config.logging import configure_logging
from engine.llm.factory import open_model
from engine.llm.port import ChatMessage
from tests.fakes.llm_server import FakeLLMServer


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


@pytest.mark.parametrize("fmt", ["json", "console"])
async def test_no_log_line_carries_a_password_or_secret_of_a_url(restore_logging: None, fake_llm: FakeLLMServer,
                                                                 fmt: str) -> None:
    """The model client's own lines, the HTTP library's, a traceback, a nested value: user, host and path stay."""
    out = io.StringIO()
    configure_logging(fmt, "info", stream=out)
    url = fake_llm.base_url.replace("http://", "http://alice:S3CRET@")
    shown = fake_llm.base_url.replace("http://", "http://alice:***@")
    fake_llm.enqueue_error(503, "warming up")
    async with open_model(base_url=url, api_key="k", model="fake-model", temperature=0.5, max_tokens=16,
                          timeout=5.0, max_retries=1, context_tokens=2048) as model:
        assert "".join([c.text async for c in model.stream([ChatMessage("user", "hi")])]).startswith("Reply")
    try:
        raise ConnectionError(f"cannot reach {url}")
    except ConnectionError:
        structlog.get_logger("bot.errors").exception("probe_failed", target={"url": f"{url}?sig=S3CRET"})
    logging.getLogger("aiohttp.client").warning("GET %s failed", "https://h/x?api_key=S3CRET&token=S3CRET")
    text = out.getvalue()
    assert "S3CRET" not in text
    assert "llm_retry" in text and "language_model_ready" in text and "HTTP Request: POST" in text
    assert f"{shown}/chat/completions" in text and "https://h/x?api_key=***&token=***" in text
    if fmt == "json":
        by_event = {record["event"]: record for record in map(json.loads, text.splitlines())}
        assert by_event["llm_retry"]["base_url"] == shown and by_event["language_model_ready"]["base_url"] == shown
        assert f"cannot reach {shown}" in by_event["probe_failed"]["exception"]
        assert by_event["probe_failed"]["target"] == {"url": f"{shown}?sig=***"}
