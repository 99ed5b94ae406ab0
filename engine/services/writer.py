"""Story writes: decide → append → project in one transaction per command, each channel's story commands in one
queue, and what this process knows of its chats' versions.

Every story command of a channel runs through one serialiser (`serial`), in the order it was submitted; the
channel is resolved to its open chat and the chat stream's version once, in turn, and the command carries both.
A stale version (a write from elsewhere) is a ConcurrencyConflict: decided again against fresh state when the
command's meaning allows, else nothing is recorded. The second decision holds the log's whole lock from its first
read and reads the stream's version there, so it can't meet the same conflict again (another process writing the
same chat would otherwise win every race with its next line, its version already known).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from itertools import groupby
from typing import Any, TypeVar

import structlog

from engine import projection, queries, store
from engine.commands import Command, InChat
from engine.deciders import decider_for
from engine.deciders.base import Context, Decider
from engine.errors import AlreadyHandled, ConcurrencyConflict, NoStory, NotFound, ProjectionError
from engine.events import ChatStarted, Recorded
from engine.serial import ChatSerializer
from engine.storage.group import Phased
from engine.storage.ordered import Recording
from engine.storage.port import Conn, Storage
from engine.store import Stamp
from engine.table import action_of, snake
from engine.views import ChatRef

log = structlog.get_logger(__name__)
T = TypeVar("T")
Result = Callable[[Conn, Any, list[Recorded[Any]]], T]
Listener = Callable[[Command[Any], list[Recorded[Any]]], None]
CONFLICT_ATTEMPTS = 3
# Events after which a chat's row (status, time, weather, scene, place) is unchanged: a cached ChatRef stays
# valid with its version moved on. Any other event makes the engine read the chat again.
KEEPS_CHAT_ROW = frozenset({"user_said", "bot_replied", "message_edited", "message_retracted", "reply_regenerated",
                            "memory_written", "memory_forgotten", "edge_update", "meanwhile_scene_started",
                            "meanwhile_digest_created"})


class StoryWriter:
    """Decides and records commands; owns the channels' story queues and the chats' known versions."""

    def __init__(self, db: Storage, *, clock: Callable[[], str], new_id: Callable[[str], str]) -> None:
        self.db = db
        self.serial = ChatSerializer()
        self._clock = clock
        self._new_id = new_id
        self._refs: dict[str, ChatRef] = {}  # chat id → its chat and version, as this process's own writes left it
        self._open_chats: dict[str, str] = {}  # channel → the chat id last found open there
        self.listeners: list[Listener] = []  # told of every command's recorded events (they must not block)

    def queue(self, channel_id: str, job: Callable[[], Awaitable[T]], *, generates: bool = False) -> asyncio.Future[T]:
        """Queue a story job behind the channel's earlier ones (submitted now, so call order is run order)."""
        return self.serial.submit(channel_id, job, generates=generates)

    def forget_versions(self) -> None:
        """Read every chat again before its next command (after a reproject or a chat rebuilt)."""
        self._refs.clear()

    async def chat_ref(self, channel_id: str, guild_id: str) -> ChatRef:
        """The channel's open chat and its stream's version: what a story command is decided against.

        Within this process every story command of a channel runs through its serialiser, so after a command of
        ours the chat's new version is known without a read; a write from elsewhere makes it stale, which the
        append detects (a conflict, then a fresh read)."""
        known = self._refs.get(self._open_chats.get(channel_id, ""))
        if known is not None and known.chat.guild_id == guild_id:
            return known

        def read(conn: Conn) -> ChatRef:
            chat = queries.find_open_chat(conn, channel_id)
            if chat is None or chat.guild_id != guild_id:
                raise NoStory()
            return ChatRef(chat, store.stream_version(conn, f"chat:{chat.chat_id}"))

        ref = await self.db.read(read)
        self._refs[ref.chat_id] = ref
        self._open_chats[channel_id] = ref.chat_id
        return ref

    async def addressed(self, cmd: InChat[Any]) -> tuple[InChat[Any], ChatRef | None]:
        """The command with its channel's open chat and version filled in (as it is in the channel's turn); a
        command that changes no story (a book put on a character) is left as it is."""
        if not cmd.in_story:
            return cmd, None
        ref = await self.chat_ref(cmd.channel_id, cmd.actor.guild_id)
        return cmd.model_copy(update={"chat_id": ref.chat_id, "expected_version": ref.version}), ref

    async def record(self, cmd: Command[T], *, key: str | None = None, cause: str | None = None) -> T:
        """Record a command (story commands addressed first) and answer with its table entry's result."""
        if isinstance(cmd, InChat) and not cmd.chat_id:
            cmd, _ = await self.addressed(cmd)
        entry = action_of(type(cmd))
        if entry is None or entry.result is None:
            raise ProjectionError(f"{type(cmd).__name__} has no result in the command table")
        return await self.execute(cmd, entry.result, key=key, cause=cause)

    async def execute(self, cmd: Command[Any], result: Result[T], *, key: str | None = None,
                      cause: str | None = None) -> T:
        """Decide `cmd`, append its events and project them in one transaction; build the result there too."""
        decider = decider_for(cmd)
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            ctx = Context(now=self._clock(), new_id=self._new_id)
            stamp = Stamp(ctx.now, self._new_id("cmd"), cause)
            try:
                recorded, value = await self.db.write(_job(decider, cmd, ctx, stamp, key, result,
                                                           held=attempt > 1))
                self._remember(cmd, recorded)
                break
            except ConcurrencyConflict:
                self._remember(cmd, None)
                if not cmd.redecide_on_conflict or attempt == CONFLICT_ATTEMPTS or not isinstance(cmd, InChat):
                    raise
                log.warning("concurrency_conflict_redecide", command=snake(type(cmd).__name__), attempt=attempt)
            except BaseException:
                self._remember(cmd, None)
                raise
        for event in recorded:
            log.info("event_appended", seq=event.seq, kind=event.kind, chat=event.chat_id, stream=event.stream,
                     command=event.command_id, cause=event.cause)
        if recorded:
            self._tell(cmd, recorded)
        return value

    def _tell(self, cmd: Command[Any], recorded: list[Recorded[Any]]) -> None:
        """Tell the listeners what a command recorded (one that fails is logged; the command stands)."""
        for listener in self.listeners:
            try:
                listener(cmd, recorded)
            except Exception as exc:  # noqa: BLE001 — what is recorded stays recorded
                log.error("listener_failed", listener=getattr(listener, "__qualname__", repr(listener)),
                          error=repr(exc), exc_info=exc)

    def _remember(self, cmd: Command[Any], recorded: list[Recorded[Any]] | None) -> None:
        """Keep what this process knows of its chats after one of its commands, from every event the command
        recorded on any chat's stream (forget what it is unsure of).

        A chat started here becomes its channel's open chat at once: a channel whose last story ended elsewhere
        would otherwise still be mapped to that ended chat. A known chat's version moves on past events that keep
        its row; any other event, or a gap before them (a write from elsewhere), makes it read again."""
        if recorded is None:  # failed or conflicted: the chat it addressed may have moved
            if isinstance(cmd, InChat):
                self._refs.pop(cmd.chat_id, None)
            return
        for stream, group in groupby(recorded, key=lambda e: e.stream):
            if not stream.startswith("chat:"):
                continue
            events = list(group)
            chat_id = stream.removeprefix("chat:")
            for event in events:
                if isinstance(event.payload, ChatStarted):
                    self._open_chats[event.payload.channel_id] = chat_id
            ref = self._refs.get(chat_id)
            if ref is None:
                continue
            if any(e.kind not in KEEPS_CHAT_ROW for e in events) or events[0].stream_version != ref.version + 1:
                del self._refs[chat_id]
            else:
                self._refs[chat_id] = ChatRef(ref.chat, events[-1].stream_version)


def _job(decider: Decider[Any, Any], cmd: Command[Any], ctx: Context, stamp: Stamp, key: str | None,
         result: Result[T], *, held: bool = False) -> Callable[[Conn], tuple[list[Recorded[Any]], T]]:
    """One command for the writer: a story command, decided against its chat's version, in two phases (a group
    decides all of them before recording any: `Phased`); any other, or a story command decided again after a
    conflict (`held`), decided against the world with the log held, whole."""
    def decide(conn: Conn) -> Callable[[Conn], tuple[list[Recorded[Any]], T]]:
        return _decide(conn, decider, cmd, ctx, stamp, key, result, held=held)

    if isinstance(cmd, InChat) and cmd.in_story and cmd.chat_id and not held:
        return Phased(decide)
    return lambda conn: decide(conn)(conn)


def _decide(conn: Conn, decider: Decider[Any, Any], cmd: Command[Any], ctx: Context, stamp: Stamp, key: str | None,
            result: Result[T], *, held: bool = False) -> Callable[[Conn], tuple[list[Recorded[Any]], T]]:
    """A command's first phase: idempotency, load, decide; returns its second (a `Recording`: `_Story`, or
    `_Answered` for a command already recorded). `held`: the log held from the first read, and a story command's
    version read under it."""
    in_story = isinstance(cmd, InChat) and cmd.in_story and cmd.chat_id
    if held or not in_story:  # decided against more than its chat's version, or again after a conflict
        store.hold_log(conn)
    if held and isinstance(cmd, InChat) and in_story:
        cmd = cmd.model_copy(update={"expected_version": store.stream_version(conn, cmd.stream)})
    if key is not None and (previous := store.find_by_key(conn, key)) is not None:
        log.info("duplicate_ignored", key=key, seq=previous.seq, kind=previous.kind)
        try:
            value = result(conn, cmd, store.read_command(conn, previous))
        except (NotFound, ProjectionError):  # what it recorded is gone (rewound, forgotten, ended)
            raise AlreadyHandled() from None
        return _Answered(value)
    state = decider.load(conn, cmd)
    return _Story(cmd, decider.decide(cmd, state, ctx), stamp, key, result)


class _Recording(Recording):
    """What both kinds of a story command's second phase share in an ordered group."""

    def settle(self, conn: Conn, last_seq: int) -> None:
        projection.settle_ordered(conn, last_seq)

    def project_together(self, conn: Conn, events: list[Any]) -> None:
        projection.projector.apply_all(conn, events)


class _Answered(_Recording):
    """A command already recorded (its idempotency key found): nothing to append, its first answer."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __call__(self, conn: Conn) -> tuple[list[Recorded[Any]], Any]:
        return [], self.value

    def append(self, conn: Conn) -> list[Any]:
        return []

    def project(self, conn: Conn, events: list[Any]) -> None:
        return None

    def answer(self, conn: Conn, events: list[Any]) -> tuple[list[Recorded[Any]], Any]:
        return [], self.value


class _Story(_Recording):
    """A decided story command: its events to append, project and answer with."""

    def __init__(self, cmd: Command[Any], new_events: list[Any], stamp: Stamp, key: str | None,
                 result: Result[Any]) -> None:
        self.cmd, self.new_events, self.stamp, self.key, self.result = cmd, new_events, stamp, key, result

    def __call__(self, conn: Conn) -> tuple[list[Recorded[Any]], Any]:
        """The second phase as one step: append per stream, project (the cursor moved), answer."""
        at = projection.position_later(conn) if self.new_events else None  # takes the log's lock, with the append
        recorded = self.append(conn)
        projection.apply_new(conn, recorded, at=at)
        return recorded, self.result(conn, self.cmd, recorded)

    def append(self, conn: Conn) -> list[Recorded[Any]]:
        """Append the events, per stream."""
        recorded: list[Recorded[Any]] = []
        for stream, group in groupby(self.new_events, key=lambda e: e.payload.stream()):
            if isinstance(self.cmd, InChat) and stream == self.cmd.stream:
                version = self.cmd.expected_version
            else:  # a new chat, a guild's or a person's stream: decided in this very transaction
                version = store.stream_version(conn, stream)
            recorded += store.append(conn, stream, version, list(group), stamp=self.stamp,
                                     idempotency_key=self.key if not recorded else None)
        return recorded

    def project(self, conn: Conn, events: list[Any]) -> None:
        projection.projector.apply_all(conn, events)

    def answer(self, conn: Conn, events: list[Any]) -> tuple[list[Recorded[Any]], Any]:
        return events, self.result(conn, self.cmd, events)

    def append_together(self, conn: Conn, recordings: list[Recording]) -> list[list[Any]]:
        """One statement for the group's events when every one of them goes on its own chat's stream."""
        own = [r for r in recordings if isinstance(r, _Story) and isinstance(r.cmd, InChat)
               and all(e.payload.stream() == r.cmd.stream for e in r.new_events)]
        if len(own) < sum(isinstance(r, _Story) for r in recordings):
            return super().append_together(conn, recordings)
        appended = iter(store.append_many(conn, [
            store.Appending(r.cmd.stream, r.cmd.expected_version, r.new_events, r.stamp, r.key) for r in own
            if isinstance(r.cmd, InChat)]))
        return [next(appended) if isinstance(r, _Story) else [] for r in recordings]
