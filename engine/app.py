"""The Engine: one method per user action, read methods, and the log's maintenance (rebuild, check)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path
from typing import Any, TypeVar

import structlog

from engine import maintenance, projection, queries, store
from engine.commands import Command, InChat
from engine.deciders import characters, chats, lore, memory, relationships, transcript, world
from engine.deciders.base import Context, Decider, random_id
from engine.errors import AlreadyHandled, ConcurrencyConflict, EngineError, NoStory, NotFound, ProjectionError
from engine.events import ChatStarted, Recorded
from engine.llm.port import LanguageModel
from engine.narrator.flows import EngineNarration
from engine.narrator.greetings import EngineGreetings
from engine.narrator.prompt import Budget
from engine.projection import online
from engine.projection.projector import VERSION as PROJECTION_VERSION
from engine.reads import EngineReads
from engine.serial import ChatSerializer
from engine.storage import open_storage
from engine.storage.port import Conn, Storage
from engine.storage.sqlite import Synchronous
from engine.store import Stamp
from engine.views import ChatRef
from engine.writes import EngineWrites
from engine.writes_cards import EngineCards
from engine.writes_lore import EngineLore

log = structlog.get_logger(__name__)
T = TypeVar("T")
Result = Callable[[Conn, list[Recorded[Any]]], T]

DECIDERS: dict[type[Command], Decider[Any, Any]] = {
    **characters.DECIDERS, **chats.DECIDERS, **world.DECIDERS, **transcript.DECIDERS, **memory.DECIDERS,
    **relationships.DECIDERS, **lore.DECIDERS,
}
CONFLICT_ATTEMPTS = 3
# Events after which a chat's row (status, time, weather, scene, place) is unchanged: a cached ChatRef stays
# valid with its version moved on. Any other event makes the engine read the chat again.
KEEPS_CHAT_ROW = frozenset({"user_said", "bot_replied", "message_edited", "message_retracted", "reply_regenerated",
                            "memory_written", "memory_forgotten", "edge_update", "meanwhile_scene_started",
                            "meanwhile_digest_created"})


def utc_now() -> str:
    """The wall-clock time events are stamped with (ISO 8601, UTC)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


class Engine(EngineWrites, EngineNarration, EngineGreetings, EngineCards, EngineLore, EngineReads):
    """Chronicle's engine: decide → append → project in one transaction per user action.

    Every story command of a channel runs through one serialiser (`self.serial`), in the order the
    engine's methods were called; replies wait for one of `max_concurrent_replies` generation slots,
    and at most `max_queued_replies` replies may wait per channel.
    """

    def __init__(self, db: Storage, *, model: LanguageModel | None = None, context_tokens: int = 2048,
                 reply_tokens: int = 300, clock: Callable[[], str] = utc_now,
                 new_id: Callable[[str], str] = random_id, max_concurrent_replies: int = 4,
                 max_queued_replies: int = 3) -> None:
        self.db = db
        self.model = model
        self.budget = Budget(context_tokens, reply_tokens)
        self._clock = clock
        self._new_id = new_id
        self.serial = ChatSerializer()
        self._refs: dict[str, ChatRef] = {}  # chat id → its chat and version, as this engine's own writes left it
        self._open_chats: dict[str, str] = {}  # channel → the chat id last found open there
        self.max_queued_replies = max_queued_replies
        self._generation_slots = asyncio.Semaphore(max_concurrent_replies)
        self._rebuilding = asyncio.Lock()

    @classmethod
    async def open(cls, location: str | Path, *, synchronous: Synchronous = "NORMAL", group_commit: bool = True,
                   busy_ms: int = 10_000, **kwargs: Any) -> Engine:
        """Open the database (a SQLite file path or a `postgresql://` URL), migrate, catch the projection up.

        A storage fault is one StorageError; a projection built by older rules is reprojected once."""
        db = await open_storage(location, synchronous=synchronous, group_commit=group_commit, busy_ms=busy_ms)
        try:
            engine = cls(db, **kwargs)
            applied = await engine.catch_up()
            if applied:
                log.info("projection_caught_up", events=applied)
            await engine._upgrade_projection()
        except BaseException:
            await db.close()
            raise
        return engine

    async def _upgrade_projection(self) -> None:
        """Drop what a dead reproject left; reproject once when the projection rules changed.

        Copies are leftovers only when this process can take the database's reproject lock: a reproject holds
        it for its whole run, and the system releases it when that process dies. Without the lock another
        process is reprojecting (or dropping the same leftovers), and its copies are left alone."""
        if await self.db.read(online.leftovers):  # the lock is taken only then (PostgreSQL: a connection of its own)
            async with self.db.reprojecting(wait=False) as turn:
                if turn is not None and (found := await self.db.read(online.leftovers)):
                    dropped = await self.db.write(online.drop_leftovers)
                    log.info("reproject_leftovers_dropped", tables=dropped, found=len(found))
        stored = await self.db.read(online.stored_version)
        if stored == PROJECTION_VERSION:
            return
        if await self.db.read(store.last_seq):
            log.warning("projection_outdated_reprojecting", stored=stored, current=PROJECTION_VERSION)
            await self._reproject(only_if_outdated=True)
        else:
            await self.db.write(lambda conn: online.set_version(conn, PROJECTION_VERSION))

    @property
    def location(self) -> str:
        """Where the log lives (a file path or a database URL)."""
        return self.db.location

    @property
    def shared(self) -> bool:
        """Whether other processes may share this database (PostgreSQL; a SQLite file has one process)."""
        return self.db.dialect != "sqlite"

    async def take_turn(self, key: int, spacing: float) -> None:
        """Wait until `spacing` seconds have passed since any process sharing the database took turn `key`."""
        if not self.shared:
            raise EngineError("turns across processes need a PostgreSQL database")
        await self.db.take_turn(key, spacing)  # type: ignore[attr-defined]

    async def stop(self) -> None:
        """Cancel queued and running story work (partial replies are withdrawn by their flows)."""
        await self.serial.close()

    async def close(self) -> None:
        """Stop story work and close the database (the model, if any, belongs to whoever opened it)."""
        await self.stop()
        await self.db.close()

    def _story(self, channel_id: str, job: Callable[[], Awaitable[T]], *, generates: bool = False) -> asyncio.Future[T]:
        """Queue a story job behind the channel's earlier ones (submitted now, so call order is run order)."""
        return self.serial.submit(channel_id, job, generates=generates)

    async def chat_ref(self, channel_id: str, guild_id: str) -> ChatRef:
        """The channel's open chat and its stream's version: what a story command is decided against.

        Within this process every story command of a channel runs through its serialiser, so after a
        command of ours the chat's new version is known without a read; a write from elsewhere makes it
        stale, which the append detects (a conflict, then a fresh read).
        """
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

    def _remember(self, cmd: Command, recorded: list[Recorded] | None) -> None:
        """Keep what this engine knows of its chats after one of its commands, from every event the command
        recorded on any chat's stream, whatever the command (forget what it is unsure of).

        A chat started here becomes its channel's open chat at once: a channel whose last story ended elsewhere
        would otherwise still be mapped to that ended chat, and the new story's greeting and first lines
        decided against it. A known chat's version moves on past events that keep its row; any other event,
        or a gap before them (a write from elsewhere), makes it read again."""
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

    async def execute(self, cmd: Command, result: Result[T], *, key: str | None = None,
                      cause: str | None = None) -> T:
        """Decide `cmd`, append its events and project them in one transaction; build the result there too.

        A stale chat version (another process wrote first) is a ConcurrencyConflict: the command is
        decided again against the fresh version when its meaning allows, else nothing is recorded.
        """
        decider = DECIDERS[type(cmd)]
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            ctx = Context(now=self._clock(), new_id=self._new_id)
            stamp = Stamp(ctx.now, self._new_id("cmd"), cause)
            try:
                recorded, value = await self.db.write(
                    lambda conn: _unit(conn, decider, cmd, ctx, stamp, key, result))  # noqa: B023 (awaited here)
                self._remember(cmd, recorded)
                break
            except ConcurrencyConflict:
                self._remember(cmd, None)
                if not cmd.redecide_on_conflict or attempt == CONFLICT_ATTEMPTS or not isinstance(cmd, InChat):
                    raise
                log.warning("concurrency_conflict_redecide", command=cmd.name, attempt=attempt)
                stream = cmd.stream
                fresh = await self.db.read(lambda c: store.stream_version(c, stream))  # noqa: B023
                cmd = cmd.model_copy(update={"expected_version": fresh})
            except BaseException:
                self._remember(cmd, None)
                raise
        for event in recorded:
            log.info("event_appended", seq=event.seq, kind=event.kind, chat=event.chat_id, stream=event.stream,
                     command=event.command_id, cause=event.cause)
        return value

    async def catch_up(self) -> int:
        """Apply events after the projection cursor (a no-op when up to date); return how many."""
        return await self.db.write_alone(projection.catch_up_in)

    async def rebuild(self) -> int:
        """Reproject the whole world from the log into fresh tables, then switch over; return events replayed.

        The stories keep going meanwhile: the replay runs in short transactions queued with their commands,
        and the switch to the new tables is one short transaction (engine/projection/online.py). Readers see
        the old world until the switch commits. A reproject run by another process opening the same database
        (a SQLite file or a PostgreSQL database) is waited for first, with one line naming it.
        """
        return await self._reproject() or 0

    async def _reproject(self, *, only_if_outdated: bool = False) -> int | None:
        """`rebuild`, in this process's and the database's reproject turn (None: not outdated any more)."""
        async with self._rebuilding, self.db.reprojecting() as turn:
            if turn is None:
                raise EngineError("another reproject holds the database")
            if only_if_outdated and await self.db.read(online.stored_version) == PROJECTION_VERSION:
                return None  # another process reprojected meanwhile
            started = time.perf_counter()
            self._refs.clear()
            try:
                count = await online.rebuild(lambda fn: self.db.write(fn, solo=True), PROJECTION_VERSION,
                                             drop=turn.drop, pace=turn.pace, aside=turn.aside, hold=turn.hold)
            finally:
                self._refs.clear()
        log.info("world_rebuilt", events=count, seconds=round(time.perf_counter() - started, 2))
        return count

    async def reproject_chat(self, chat_id: str) -> int:
        """Rebuild one chat's rows from its own events (rewinds honoured); return the events applied."""
        await self.chat_by_id(chat_id)
        self._refs.clear()

        def run(conn: Conn) -> int:
            before = store.last_seq(conn) + 1
            projection.reproject_chat(conn, chat_id, before=before)
            return len(projection.effective_chat_events(conn, chat_id, before))

        return await self.db.write_alone(run)

    async def copy_log_from(self, source: str | Path) -> int:
        """Copy the whole log of another database (file or URL) into this empty one and rebuild the world."""
        count = await self.db.write_alone(lambda conn: maintenance.import_log(conn, source))
        log.info("log_copied", events=count)
        return count


def _unit(conn: Conn, decider: Decider[Any, Any], cmd: Command, ctx: Context, stamp: Stamp, key: str | None,
          result: Result[T]) -> tuple[list[Recorded[Any]], T]:
    """One command in the writer: idempotency, load, decide, append per stream, project, build the result."""
    if key is not None and (previous := store.find_by_key(conn, key)) is not None:
        log.info("duplicate_ignored", key=key, seq=previous.seq, kind=previous.kind)
        try:
            return [], result(conn, store.read_command(conn, previous))
        except (NotFound, ProjectionError):  # what it recorded is gone (rewound, forgotten, ended)
            raise AlreadyHandled() from None
    state = decider.load(conn, cmd)
    new_events = decider.decide(cmd, state, ctx)
    recorded: list[Recorded[Any]] = []
    for stream, group in groupby(new_events, key=lambda e: e.payload.stream()):
        if isinstance(cmd, InChat) and stream == cmd.stream:
            version = cmd.expected_version
        else:  # a new chat, a guild's or a person's stream: decided in this very transaction
            version = store.stream_version(conn, stream)
        recorded += store.append(conn, stream, version, list(group), stamp=stamp,
                                 idempotency_key=key if not recorded else None)
    projection.apply_new(conn, recorded)
    return recorded, result(conn, recorded)
