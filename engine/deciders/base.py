"""What every decider gets besides its command: the state loaded for it, fresh ids and the time.

A decider is a pair: `load(world, cmd) -> state` reads what the rules need through the query
port (inside the command's transaction), and `decide(cmd, state, ctx) -> events` is pure: no I/O,
no clock, no randomness beyond `ctx`.
"""

from __future__ import annotations

import os
import threading
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


class _RandomBytes:
    """The operating system's random bytes, read 4 KiB at a time and handed out 8 at a time.

    One read for 512 ids instead of one each: the read lets go of the interpreter lock, and taking it back cost a
    command about 30 µs on the event loop while the writer's thread held it (measured at 1,000 commands/s)."""

    SIZE = 4096

    def __init__(self) -> None:
        self._lock = threading.Lock()  # ids are made on the event loop and in the writer's thread
        self._pool = b""
        self._at = 0

    def take(self, count: int) -> bytes:
        with self._lock:
            if self._at + count > len(self._pool):
                self._pool, self._at = os.urandom(max(self.SIZE, count)), 0
            start, self._at = self._at, self._at + count
            return self._pool[start:self._at]

    def after_fork(self) -> None:
        """A forked child never hands out what its parent will (the pool is read again)."""
        self._lock = threading.Lock()
        self._pool, self._at = b"", 0


_RANDOM = _RandomBytes()
os.register_at_fork(after_in_child=_RANDOM.after_fork)


def random_id(prefix: str) -> str:
    """A new id like `chr_3f9a…` (the command layer's only source of randomness): 8 random bytes from the operating
    system, as `secrets.token_hex(8)` gives."""
    return f"{prefix}_{_RANDOM.take(8).hex()}"


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
