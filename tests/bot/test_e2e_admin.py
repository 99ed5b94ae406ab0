"""End to end: admin rewind/reproject/check/log, restart with backfill, edits and deletes, bad options."""

from __future__ import annotations

import pytest

from bot.discord.checks import NOT_ADMIN
from tests.bot.conftest import Chronicle, start_chronicle
from tests.conftest import count_events, dump_world
from tests.fakes.discord import CommandNotVisible


async def _talk(chronicle: Chronicle, *lines: str) -> None:
    """The admin says each line and waits for Aria's reply."""
    for line in lines:
        chronicle.llm.enqueue_text(f"Aria answers {line}.")
        await chronicle.say(chronicle.fd.world.admin, line)


async def test_non_admin_rewind_is_hidden_and_refused(chronicle: Chronicle) -> None:
    """Members don't see /admin; if they call it anyway the run-time check refuses and nothing is appended."""
    w = chronicle.fd.world
    await chronicle.start_story()
    await _talk(chronicle, "one")
    with pytest.raises(CommandNotVisible):
        await chronicle.fd.invoke_command(w.channel, w.member, "admin rewind", {"messages": 1})
    events = count_events(chronicle.db_path)
    record = await chronicle.command(w.member, "admin rewind", {"messages": 1}, bypass=True)
    assert record.ephemeral and record.content == NOT_ADMIN
    assert count_events(chronicle.db_path) == events
    assert len(chronicle.hook_messages()) == 1


async def test_admin_rewind_deletes_replies_and_posts_notice(chronicle: Chronicle) -> None:
    """An admin's rewind deletes the character messages after the point and names who rewound and to where."""
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.start_story()
    await _talk(chronicle, "one", "two", "three")
    kept = chronicle.hook_messages()[0]
    record = await chronicle.command(w.admin, "admin rewind", {"messages": 4})
    assert [m.content for m in chronicle.hook_messages()] == [kept.content]
    notice = record.followups[-1]
    assert not notice.ephemeral and "**Ada** rewound the story to" in notice.content
    assert str(kept.id) in notice.content and "no longer part of the story" in notice.content
    chat = await chronicle.engine.reads.get_chat(str(w.channel.id))
    assert [m.text for m in await chronicle.engine.reads.transcript(chat.chat_id)] == ["one", "Aria answers one."]
    assert len([m for m in fd.messages_in(w.channel) if m.content in ("two", "three")]) == 2  # people's stay


async def test_admin_rewind_to_a_message_link(chronicle: Chronicle) -> None:
    """`to` takes a message link; the story keeps everything up to that message."""
    w = chronicle.fd.world
    await chronicle.start_story()
    await _talk(chronicle, "one", "two")
    first_reply = chronicle.hook_messages()[0]
    link = f"https://discord.com/channels/{w.guild.id}/{w.channel.id}/{first_reply.id}"
    await chronicle.command(w.admin, "admin rewind", {"to": link})
    chat = await chronicle.engine.reads.get_chat(str(w.channel.id))
    assert [m.text for m in await chronicle.engine.reads.transcript(chat.chat_id)] == ["one", "Aria answers one."]
    assert [m.id for m in chronicle.hook_messages()] == [first_reply.id]


async def test_reproject_check_and_log_leave_state_equal(chronicle: Chronicle) -> None:
    """/admin reproject rebuilds the world with identical rows; /admin check is clean; /admin log lists events."""
    w = chronicle.fd.world
    await chronicle.start_story()
    await _talk(chronicle, "one")
    before = dump_world(chronicle.db_path)
    record = await chronicle.command(w.admin, "admin reproject")
    assert record.ephemeral and "Rebuilt the world" in record.content
    assert dump_world(chronicle.db_path) == before
    check = await chronicle.command(w.admin, "admin check")
    assert "Clean" in check.content
    log = await chronicle.command(w.admin, "admin log", {"limit": 5})
    assert log.ephemeral and "bot_replied" in log.content


async def test_restart_keeps_everything_and_backfills(chronicle: Chronicle) -> None:
    """After a restart the world is unchanged, missed messages are recorded once, and the newest gets a reply."""
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.start_story()
    await _talk(chronicle, "one")
    await chronicle.bot.close()
    before = dump_world(chronicle.db_path)
    missed = [fd.post_message_while_offline(w.channel, w.member, text) for text in ("while", "you were away")]
    chronicle.llm.enqueue_text("Welcome back.")
    async with start_chronicle(fd, chronicle.llm, chronicle.db_path) as again:
        await fd.wait_for(lambda: len(again.hook_messages()) >= 2, timeout=10)
        await again.settle()
        chat = await again.engine.reads.get_chat(str(w.channel.id))
        lines = await again.engine.reads.transcript(chat.chat_id)
        assert [(m.role, m.text) for m in lines] == [
            ("person", "one"), ("character", "Aria answers one."), ("person", "while"),
            ("person", "you were away"), ("character", "Welcome back.")]
        assert [m.message_id for m in lines[2:4]] == [str(m.id) for m in missed]
        rebuilt = dump_world(again.db_path)
    assert all(set(rows) <= set(rebuilt[table]) for table, rows in before.items() if table != "chats")


async def test_edits_and_deletes_reach_the_log(chronicle: Chronicle) -> None:
    """A person's edit → message_edited, their delete → message_retracted; a moderator deleting a reply retracts it."""
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.start_story()
    chronicle.llm.enqueue_text("Aria answers.")
    said = await chronicle.say(w.admin, "Helo")
    await fd.user_edits(said, "Hello")
    await fd.wait_for(lambda: True)
    await chronicle.settle()
    chat = await chronicle.engine.reads.get_chat(str(w.channel.id))
    assert (await chronicle.engine.reads.find_message(chat.chat_id, str(said.id))).text == "Hello"
    await fd.user_deletes(chronicle.hook_messages()[-1])
    await chronicle.settle()
    await fd.user_deletes(said)
    await chronicle.settle()
    kinds = [e.kind for e in await chronicle.engine.reads.recent_events(chat_id=chat.chat_id, limit=4)]
    assert kinds[-3:] == ["message_edited", "message_retracted", "message_retracted"]
    assert await chronicle.engine.reads.transcript(chat.chat_id) == []


@pytest.mark.parametrize(("path", "options", "needle"), [
    ("character create", {"name": "   ", "description": "x"}, "name: must not be empty"),
    ("character create", {"name": "A" * 65, "description": "x"}, "at most 64 characters"),
    ("chat start", {"character": "Nobody"}, "Nobody"),
    ("time skip", {"by": "-3h"}, "positive duration"),
])
async def test_bad_options_get_ephemeral_errors_and_append_nothing(
        chronicle: Chronicle, path: str, options: dict[str, str], needle: str) -> None:
    """Empty, too long, unknown names and negative skips are refused privately; the log is unchanged."""
    w = chronicle.fd.world
    if path == "time skip":
        await chronicle.start_story()
    events = count_events(chronicle.db_path)
    record = await chronicle.command(w.member, path, options)
    assert record.ephemeral and needle in record.texts[-1], record.texts
    assert count_events(chronicle.db_path) == events
