"""What every decider gets besides its command: fresh ids and the time, decided once per command."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field

from engine import queries
from engine.commands import Actor, InChannel
from engine.errors import NotFound, PermissionDenied
from engine.events import Event
from engine.store import NewEvent
from engine.views import ChatView


def random_id(prefix: str) -> str:
    """A new id like `chr_3f9a…` (the command layer's only source of randomness)."""
    return f"{prefix}_{secrets.token_hex(8)}"


@dataclass(frozen=True)
class Context:
    """Per-command inputs that are not part of the command itself."""

    now: str
    new_id: Callable[[str], str] = field(default=random_id)


def emit(actor: Actor, *payloads: Event) -> list[NewEvent]:
    """Wrap payloads as new events on behalf of `actor`."""
    return [NewEvent(p, actor.guild_id, actor.user_id) for p in payloads]


def open_chat(world: sqlite3.Connection, cmd: InChannel) -> ChatView:
    """The channel's open chat, which must belong to the actor's guild."""
    chat = queries.get_open_chat(world, cmd.channel_id)
    if chat.guild_id != cmd.actor.guild_id:
        raise NotFound("There is no story in this channel yet. Start one with /chat start.")
    return chat


def require_admin(actor: Actor, what: str) -> None:
    """Refuse unless the frontend vouched that the actor is an admin."""
    if not actor.is_admin:
        raise PermissionDenied(f"Only server admins (Manage Server, or an admin role) can {what}.")
