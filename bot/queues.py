"""Per-channel work queues: each channel's jobs run one at a time in arrival order; channels never wait
on each other."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog

log = structlog.get_logger(__name__)
T = TypeVar("T")
Job = Callable[[], Awaitable[Any]]


class ChannelQueues:
    """A FIFO of jobs per channel, drained by one task per busy channel (no task for idle ones)."""

    def __init__(self) -> None:
        self._pending: dict[int, deque[tuple[Job, asyncio.Future[Any]]]] = {}
        self._workers: dict[int, asyncio.Task[None]] = {}

    def submit(self, channel_id: int, job: Job) -> asyncio.Future[Any]:
        """Queue a job for a channel; the returned future gets its result or exception."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(channel_id, deque()).append((job, future))
        if channel_id not in self._workers:
            self._workers[channel_id] = asyncio.create_task(self._drain(channel_id), name=f"channel-{channel_id}")
        return future

    def post(self, channel_id: int, job: Job) -> None:
        """Queue a job whose failures are only logged (nobody awaits it)."""
        future = self.submit(channel_id, job)
        future.add_done_callback(_log_failure)

    async def run(self, channel_id: int, job: Callable[[], Awaitable[T]]) -> T:
        """Queue a job and wait for its result."""
        return await self.submit(channel_id, job)

    async def _drain(self, channel_id: int) -> None:
        """Run a channel's jobs in order until its queue is empty."""
        queue = self._pending[channel_id]
        try:
            while queue:
                job, future = queue.popleft()
                if future.cancelled():
                    continue
                try:
                    result = await job()
                except Exception as exc:  # handed to whoever awaits the future
                    if not future.done():
                        future.set_exception(exc)
                else:
                    if not future.done():
                        future.set_result(result)
        finally:
            self._workers.pop(channel_id, None)
            if not queue:
                self._pending.pop(channel_id, None)

    @property
    def busy(self) -> bool:
        """Whether any channel has work queued or running."""
        return bool(self._workers)

    async def join(self, timeout: float = 10.0) -> None:
        """Wait until every channel's queue is empty (for shutdown and tests)."""
        async with asyncio.timeout(timeout):
            while self._workers:
                await asyncio.gather(*list(self._workers.values()), return_exceptions=True)

    async def close(self) -> None:
        """Cancel every worker."""
        for task in list(self._workers.values()):
            task.cancel()
        await asyncio.gather(*list(self._workers.values()), return_exceptions=True)
        self._workers.clear()
        self._pending.clear()


def _log_failure(future: asyncio.Future[Any]) -> None:
    """Log the exception of a fire-and-forget job."""
    if not future.cancelled() and future.exception() is not None:
        exc = future.exception()
        log.error("channel_job_failed", error=repr(exc), exc_info=exc)
