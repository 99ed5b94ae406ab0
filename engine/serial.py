"""One serialiser per chat: every story command and generation of a channel runs in arrival order.

A job is submitted synchronously (so the order of calls is the order of work), runs when the
channel's earlier jobs are done, and answers its future whatever happens to it: a result, an
error, or cancellation. Channels never wait on each other.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog

log = structlog.get_logger(__name__)
T = TypeVar("T")


@dataclass(slots=True)
class _Job:
    run: Callable[[], Awaitable[Any]]
    future: asyncio.Future[Any]
    generates: bool


class ChatSerializer:
    """A FIFO of jobs per key (a channel), drained by one task per busy key."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[_Job]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._generations: dict[str, int] = {}

    def submit(self, key: str, run: Callable[[], Awaitable[T]], *, generates: bool = False) -> asyncio.Future[T]:
        """Queue a job for `key`; the returned future gets its result, its error, or is cancelled."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queues.setdefault(key, deque()).append(_Job(run, future, generates))
        if generates:
            self._generations[key] = self._generations.get(key, 0) + 1
        if key not in self._workers:
            self._workers[key] = asyncio.get_running_loop().create_task(self._drain(key), name=f"chat-{key}")
        return future

    def generations(self, key: str) -> int:
        """How many generating jobs of `key` are queued or running."""
        return self._generations.get(key, 0)

    def jobs(self, key: str) -> int:
        """How many jobs of `key` are queued or running."""
        return len(self._queues.get(key, ()))

    async def _drain(self, key: str) -> None:
        """Run a key's jobs in order until none are left; every job's future is answered."""
        queue = self._queues[key]
        try:
            while queue:
                job = queue[0]
                try:
                    await self._run(job)
                finally:
                    queue.popleft()
                    self._done(key, job)
        finally:
            self._workers.pop(key, None)
            for job in queue:  # the worker itself was cancelled (shutdown): nobody is left waiting forever
                job.future.cancel()
                self._done(key, job)
            queue.clear()
            self._queues.pop(key, None)

    async def _run(self, job: _Job) -> None:
        """Run one job, moving its outcome into its future."""
        if job.future.done():
            return
        try:
            result = await job.run()
        except asyncio.CancelledError:
            job.future.cancel()
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # shutdown: stop the worker too
        except BaseException as exc:  # noqa: BLE001 — handed to whoever awaits the job
            if not job.future.done():
                job.future.set_exception(exc)
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
        else:
            if not job.future.done():
                job.future.set_result(result)

    def _done(self, key: str, job: _Job) -> None:
        if job.generates:
            left = self._generations.get(key, 1) - 1
            if left:
                self._generations[key] = left
            else:
                self._generations.pop(key, None)

    @property
    def busy(self) -> bool:
        """Whether any channel has work queued or running."""
        return bool(self._workers)

    async def join(self, timeout: float = 30.0) -> None:
        """Wait until every channel's jobs are done (for shutdown and tests)."""
        async with asyncio.timeout(timeout):
            while self._workers:
                await asyncio.gather(*list(self._workers.values()), return_exceptions=True)

    async def close(self) -> None:
        """Cancel every worker; queued jobs' futures are cancelled."""
        workers = list(self._workers.values())
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)


def log_failure(future: asyncio.Future[Any]) -> None:
    """Log the error of a job nobody awaits."""
    if not future.cancelled() and future.exception() is not None:
        exc = future.exception()
        log.error("chat_job_failed", error=repr(exc), exc_info=exc)
