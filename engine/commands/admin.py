"""Admin tools on the whole log: /admin reproject, check, log and doctor (rewind is a story command: chats.py)."""

from __future__ import annotations

from pydantic import Field

from engine.commands.base import Query
from engine.table import action
from engine.views import CheckReport, EventView


@action("admin reproject", "Rebuild the whole world from the event log", admin=True,
        told=lambda cmd, count: f"Rebuilt the world from {count} events. Nothing was lost.")
class Reproject(Query[int]):
    """Rebuild the whole world from the log (the stories keep going meanwhile); answers the events replayed."""


def _checked(cmd: CheckWorld, report: CheckReport) -> str:
    if report.clean:
        return f"✅ Clean: {report.events} events replayed, {report.tables_checked} tables identical."
    shown = "\n".join(d[:150] for d in report.differences[:10])
    drift = f"⚠️ Drift in {len(report.differences)} place(s) after replaying {report.events} events"
    return f"{drift}:\n```\n{shown}\n```\n/admin reproject rebuilds the world from the log."


@action("admin check", "Compare the live world with a fresh rebuild from the log", admin=True, told=_checked)
class CheckWorld(Query[CheckReport]):
    """Rebuild a scratch copy from the log and compare every projected table with the live one."""


def event_lines(q: ShowLog, events: list[EventView]) -> str:
    """The newest events of the log, one a line."""
    lines = []
    for e in events:
        summary = ", ".join(f"{k}={str(v)[:30]!r}" for k, v in list(e.payload.items())[:3])
        lines.append(f"`{e.seq:>6}` {e.kind} — {summary}")
    return "\n".join(lines) or "The log is empty."


@action("admin log", "The newest events of this server's log", admin=True, told=event_lines)
class ShowLog(Query[list[EventView]]):
    """The newest events of the server's log (of this channel's story, from the console)."""

    limit: int = Field(default=10, ge=1, le=50, description="How many events (1-50)")
    channel_id: str = ""  # the channel asked from (the console shows its story's events)


@action("admin doctor", "Check Chronicle's setup: Discord, the model, the database", admin=True,
        frontends=frozenset({"discord"}))
class Doctor(Query[str]):
    """Every check of the bot's setup, one line each with its fix (the Discord frontend runs them)."""
