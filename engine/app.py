"""The Engine: a small facade over its services — story writes (StoryWriter), narration (Narrator), cards and lore
(Library), reads (Reads) and maintenance (Maintenance). Every user action goes through `perform`: one entry point
for every model of the command table (engine/table.py, engine/commands/)."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import structlog

from engine import queries
from engine.commands import (
    AnswerLine,
    CheckWorld,
    ContinueReply,
    ExportCharacter,
    ExportChat,
    ExportLorebook,
    ImportCharacter,
    ImportLorebook,
    InChannel,
    InChat,
    InspectPrompt,
    NudgeCharacter,
    Query,
    RegenerateReply,
    Reproject,
    Request,
    SayLine,
    ShowLog,
    SomeoneElse,
    StartChat,
    SwipeGreeting,
)
from engine.deciders.base import random_id
from engine.errors import EngineError, NotFound, PermissionDenied
from engine.llm.port import LanguageModel
from engine.narrator.generation import NullSink, Writing
from engine.narrator.prompt import Budget
from engine.narrator.sink import ReplySink
from engine.narrator.tokens import counter_of
from engine.services.library import Library
from engine.services.maintenance import Maintenance
from engine.services.memories import DEFAULT_PASSAGE_LINES, AutoMemory
from engine.services.narrator import Narrator, narrated_fields
from engine.services.reads import Reads
from engine.services.writer import StoryWriter
from engine.storage import open_storage
from engine.storage.port import Storage
from engine.storage.sqlite import Synchronous
from engine.table import action_of
from engine.turns import DEFAULT_MAX_CHAIN
from engine.views import ChatView, EventView

log = structlog.get_logger(__name__)
T = TypeVar("T")
R = TypeVar("R")
Handler = Callable[[Any, ReplySink | None, str | None], "asyncio.Future[Any]"]


def utc_now() -> str:
    """The wall-clock time events are stamped with (ISO 8601, UTC)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def soon(work: Awaitable[T]) -> asyncio.Future[T]:
    """Work that needs no channel's turn, started now."""
    return asyncio.ensure_future(work)


class Engine:
    """Chronicle's engine: decide → append → project in one transaction per user action.

    Every story command of a channel runs in its channel's queue, in the order `perform` was called; replies wait
    for one of `max_concurrent_replies` generation slots, and at most `max_queued_replies` may wait per channel.
    With `auto_memory`, the narrator summarises each passage of `auto_memory_lines` lines in the background
    (engine/services/memories.py).
    """

    def __init__(self, db: Storage, *, model: LanguageModel | None = None, context_tokens: int = 2048,
                 reply_tokens: int = 300, clock: Callable[[], str] = utc_now,
                 new_id: Callable[[str], str] = random_id, max_concurrent_replies: int = 4,
                 max_queued_replies: int = 3, max_chain: int = DEFAULT_MAX_CHAIN,
                 draw: Callable[[], float] = random.random, auto_memory: bool = False,
                 auto_memory_lines: int = DEFAULT_PASSAGE_LINES) -> None:
        self.db = db
        self.writer = StoryWriter(db, clock=clock, new_id=new_id)
        budget = Budget(context_tokens, reply_tokens, counter=counter_of(model))
        self.writing = Writing(db, model, budget, slots=max_concurrent_replies)
        self.narrator = Narrator(self.writer, self.writing, new_id=new_id, max_queued_replies=max_queued_replies,
                                 max_chain=max_chain, draw=draw)
        self.memories = AutoMemory(self.writer, self.writing, enabled=auto_memory, lines=auto_memory_lines)
        self.writer.listeners.append(self.memories.notice)
        self.library = Library(self.writer)
        self.reads = Reads(db)
        self.maintenance = Maintenance(db, self.writer)
        self._special: dict[type[Any], Handler] = {
            StartChat: self.narrator.start_chat,
            AnswerLine: lambda cmd, sink, cause: self.narrator.answer_line(cmd, sink or NullSink(), cause),
            SayLine: lambda cmd, sink, cause: self.writer.queue(cmd.channel_id, lambda: self.narrator.say(cmd, cause)),
            RegenerateReply: lambda cmd, sink, cause: self.narrator.rewrite(cmd, sink or NullSink(), cause),
            ContinueReply: lambda cmd, sink, cause: self.narrator.rewrite(cmd, sink or NullSink(), cause),
            NudgeCharacter: lambda cmd, sink, cause: self.narrator.nudge(cmd, sink or NullSink(), cause),
            SomeoneElse: lambda cmd, sink, cause: self.narrator.someone_else(cmd, sink or NullSink(), cause),
            SwipeGreeting: lambda cmd, sink, cause: self.narrator.swipe_greeting(cmd, sink or NullSink(), cause),
            ImportCharacter: lambda cmd, sink, cause: soon(self.library.import_card(cmd, cause)),
            ImportLorebook: lambda cmd, sink, cause: soon(self.library.import_lorebook(cmd, cause)),
            ExportCharacter: lambda q, sink, cause: soon(self.library.export_card(q)),
            ExportLorebook: lambda q, sink, cause: soon(self.library.export_lorebook(q)),
            ExportChat: lambda q, sink, cause: soon(self._export_chat(q)),
            InspectPrompt: lambda q, sink, cause: soon(self.narrator.inspect(q)),
            Reproject: lambda cmd, sink, cause: soon(self.maintenance.rebuild()),
            CheckWorld: lambda q, sink, cause: soon(self.maintenance.check()),
            ShowLog: lambda q, sink, cause: soon(self._log(q)),
        }

    @classmethod
    async def open(cls, location: str | Path, *, synchronous: Synchronous = "NORMAL", group_commit: bool = True,
                   busy_ms: int = 10_000, **kwargs: Any) -> Engine:
        """Open the database (a SQLite file path or a `postgresql://` URL), migrate, catch the projection up.

        A storage fault is one StorageError; a projection built by older rules is reprojected once."""
        db = await open_storage(location, synchronous=synchronous, group_commit=group_commit, busy_ms=busy_ms)
        try:
            engine = cls(db, **kwargs)
            applied = await engine.maintenance.catch_up()
            if applied:
                log.info("projection_caught_up", events=applied)
            await engine.maintenance.upgrade_projection()
        except BaseException:
            await db.close()
            raise
        return engine

    def perform(self, request: Request[R], *, sink: ReplySink | None = None,
                cause: str | None = None) -> asyncio.Future[R]:
        """Do one user action: a command of the table decided and recorded (a story command in its channel's
        turn, behind the channel's earlier ones), or a query answered. `sink` shows a reply as it is written;
        `cause` (a message or interaction id) makes a repeat delivery record nothing new."""
        entry = action_of(type(request))
        if entry is not None and entry.admin and not request.actor.is_admin:
            refused: asyncio.Future[R] = asyncio.get_running_loop().create_future()
            refused.set_exception(PermissionDenied("Only server admins (Manage Server, or an admin role) can "
                                                   f"use /{entry.path}."))
            return refused
        special = self._special.get(type(request))
        if special is not None:
            future: asyncio.Future[R] = special(request, sink, cause)
            return future
        if isinstance(request, Query):
            return soon(self.reads.answer(request))
        if isinstance(request, InChat):
            story = request
            return self.writer.queue(story.channel_id, lambda: self._story(story, cause),
                                     generates=bool(narrated_fields(type(story))))
        if isinstance(request, InChannel):
            return self.writer.queue(request.channel_id, lambda: self.writer.record(request, key=cause, cause=cause))
        return soon(self.writer.record(request, key=cause, cause=cause))  # type: ignore[arg-type]

    async def _story(self, cmd: InChat[R], cause: str | None) -> R:
        """A story command in its channel's turn: addressed to the open chat, its narrated parts written, recorded."""
        addressed, ref = await self.writer.addressed(cmd)
        if ref is not None and narrated_fields(type(addressed)):
            addressed = await self.narrator.fill(addressed, ref.chat)
        result: R = await self.writer.record(addressed, key=cause, cause=cause)
        return result

    async def _export_chat(self, q: ExportChat) -> Any:
        """The channel's open story, else its newest ended one, exported (admins get the whole log)."""
        if q.chat_id:
            return await self.maintenance.export_chat(q.chat_id, actor=q.actor)
        chat = await self.db.read(lambda c: _channel_chat(c, q.channel_id, q.actor.guild_id))
        return await self.maintenance.export_chat(chat.chat_id, actor=q.actor)

    async def _log(self, q: ShowLog) -> list[EventView]:
        """The newest events of the server's log (of the channel's story when asked from one that has one)."""
        chat = await self.reads.find_chat(q.channel_id) if q.channel_id else None
        if chat is not None and chat.guild_id == q.actor.guild_id:
            return await self.reads.recent_events(chat_id=chat.chat_id, limit=q.limit)
        return await self.reads.recent_events(guild_id=q.actor.guild_id, limit=q.limit)

    def after_story_work(self, channel_id: str, look: Callable[[], Awaitable[T]]) -> asyncio.Future[T]:
        """Run a frontend's `look` at a channel (a backfill reading its history) in the channel's story order: after
        the commands and replies queued there before it (none is half posted while it runs), before later ones."""
        return self.writer.queue(channel_id, look)

    @property
    def serial(self) -> Any:
        """The channels' story queues (what is queued or being written in each)."""
        return self.writer.serial

    @property
    def model(self) -> LanguageModel | None:
        """The language model the narrator writes with (None: none configured)."""
        return self.writing.model

    @model.setter
    def model(self, model: LanguageModel | None) -> None:
        self.writing.model = model
        self.writing.budget = dataclasses.replace(self.writing.budget, counter=counter_of(model))

    @property
    def budget(self) -> Budget:
        """The model's context and the reply's share of it."""
        return self.writing.budget

    @budget.setter
    def budget(self, budget: Budget) -> None:
        self.writing.budget = budget

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
        """Cancel queued and running story work (partial replies are withdrawn by their flows) and the automatic
        memories being written (nothing is recorded for them)."""
        await self.memories.close()
        await self.writer.serial.close()

    async def close(self) -> None:
        """Stop story work and close the database (the model, if any, belongs to whoever opened it)."""
        await self.stop()
        await self.db.close()


def _channel_chat(conn: Any, channel_id: str, guild_id: str) -> ChatView:
    """The channel's open chat, else its most recent ended one."""
    chat = queries.find_open_chat(conn, channel_id)
    if chat is not None and chat.guild_id == guild_id:
        return chat
    here = [c for c in queries.list_chats(conn, guild_id=guild_id) if c.channel_id == channel_id]
    if not here:
        raise NotFound("There is no story in this channel yet. Start one with /chat start.")
    return here[-1]
