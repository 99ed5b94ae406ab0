"""Discord's arrival order, kept per channel.

The engine serialises every story command of a channel in the order its methods are called, so the
bot only has to call it in the order Discord delivered things. Work for a channel is handed to the
engine at once, unless the channel is held: while a backfill reads a channel's history, live
messages wait until the backfill has handed over the older ones, then follow in their order. The
backfill's look at a channel is itself queued in the engine behind the channel's story work, so the
replies being written there are recorded (or withdrawn) before it reads the history.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

log = structlog.get_logger(__name__)
Start = Callable[[], Awaitable[Any] | None]  # hands work to the engine now; returns what is left to await


class ArrivalOrder:
    """Per-channel arrival order: immediate hand-over, or a wait while the channel is held."""

    def __init__(self) -> None:
        self._held: dict[int, deque[Start]] = {}
        self._released: dict[int, asyncio.Event] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    def admit(self, channel_id: int, start: Start) -> None:
        """Hand `start` over now (or, while the channel is held, once it is released)."""
        held = self._held.get(channel_id)
        if held is not None:
            held.append(start)
            return
        self.begin(start)

    def begin(self, start: Start) -> None:
        """Run the synchronous hand-over now; what is left to await runs as a tracked task."""
        rest = start()
        if rest is not None:
            task = asyncio.ensure_future(rest)
            self._tasks.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            log.error("channel_work_failed", error=repr(exc), exc_info=exc)

    def hold(self, channel_id: int) -> None:
        """Keep a channel's live work waiting (a backfill is about to read its history)."""
        self._held.setdefault(channel_id, deque())

    def release(self, channel_id: int) -> None:
        """Hand the channel's waiting work over, in arrival order."""
        for start in self._held.pop(channel_id, deque()):
            self.begin(start)
        released = self._released.pop(channel_id, None)
        if released is not None:
            released.set()

    async def handed_over(self, channel_id: int) -> None:
        """Wait until the channel is not held (a backfill has handed its older messages over)."""
        if channel_id in self._held:
            await self._released.setdefault(channel_id, asyncio.Event()).wait()

    @property
    def busy(self) -> bool:
        """Whether any handed-over work is still running."""
        return bool(self._tasks)

    async def join(self, timeout: float = 30.0) -> None:
        """Wait until every handed-over piece of work is done (for shutdown and tests)."""
        async with asyncio.timeout(timeout):
            while self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        """Cancel the work still running."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
