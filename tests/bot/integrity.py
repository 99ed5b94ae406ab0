"""Helpers for the story-integrity end-to-end tests: reading the log, and waiting for queued story work."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from engine import Actor, ChatView
from tests.bot.conftest import Chronicle
from tests.fakes.discord import FakeChannel, FakeMember, FakeMessage

# Log events that mean a piece of work failed without reaching the person through the error funnel.
FAILURES = ("chat_job_failed", "channel_work_failed", "request_failed", "pending_line_not_answered")


async def open_chat(chronicle: Chronicle, channel: FakeChannel | None = None) -> ChatView:
    """The channel's open story."""
    return await chronicle.engine.reads.get_chat(str((channel or chronicle.channel).id))


async def lines(chronicle: Chronicle, chat_id: str) -> list[tuple[str, str]]:
    """The story's live transcript as (role, text)."""
    return [(m.role, m.text) for m in await chronicle.engine.reads.transcript(chat_id, limit=200)]


async def kinds(chronicle: Chronicle, chat_id: str) -> list[str]:
    """The kinds of a chat's events, oldest first."""
    return [e.kind for e in await chronicle.engine.reads.recent_events(chat_id=chat_id, limit=500)]


async def payloads(chronicle: Chronicle, chat_id: str, kind: str) -> list[dict[str, Any]]:
    """The payloads of a chat's events of one kind, oldest first."""
    return [e.payload for e in await chronicle.engine.reads.recent_events(chat_id=chat_id, limit=500) if e.kind == kind]


async def queued(chronicle: Chronicle, count: int, channel: FakeChannel | None = None) -> None:
    """Wait until the channel's story serialiser holds `count` jobs (running or waiting).

    Commands that queue behind a streaming reply show nothing on Discord until it ends, so the test reads
    the engine's queue to know they arrived (an engine without a serialiser gets a short grace period).
    """
    serial = getattr(chronicle.engine, "serial", None)
    if serial is None:
        await asyncio.sleep(0.3)
        return
    key = str((channel or chronicle.channel).id)
    await chronicle.fd.wait_for(lambda: len(serial._queues.get(key, ())) >= count, timeout=5)


def actor(member: FakeMember, *, admin: bool = False) -> Actor:
    """The engine actor for a member of the default guild (for a second engine acting directly)."""
    return Actor(user_id=str(member.id), guild_id=str(member.guild_id), display_name=member.name, is_admin=admin)


def failures(logs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Captured log entries that report failed work (named above, or logged as errors)."""
    return [entry for entry in logs
            if entry.get("event") in FAILURES or entry.get("log_level") in ("error", "critical", "exception")]


def bot_notes(chronicle: Chronicle, channel: FakeChannel | None = None) -> list[FakeMessage]:
    """The bot's own channel messages that answer people's messages (error lines, 'slow down')."""
    return [m for m in chronicle.fd.messages_in(channel or chronicle.channel)
            if m.author.get("id") == str(chronicle.fd.bot_user.id) and m.message_reference is not None]


def deleted_hook_messages(chronicle: Chronicle, channel: FakeChannel | None = None) -> list[FakeMessage]:
    """Character messages that were posted and then deleted."""
    target = channel or chronicle.channel
    return [m for m in chronicle.fd.messages.values()
            if m.channel_id == target.id and m.deleted and m.webhook_id is not None
            and m.webhook_id != chronicle.fd.application_id]


def replied_to(message: FakeMessage) -> int | None:
    """The id of the message a message replies to."""
    reference = message.message_reference or {}
    return int(reference["message_id"]) if "message_id" in reference else None
