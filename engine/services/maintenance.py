"""The log's maintenance: catching the projection up, rebuilding the world (reproject) without stopping the stories,
one chat rebuilt, a log copied from another database, `check`, exports, and the migrations still to apply."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import structlog

from engine import maintenance, projection, queries, store
from engine.commands import Actor
from engine.errors import EngineError, NotFound
from engine.projection import online
from engine.projection.projector import VERSION as PROJECTION_VERSION
from engine.services.writer import StoryWriter
from engine.storage.port import Conn, Storage
from engine.storage.sqlite import migrations_dir
from engine.views import ChatView, CheckReport

log = structlog.get_logger(__name__)


class Maintenance:
    """Whole-log work on one storage; the writer is told when chats' known versions are stale."""

    def __init__(self, db: Storage, writer: StoryWriter) -> None:
        self.db = db
        self.writer = writer
        self._rebuilding = asyncio.Lock()

    async def catch_up(self) -> int:
        """Apply events after the projection cursor (a no-op when up to date); return how many."""
        return await self.db.write_alone(projection.catch_up_in)

    async def upgrade_projection(self) -> None:
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

    async def rebuild(self) -> int:
        """Reproject the whole world from the log into fresh tables, then switch over; return events replayed.

        The stories keep going meanwhile: the replay runs in short transactions queued with their commands,
        and the switch to the new tables is one short transaction (engine/projection/online.py). Readers see
        the old world until the switch commits. A reproject run by another process opening the same database
        is waited for first, with one line naming it."""
        return await self._reproject() or 0

    async def _reproject(self, *, only_if_outdated: bool = False) -> int | None:
        """`rebuild`, in this process's and the database's reproject turn (None: not outdated any more)."""
        async with self._rebuilding, self.db.reprojecting() as turn:
            if turn is None:
                raise EngineError("another reproject holds the database")
            if only_if_outdated and await self.db.read(online.stored_version) == PROJECTION_VERSION:
                return None  # another process reprojected meanwhile
            started = time.perf_counter()
            self.writer.forget_versions()
            try:
                count = await online.rebuild(lambda fn: self.db.write(fn, solo=True), PROJECTION_VERSION,
                                             drop=turn.drop, pace=turn.pace, aside=turn.aside, hold=turn.hold,
                                             waiting=self.db.commands_waiting)
            finally:
                self.writer.forget_versions()
        log.info("world_rebuilt", events=count, seconds=round(time.perf_counter() - started, 2))
        return count

    async def reproject_chat(self, chat_id: str) -> int:
        """Rebuild one chat's rows from its own events (rewinds honoured); return the events applied."""
        await self.chat_by_id(chat_id)
        self.writer.forget_versions()

        def run(conn: Conn) -> int:
            before = store.last_seq(conn) + 1
            projection.reproject_chat(conn, chat_id, before=before)
            return len(projection.effective_chat_events(conn, chat_id, before))

        return await self.db.write_alone(run)

    async def chat_by_id(self, chat_id: str) -> ChatView:
        """A chat by id, open or ended."""
        chat = await self.db.read(lambda c: queries.find_chat(c, chat_id))
        if chat is None:
            raise NotFound(f"There is no chat with id '{chat_id[:80]}'. `chronicle chats` lists them.")
        return chat

    async def copy_log_from(self, source: str | Path) -> int:
        """Copy the whole log of another database (file or URL) into this empty one and rebuild the world."""
        count = await self.db.write_alone(lambda conn: maintenance.import_log(conn, source))
        log.info("log_copied", events=count)
        return count

    async def check(self) -> CheckReport:
        """Rebuild a scratch copy from the log and compare every projected table with the live one."""
        return await asyncio.to_thread(maintenance.check, self.db)

    async def export_chat(self, chat_id: str, *, actor: Actor | None = None) -> maintenance.ChatExport:
        """A chat's transcript as Markdown and JSON Lines.

        Admins (and the terminal, with no actor) get every event of the log, rewound and deleted lines
        included; members get the live story only: what is in the transcript now, under persona names,
        without user ids."""
        chat = await self.chat_by_id(chat_id)
        full = actor is None or actor.is_admin
        return await self.db.read(lambda c: maintenance.export_chat(c, chat, full=full))

    async def migrations_pending(self) -> list[str]:
        """The shipped migrations the database has not recorded (empty once start-up applied them)."""
        folder = migrations_dir()
        if self.db.dialect == "postgres":
            from engine.storage.pg_migrate import migrations_dir as postgres_migrations

            folder = postgres_migrations()

        def read(conn: Conn) -> list[str]:
            applied = {int(row[0]) for row in conn.execute("SELECT version FROM schema_migrations")}
            return [path.name for path in sorted(folder.glob("*.sql"))
                    if int(path.name.split("_", 1)[0]) not in applied]

        return await self.db.read(read)
