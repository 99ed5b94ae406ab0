"""What every decider gets besides its command: the state loaded for it, fresh ids and the time.

A decider is a pair: `load(world, cmd) -> state` reads what the rules need through the query
port (inside the command's transaction), and `decide(cmd, state, ctx) -> events` is pure: no I/O,
no clock, no randomness beyond `ctx`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from engine import queries
from engine.commands import Actor, Command, InChat
from engine.errors import DomainError, NotFound, PermissionDenied
from engine.events import Event
from engine.storage.port import Conn
from engine.store import NewEvent
from engine.views import ChatView

C = TypeVar("C", bound=Command[Any])
S = TypeVar("S")
NO_STORY = "There is no story in this channel yet. Start one with /chat start."
ENDED = "That story has ended, so nothing was recorded. /chat start begins a new one."


def random_id(prefix: str) -> str:
    """A new id like `chr_3f9a…` (the command layer's only source of randomness)."""
    return f"{prefix}_{secrets.token_hex(8)}"


@dataclass(frozen=True)
class Context:
    """Per-command inputs that are not part of the command itself."""

    now: str
    new_id: Callable[[str], str] = field(default=random_id)


@dataclass(frozen=True)
class Decider(Generic[C, S]):
    """How one command is decided: what to load, then a pure decision."""

    load: Callable[[Conn, C], S]
    decide: Callable[[C, S, Context], list[NewEvent]]


def emit(actor: Actor, *payloads: Event) -> list[NewEvent]:
    """Wrap payloads as new events on behalf of `actor`."""
    return [NewEvent(p, actor.guild_id, actor.user_id) for p in payloads]


def load_nothing(world: Conn, cmd: Any) -> None:
    """For commands whose rules need no state."""
    return None


def load_chat(world: Conn, cmd: InChat[Any]) -> ChatView | None:
    """The chat a story command names (open or ended), or None."""
    return queries.find_chat(world, cmd.chat_id)


def story_chat(chat: ChatView | None, cmd: InChat[Any]) -> ChatView:
    """The command's chat, which must exist in the actor's guild and still be open."""
    if chat is None or chat.guild_id != cmd.actor.guild_id:
        raise NotFound(NO_STORY)
    if chat.status != "open":
        raise DomainError(ENDED)
    return chat


def require_admin(actor: Actor, what: str) -> None:
    """Refuse unless the frontend vouched that the actor is an admin."""
    if not actor.is_admin:
        raise PermissionDenied(f"Only server admins (Manage Server, or an admin role) can {what}.")
