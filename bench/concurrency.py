"""Section 8: 100 chats × 20 messages submitted at once: total time, per-chat order kept, nothing lost."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

from bench.commands import ADMIN, PERSON
from bench.common import Figure, Settings, Table, Target, copy_db
from engine import Engine
from engine.commands import SayLine, StartChat


async def _once(path: Path, chats: int, messages: int) -> tuple[float, bool, int]:
    engine = await Engine.open(path)
    try:
        run = uuid.uuid4().hex[:8]
        channels = [f"bench-{run}-{c}" for c in range(chats)]
        await asyncio.gather(*(engine.perform(StartChat(actor=ADMIN, channel_id=ch, character="Aria",
                                                        guest="Bram")) for ch in channels))

        async def chat(channel: str) -> None:
            for i in range(messages):
                await engine.perform(SayLine(actor=PERSON, channel_id=channel, message_id=f"{channel}-m{i}",
                                             text=f"line {i}"))

        started = time.perf_counter()
        await asyncio.gather(*(chat(ch) for ch in channels))
        elapsed = time.perf_counter() - started
        ordered, stored = True, 0
        for channel in channels:
            found = await engine.reads.get_chat(channel)
            lines = await engine.reads.transcript(found.chat_id, limit=messages + 10)
            texts = [m.text for m in lines if m.role == "person"]
            stored += len(texts)
            ordered &= texts == [f"line {i}" for i in range(messages)]
        return elapsed, ordered, stored
    finally:
        await engine.close()


def run(datasets: dict[str, Path], settings: Settings, counts: dict[str, int]) -> tuple[list[Table], list[Target]]:
    """Measure and tabulate section 8."""
    chats, messages = settings.concurrency_chats, settings.concurrency_messages
    total, rate = Figure(), Figure()
    all_ordered, lost = True, 0
    for _ in range(settings.runs):
        path = copy_db(datasets["1k"], settings.workdir / "s8.db")
        elapsed, ordered, stored = asyncio.run(_once(path, chats, messages))
        total.add(elapsed)
        rate.add(chats * messages / elapsed)
        all_ordered &= ordered
        lost += chats * messages - stored
    table = Table(f"8. Concurrency: {chats} chats × {messages} messages submitted at once",
                  ["total time", "commands/s", "per-chat order kept", "messages lost"])
    table.rows.append([total.fmt(" s", 2), rate.fmt("/s"), "yes, every run" if all_ordered else "NO", str(lost)])
    table.notes.append(f"{settings.runs} runs on a copy of the ~1k-event database; each chat's messages are awaited "
                       "in order, the chats run concurrently (asyncio.gather); afterwards every transcript is read "
                       "back and compared with what was sent.")
    return [table], [Target("concurrency: per-chat order kept, nothing lost",
                           f"order kept: {all_ordered}, lost: {lost}",
                            all_ordered and lost == 0)]
