"""`Engine.event_pages`: the log (or a chat's events) after a seq, or its newest events, a page at a time, on both
backends (what `chronicle events --after/--all` prints as it reads)."""

from __future__ import annotations

from engine import Actor, Engine
from engine.commands import SayLine
from tests.conftest import story


async def _pages(engine: Engine, **kwargs: object) -> list[list[int]]:
    return [[e.seq for e in page] async for page in engine.reads.event_pages(**kwargs)]  # type: ignore[arg-type]


async def test_pages_cover_the_log_in_order_without_loading_it_whole(engine: Engine, admin: Actor):
    chat = await story(engine, admin)
    other = await story(engine, admin, "chan-2", guest=False)
    for i in range(15):
        await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id=f"a{i}", text=f"line {i}"))
        await engine.perform(SayLine(actor=admin, channel_id="chan-2", message_id=f"b{i}", text=f"line {i}"))
    total = (await engine.reads.recent_events(limit=1))[0].seq
    pages = await _pages(engine, page=7)
    assert all(len(page) == 7 for page in pages[:-1]) and 1 <= len(pages[-1]) <= 7
    assert [seq for page in pages for seq in page] == list(range(1, total + 1))
    assert await _pages(engine, after=10, limit=5, page=2) == [[11, 12], [13, 14], [15]]
    assert await _pages(engine, after=total) == []
    assert [s for p in await _pages(engine, newest=5, limit=5) for s in p] == list(range(total - 4, total + 1))
    chat_two = [e.seq for e in await engine.reads.recent_events(chat_id=other, limit=1_000)]
    assert [s for p in await _pages(engine, chat_id=other, page=4) for s in p] == chat_two
    assert [s for p in await _pages(engine, chat_id=other, newest=3, limit=3) for s in p] == chat_two[-3:]
    assert [s for p in await _pages(engine, chat_id=chat, after=chat_two[-1]) for s in p] == []
