"""The chat serialiser: arrival order within a channel, no waiting across channels, every job answered."""

from __future__ import annotations

import asyncio

import pytest

from engine.serial import ChatSerializer


async def test_one_channel_runs_in_arrival_order() -> None:
    """Jobs of one channel never overlap and finish in the order they were submitted."""
    serial, seen, running = ChatSerializer(), [], []

    def job(n: int, delay: float):
        async def run() -> int:
            running.append(n)
            assert len(running) == 1
            await asyncio.sleep(delay)
            running.remove(n)
            seen.append(n)
            return n
        return run

    futures = [serial.submit("c1", job(n, 0.03 if n == 0 else 0)) for n in range(5)]
    assert await asyncio.gather(*futures) == [0, 1, 2, 3, 4] and seen == [0, 1, 2, 3, 4]
    assert not serial.busy


async def test_channels_do_not_wait_on_each_other() -> None:
    """A slow job in one channel does not hold up another channel."""
    serial, order = ChatSerializer(), []
    gate = asyncio.Event()

    async def slow() -> None:
        await gate.wait()
        order.append("slow")

    async def fast() -> None:
        order.append("fast")

    slow_done = serial.submit("c1", slow)
    await serial.submit("c2", fast)
    gate.set()
    await slow_done
    assert order == ["fast", "slow"]


async def test_a_failing_job_does_not_stop_the_queue() -> None:
    """An exception reaches that job's awaiter; later jobs still run."""
    serial = ChatSerializer()

    async def boom() -> None:
        raise RuntimeError("boom")

    async def fine() -> str:
        return "ok"

    failed, later = serial.submit("c1", boom), serial.submit("c1", fine)
    with pytest.raises(RuntimeError):
        await failed
    assert await later == "ok"


async def test_a_job_raising_a_base_exception_still_answers_every_waiter() -> None:
    """The old queue left futures unset when a job raised a BaseException; nobody may hang."""
    serial = ChatSerializer()

    class Abandon(BaseException):
        """A BaseException that is neither Exception nor a process-ending interrupt."""

    async def interrupted() -> None:
        raise Abandon

    async def cancelled_inside() -> None:
        raise asyncio.CancelledError

    async def fine() -> str:
        return "ok"

    first = serial.submit("c1", cancelled_inside)
    second = serial.submit("c1", fine)
    third = serial.submit("c1", interrupted)
    fourth = serial.submit("c1", fine)
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await second == "ok"
    with pytest.raises(Abandon):
        await third
    assert await asyncio.wait_for(fourth, 2) == "ok"
    assert not serial.busy


async def test_closing_cancels_queued_and_running_jobs() -> None:
    serial = ChatSerializer()
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.sleep(3600)

    running, queued = serial.submit("c1", forever), serial.submit("c1", forever)
    await started.wait()
    await serial.close()
    assert running.cancelled() and queued.cancelled()


async def test_generations_are_counted_per_channel_until_done() -> None:
    serial, gate = ChatSerializer(), asyncio.Event()

    async def wait() -> None:
        await gate.wait()

    jobs = [serial.submit("c1", wait, generates=True) for _ in range(3)]
    plain = serial.submit("c1", wait)
    assert serial.generations("c1") == 3 and serial.generations("c2") == 0
    gate.set()
    await asyncio.gather(*jobs, plain)
    assert serial.generations("c1") == 0
