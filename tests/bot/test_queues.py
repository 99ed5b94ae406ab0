"""Per-channel queues: arrival order within a channel, no waiting across channels."""

from __future__ import annotations

import asyncio

import pytest

from bot.queues import ChannelQueues


async def test_one_channel_runs_in_arrival_order() -> None:
    """Jobs of one channel never overlap and finish in the order they arrived."""
    queues, seen, running = ChannelQueues(), [], []

    def job(n: int, delay: float):
        async def run() -> int:
            running.append(n)
            assert len(running) == 1
            await asyncio.sleep(delay)
            running.remove(n)
            seen.append(n)
            return n
        return run

    futures = [queues.submit(1, job(n, 0.03 if n == 0 else 0)) for n in range(5)]
    assert await asyncio.gather(*futures) == [0, 1, 2, 3, 4] and seen == [0, 1, 2, 3, 4]
    assert not queues.busy


async def test_channels_do_not_wait_on_each_other() -> None:
    """A slow job in one channel does not hold up another channel."""
    queues, order = ChannelQueues(), []
    gate = asyncio.Event()

    async def slow() -> None:
        await gate.wait()
        order.append("slow")

    async def fast() -> None:
        order.append("fast")

    slow_done = queues.submit(1, slow)
    await queues.run(2, fast)
    gate.set()
    await slow_done
    assert order == ["fast", "slow"]


async def test_a_failing_job_does_not_stop_the_queue() -> None:
    """An exception reaches that job's awaiter; later jobs still run."""
    queues = ChannelQueues()

    async def boom() -> None:
        raise RuntimeError("boom")

    async def fine() -> str:
        return "ok"

    failed, later = queues.submit(1, boom), queues.submit(1, fine)
    with pytest.raises(RuntimeError):
        await failed
    assert await later == "ok"
