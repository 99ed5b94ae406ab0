"""Rewind: the chat behaves as if its later events never happened; the log keeps everything (on both backends)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from engine import Actor, Engine, InvalidInput, PermissionDenied, store
from engine.commands import AdjustRelationship, RecordReply, RewindChat, SayLine, SkipTime, WriteMemory
from tests.conftest import begin_write, count_events, dump_world, raw_connection, story


async def _talk(engine: Engine, actor: Actor, channel: str, lines: int, start: int = 0) -> None:
    chat = await engine.reads.get_chat(channel)
    for i in range(start, start + lines):
        await engine.perform(SayLine(actor=actor, channel_id=channel, message_id=f"{channel}-{i}", text=f"line {i}"))
        await engine.perform(RecordReply(actor=actor, channel_id=channel, character_id=chat.host_id, text=f"reply {i}"))


async def _fresh_from_chat_events(source: str, target: str, chat_id: str, up_to: int) -> dict:
    """A new database fed only this chat's events ≤ up_to (same seqs), rebuilt from empty."""
    fresh = await Engine.open(target)
    await fresh.close()
    src, dst = raw_connection(source), raw_connection(target)
    try:
        rows = [row for row in store.read_rows(src, 0, limit=1_000_000) if row[5] == chat_id and row[0] <= up_to]
        begin_write(dst)
        store.insert_rows(dst, rows)
        store.continue_seq(dst)
        dst.execute("COMMIT")
    finally:
        src.close()
        dst.close()
    fresh = await Engine.open(target)
    await fresh.maintenance.rebuild()
    await fresh.close()
    return dump_world(target, chat_id=chat_id, chat_only=True)


async def test_rewind_equals_a_fresh_database_fed_the_chat_up_to_that_point(engine: Engine, admin: Actor,
                                                                            location: str,
                                                                            new_location: Callable[[], str]):
    chat_a = await story(engine, admin, "chan-a")
    chat_b = await story(engine, admin, "chan-b")
    await _talk(engine, admin, "chan-a", 3)
    await engine.perform(WriteMemory(actor=admin, channel_id="chan-a", text="A secret about the well."))
    mark = (await engine.reads.recent_events(limit=1))[0].seq
    await _talk(engine, admin, "chan-b", 2)
    await _talk(engine, admin, "chan-a", 2, start=3)
    await engine.perform(SkipTime(actor=admin, channel_id="chan-a", by="5h"))
    await engine.perform(AdjustRelationship(actor=admin, channel_id="chan-a", character="Aria", target="Bram", affinity=30))
    other_chat = dump_world(location, chat_id=chat_b, chat_only=True)
    events_before = count_events(location)

    result = await engine.perform(RewindChat(actor=admin, channel_id="chan-a", seq=mark))

    assert result.to_seq == mark and result.events_undone == 6
    assert [m.text for m in result.removed_messages] == ["line 3", "reply 3", "line 4", "reply 4", "5 hours pass."]
    assert count_events(location) == events_before + 1
    expected = await _fresh_from_chat_events(location, new_location(), chat_a, mark)
    assert dump_world(location, chat_id=chat_a, chat_only=True) == expected
    assert dump_world(location, chat_id=chat_b, chat_only=True) == other_chat
    assert (await engine.maintenance.check()).clean


async def test_rewind_by_messages_and_a_second_rewind_inside_the_first(engine: Engine, admin: Actor, location):
    chat_id = await story(engine, admin)
    await _talk(engine, admin, "chan-1", 4)
    await engine.perform(RewindChat(actor=admin, channel_id="chan-1", messages=3))
    assert [m.text for m in await engine.reads.transcript(chat_id)] == ["line 0", "reply 0", "line 1", "reply 1", "line 2"]
    await _talk(engine, admin, "chan-1", 1, start=10)
    await engine.perform(RewindChat(actor=admin, channel_id="chan-1", messages=2))
    texts = [m.text for m in await engine.reads.transcript(chat_id)]
    assert texts == ["line 0", "reply 0", "line 1", "reply 1", "line 2"]
    assert len(await engine.reads.transcript(chat_id, include_retracted=True)) == 5
    await engine.maintenance.rebuild()
    assert [m.text for m in await engine.reads.transcript(chat_id)] == texts
    assert (await engine.maintenance.check()).clean


async def test_only_admins_rewind_and_bad_targets_are_refused(engine: Engine, admin: Actor, player: Actor, location):
    chat = await engine.reads.get_chat("chan-1") if await engine.reads.find_chat("chan-1") else None
    assert chat is None
    await story(engine, admin)
    await _talk(engine, admin, "chan-1", 1)
    events = count_events(location)
    with pytest.raises(PermissionDenied, match="admins"):
        await engine.perform(RewindChat(actor=player, channel_id="chan-1", messages=1))
    with pytest.raises(InvalidInput, match="only 2 message"):
        await engine.perform(RewindChat(actor=admin, channel_id="chan-1", messages=5))
    with pytest.raises(InvalidInput, match="story's own start"):
        await engine.perform(RewindChat(actor=admin, channel_id="chan-1", seq=1))
    with pytest.raises(InvalidInput, match="either"):
        await engine.perform(RewindChat(actor=admin, channel_id="chan-1"))
    assert count_events(location) == events


async def test_a_copy_of_the_log_rebuilds_to_the_same_world(engine: Engine, admin: Actor, location: str,
                                                             new_location: Callable[[], str]):
    await story(engine, admin)
    await _talk(engine, admin, "chan-1", 2)
    await engine.perform(RewindChat(actor=admin, channel_id="chan-1", messages=1))
    copy = new_location()
    other = await Engine.open(copy)
    try:
        assert await other.maintenance.copy_log_from(location) == count_events(location)
        assert (await other.maintenance.check()).clean
    finally:
        await other.close()
    assert dump_world(copy) == dump_world(location)
