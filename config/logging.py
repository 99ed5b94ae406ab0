"""structlog setup: readable console lines by default, JSON lines with CHRONICLE_LOG_FORMAT=json.

Every record goes through one formatter on the root logger: structlog's own events and the standard
library's (discord.py, aiohttp, asyncio, warnings) alike, so the JSON format gives one JSON object per line
and nothing else. No line carries a secret: secret-looking fields are masked, and every URL loses its password
and secret query parameters (engine.storage.redact), in the fields and in the rendered line (tracebacks too).
Records go to `sys.stderr` as it is when each is written, so a console that takes stderr over (above the prompt at a
terminal, bot/console/terminal.py; bot/console/app.py in a script) prints them on lines of their own.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO, cast

import structlog
from structlog.typing import Processor

from engine.storage import redact_text

_CHATTY = ("discord", "aiosqlite", "asyncio", "httpx", "httpcore", "httpx2", "httpcore2", "openai", "matplotlib",
           "PIL", "psycopg")
_SECRET_KEYS = {"token", "api_key", "authorization", "discord_token", "llm_api_key"}


def _redact(_: object, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Never let a secret reach a log line: secret-looking fields are masked, URLs in string values redacted."""
    for key, value in list(event.items()):
        if key.lower() in _SECRET_KEYS:
            event[key] = "***"
        elif isinstance(value, str) and "://" in value:
            event[key] = redact_text(value)
    return event


def _redact_line(_: object, __: str, line: Any) -> Any:
    """The last step after rendering: URLs anywhere in the line (a traceback, a nested value) redacted."""
    return redact_text(line) if isinstance(line, str) else line


class _Stderr:
    """`sys.stderr` as it is when a record is written, not when logging was configured."""

    def write(self, text: str) -> int:
        """Write to the current stderr."""
        return sys.stderr.write(text)

    def flush(self) -> None:
        """Flush the current stderr."""
        sys.stderr.flush()


def configure_logging(fmt: str = "console", level: str = "info", *, stream: TextIO | None = None) -> None:
    """Route structlog and the standard library's logging through one formatter to `stream` (stderr)."""
    numeric = getattr(logging, level.upper(), logging.INFO)
    out = stream if stream is not None else cast(TextIO, _Stderr())
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,
    )
    rendering: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if fmt == "json":
        rendering += [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    else:  # no colours: what reaches a terminal has its control characters escaped (engine.text.TerminalSafe)
        rendering.append(structlog.dev.ConsoleRenderer(colors=False))
    rendering.append(_redact_line)
    handler = logging.StreamHandler(out)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=rendering))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    for name in _CHATTY:  # their debug records are wire traffic (every statement, frame or request)
        logging.getLogger(name).setLevel(max(numeric, logging.INFO))
    logging.captureWarnings(True)  # warnings become records too, not bare lines on stderr
