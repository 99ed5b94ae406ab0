"""Keeping SQLite's WAL small, and what a full disk means for it.

Background checkpoints (PASSIVE, every `every` writes) keep the copy of WAL pages into the database
file off the command path. When the disk runs low (under LOW_SPACE free), every write is followed
by a TRUNCATE checkpoint, so the data lives in the database file and the WAL stays a few pages: space
freed later is usable at once. After "disk full" a watcher folds the WAL every half second and clears
the full state when that worked and there is ROOM again.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import structlog

from engine.storage import sqlite_faults as faults

log = structlog.get_logger(__name__)
Run = Callable[[Callable[[sqlite3.Connection], Any]], Awaitable[Any]]
LOW_SPACE = 64 * 1024 * 1024  # below this much free space, every write is followed by a WAL fold
ROOM = 256 * 1024  # a reply is generated only with at least this much free space


class WalKeeper:
    """Checkpoints on the database's checkpointer connection (`run` runs a function on its thread)."""

    def __init__(self, path: Path, run: Run, *, every: int = 200) -> None:
        self.path = path
        self._run = run
        self._every = every
        self._writes = 0
        self._space_checked = 0.0
        self._checkpointing: asyncio.Task[None] | None = None
        self._recovering: asyncio.Task[None] | None = None
        self.low_space = False
        self.full = False

    def wrote(self, commands: int = 1) -> None:
        """After each write transaction: a checkpoint every `every` commands, or after every write when space is
        low."""
        self._writes += commands
        now = time.monotonic()
        if now - self._space_checked >= 1.0:
            self._space_checked = now
            self.low_space = faults.free_bytes(self.path) < LOW_SPACE
        if self._writes >= self._every or self.low_space:
            self.checkpoint_soon()

    def checkpoint_soon(self) -> None:
        """Start a background checkpoint unless one is running."""
        if self._checkpointing is None:
            self._writes = 0
            mode = "TRUNCATE" if self.low_space else "PASSIVE"
            self._checkpointing = asyncio.get_running_loop().create_task(self._checkpoint(mode))

    async def keep_small(self) -> None:
        """Wait for the running checkpoint, then start the next one (a reproject calls this between its
        batches, so the WAL never grows to the writer's backstop, whose checkpoint would run inside some
        command's commit)."""
        if self._checkpointing is not None:
            await asyncio.shield(self._checkpointing)
        self.checkpoint_soon()

    async def _checkpoint(self, mode: str) -> None:
        try:
            await self.fold(mode)
        except Exception as exc:  # the writer's backstop checkpoint still bounds the WAL
            (log.info if self.full or self.low_space else log.warning)("background_checkpoint_failed", error=str(exc))
        finally:
            self._checkpointing = None

    async def fold(self, mode: str = "TRUNCATE") -> bool:
        """Checkpoint the WAL into the database file; True when every frame was copied."""
        row = await self._run(lambda c: c.execute(f"PRAGMA wal_checkpoint({mode})").fetchone())
        return row is not None and row[0] == 0 and row[1] == row[2]

    def on_full(self) -> None:
        """The disk is full: note it once, and fold the WAL back as soon as space allows."""
        self.low_space = True
        if self.full:
            return
        self.full = True
        log.info("disk_full", path=str(self.path), free_bytes=faults.free_bytes(self.path))
        if self._recovering is None:
            self._recovering = asyncio.get_running_loop().create_task(self._recover(), name="chronicle-disk-full")

    async def _recover(self) -> None:
        """Until space is back: try to fold the WAL every half second; then clear the full state."""
        try:
            while self.full:
                await asyncio.sleep(0.5)
                try:
                    folded = await self.fold("TRUNCATE")
                except Exception:  # noqa: BLE001 — still full; try again shortly
                    continue
                if folded and faults.free_bytes(self.path) >= ROOM:
                    self.full = False
                    log.info("disk_space_back", path=str(self.path), free_bytes=faults.free_bytes(self.path))
        finally:
            self._recovering = None

    def room(self) -> None:
        """Raise StorageError (disk full) when there is not ROOM left for a reply."""
        if faults.free_bytes(self.path) < ROOM:
            self.on_full()
            raise faults.disk_full(self.path)

    async def stop(self) -> None:
        """Stop watching and let a running checkpoint finish."""
        if self._recovering is not None:
            self._recovering.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._recovering
        if self._checkpointing is not None:
            await asyncio.shield(self._checkpointing)
