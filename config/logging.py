"""structlog setup: readable console lines by default, JSON lines with CHRONICLE_LOG_FORMAT=json."""

from __future__ import annotations

import logging
import sys

import structlog

_SECRET_KEYS = {"token", "api_key", "authorization", "discord_token", "llm_api_key"}


def _redact(_: object, __: str, event: dict) -> dict:
    """Never let a secret-looking field reach a log line."""
    for key in list(event):
        if key.lower() in _SECRET_KEYS:
            event[key] = "***"
    return event


def configure_logging(fmt: str = "console", level: str = "info") -> None:
    """Route structlog and stdlib logging to stderr in the chosen format."""
    numeric = getattr(logging, level.upper(), logging.INFO)
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    renderer = (structlog.processors.JSONRenderer() if fmt == "json"
                else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty()))
    ending = [structlog.processors.format_exc_info, renderer] if fmt == "json" else [renderer]
    structlog.configure(
        processors=[*shared, *ending],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    # discord.py, aiohttp, asyncio and every other stdlib logger: the same processors and renderer, so
    # CHRONICLE_LOG_FORMAT=json gives one JSON object per line for them too (their message in "event").
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, structlog.stdlib.ExtraAdder(), *shared],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *ending],
    ))
    logging.captureWarnings(True)  # Python warnings (ResourceWarning …) as log lines in the same format
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(numeric, logging.INFO) if numeric < logging.INFO else numeric)
    logging.getLogger("discord").setLevel(max(numeric, logging.INFO))
