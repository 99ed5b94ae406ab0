"""The Engine: one method per user action, read methods, and the log's maintenance (rebuild, check)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path
from typing import Any, TypeVar

import structlog

from engine import projection, queries, store
from engine.commands import (
    AdjustRelationship, AuthorCharacter, CloseScene, Command, CreatePlace, EditCharacter, EditMessage, EndChat,
    ForgetMemory, OpenScene, RecordMeanwhileDigest, RecordMessage, RecordReply, RetireCharacter, RetractMessage,
    ReviseReply, RewindChat, SetPersona, SetWeather, SkipTime, StartChat, StartMeanwhile, WriteMemory,
)
from engine.db import Database, Synchronous, transaction
from engine.deciders import characters, chats, story, world
from engine.deciders.base import Context, random_id
from engine.errors import ConcurrencyConflict
from engine.events import Recorded
from engine.llm.port import LanguageModel
from engine.locks import KeyedLocks
from engine.narrator.flows import EngineNarration
from engine.narrator.prompt import Budget
from engine.reads import EngineReads
from engine.store import NewEvent
from engine.writes import EngineWrites

log = structlog.get_logger(__name__)
T = TypeVar("T")
Decider = Callable[[Any, sqlite3.Connection, Context], list[NewEvent]]

DECIDERS: dict[type[Command], Decider] = {
    AuthorCharacter: characters.decide_author_character,
    EditCharacter: characters.decide_edit_character,
    RetireCharacter: characters.decide_retire_character,
    SetPersona: characters.decide_set_persona,
    StartChat: chats.decide_start_chat,
    EndChat: chats.decide_end_chat,
    CreatePlace: chats.decide_create_place,
    OpenScene: chats.decide_open_scene,
    CloseScene: chats.decide_close_scene,
    SkipTime: chats.decide_skip_time,
    SetWeather: chats.decide_set_weather,
    RecordMessage: story.decide_record_message,
    RecordReply: story.decide_record_reply,
    EditMessage: story.decide_edit_message,
    RetractMessage: story.decide_retract_message,
    ReviseReply: story.decide_revise_reply,
    RewindChat: story.decide_rewind_chat,
    WriteMemory: world.decide_write_memory,
    ForgetMemory: world.decide_forget_memory,
    StartMeanwhile: world.decide_start_meanwhile,
    RecordMeanwhileDigest: world.decide_record_meanwhile_digest,
    AdjustRelationship: world.decide_adjust_relationship,
}


def utc_now() -> str:
    """The wall-clock time events are stamped with (ISO 8601, UTC)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


class Engine(EngineWrites, EngineNarration, EngineReads):
    """Chronicle's engine: decide → append → project in one transaction per user action."""

    def __init__(self, db: Database, *, model: LanguageModel | None = None, context_tokens: int = 2048,
                 reply_tokens: int = 300, clock: Callable[[], str] = utc_now,
                 new_id: Callable[[str], str] = random_id) -> None:
        self.db = db
        self.model = model
        self.budget = Budget(context_tokens, reply_tokens)
        self._clock = clock
        self._new_id = new_id
        self.chat_locks = KeyedLocks()

    @classmethod
    async def open(cls, path: str | Path, *, synchronous: Synchronous = "NORMAL", **kwargs: Any) -> Engine:
        """Open the database, apply migrations, and catch the projection up with the log."""
        db = await Database.open(path, synchronous=synchronous)
        engine = cls(db, **kwargs)
        applied = await engine.catch_up()
        if applied:
            log.info("projection_caught_up", events=applied)
        return engine

    async def close(self) -> None:
        """Close the database (the model, if any, belongs to whoever opened it)."""
        await self.db.close()

    async def execute(self, cmd: Command, result: Callable[[sqlite3.Connection, list[Recorded]], T], *,
                      key: str | None = None) -> T:
        """Decide `cmd`, append its events and project them in one transaction; then build the result."""
        decider = DECIDERS[type(cmd)]
        ctx = Context(now=self._clock(), new_id=self._new_id)

        def run(conn: sqlite3.Connection) -> tuple[list[Recorded], T]:
            with transaction(conn):
                recorded = _decide_and_append(conn, decider, cmd, ctx, key)
            return recorded, result(conn, recorded)

        try:
            recorded, value = await self.db.write(run)
        except ConcurrencyConflict:
            log.warning("concurrency_conflict_retry", command=cmd.name)
            recorded, value = await self.db.write(run)
        for event in recorded:
            log.info("event_appended", seq=event.seq, kind=event.kind, chat=event.chat_id, stream=event.stream)
        return value

    async def catch_up(self) -> int:
        """Apply events after the projection cursor (a no-op when up to date); return how many."""

        def run(conn: sqlite3.Connection) -> int:
            with transaction(conn):
                return projection.catch_up_in(conn)

        return await self.db.write(run)

    async def rebuild(self) -> int:
        """Reproject the whole world from an empty state in one transaction; return events replayed."""

        def run(conn: sqlite3.Connection) -> int:
            with transaction(conn):
                return projection.rebuild_in(conn)

        count = await self.db.write(run)
        log.info("world_rebuilt", events=count)
        return count

    async def reproject_chat(self, chat_id: str) -> int:
        """Rebuild one chat's rows from its own events (rewinds honoured); return the events applied."""
        await self.chat_by_id(chat_id)

        def run(conn: sqlite3.Connection) -> int:
            with transaction(conn):
                before = store.last_seq(conn) + 1
                projection.reproject_chat(conn, chat_id, before=before)
                return len(projection.effective_chat_events(conn, chat_id, before))

        return await self.db.write(run)


def _decide_and_append(conn: sqlite3.Connection, decider: Decider, cmd: Command, ctx: Context,
                       key: str | None) -> list[Recorded]:
    """The body of a command transaction: idempotency, decision, append per stream, projection."""
    if key is not None and (previous := store.find_by_key(conn, key)) is not None:
        log.info("duplicate_ignored", key=key, seq=previous.seq, kind=previous.kind)
        return []
    new_events = decider(cmd, conn, ctx)
    recorded: list[Recorded] = []
    for stream, group in groupby(new_events, key=lambda e: e.payload.stream()):
        version = store.stream_version(conn, stream)
        recorded += store.append(conn, stream, version, list(group), recorded_at=ctx.now,
                                 idempotency_key=key if not recorded else None)
    projection.apply_new(conn, recorded)
    return recorded
