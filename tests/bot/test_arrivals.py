"""The bot's arrival order: immediate hand-over, and held channels that release in order."""

from __future__ import annotations

import asyncio

from bot.discord.queues import ArrivalOrder


async def test_work_is_handed_over_at_once_in_call_order() -> None:
    arrivals, handed = ArrivalOrder(), []
    for n in range(3):
        arrivals.admit(1, lambda n=n: handed.append(n))
    assert handed == [0, 1, 2]


async def test_a_held_channel_waits_and_then_follows_the_backfill() -> None:
    arrivals, handed = ArrivalOrder(), []
    arrivals.hold(1)
    arrivals.admit(1, lambda: handed.append("live-1"))
    arrivals.admit(2, lambda: handed.append("other channel"))
    arrivals.admit(1, lambda: handed.append("live-2"))
    arrivals.begin(lambda: handed.append("backfill-1"))
    arrivals.begin(lambda: handed.append("backfill-2"))
    assert handed == ["other channel", "backfill-1", "backfill-2"]
    arrivals.release(1)
    assert handed == ["other channel", "backfill-1", "backfill-2", "live-1", "live-2"]


async def test_what_is_left_to_await_is_tracked_until_done() -> None:
    arrivals, gate = ArrivalOrder(), asyncio.Event()

    async def rest() -> None:
        await gate.wait()

    arrivals.admit(1, rest)
    assert arrivals.busy
    gate.set()
    await arrivals.join()
    assert not arrivals.busy
