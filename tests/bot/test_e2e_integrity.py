"""End to end, story integrity (issue 8, defects 1-6): redelivery after a rewind, replies filed in the right
chat, command boundaries around the greeting, the greeting's Discord message, half-written replies, backfill.

Each test drives the real bot through the loopback Discord and checks what people see and what the log holds.
"""

from __future__ import annotations

import asyncio

from structlog.testing import capture_logs

from engine import Engine
from engine.commands import EndChat
from tests.bot.conftest import Chronicle, start_chronicle
from tests.bot.integrity import (
    actor,
    bot_notes,
    deleted_hook_messages,
    failures,
    kinds,
    lines,
    open_chat,
    payloads,
    queued,
)
from tests.fakes.discord.faults import CHANNEL_HISTORY, WEBHOOK_MESSAGE


async def _talk(chronicle: Chronicle, *said: str) -> None:
    """Bob says each line and Aria answers it."""
    for line in said:
        chronicle.llm.enqueue_text(f"Aria answers {line}.")
        await chronicle.say(chronicle.fd.world.member, line)


async def _greeting_story(chronicle: Chronicle) -> None:
    """Dalia (with a greeting) hosts a story that starts at a place, so the start has a place and a scene."""
    w = chronicle.fd.world
    await chronicle.command(w.admin, "character create", {"name": "Dalia", "description": "An innkeeper.",
                                                          "greeting": "Welcome in, {{user}}!"})
    await chronicle.command(w.admin, "persona set", {"name": "Wren"})
    await chronicle.command(w.admin, "chat start", {"character": "Dalia", "place": "Tavern"})
    await chronicle.fd.wait_for(lambda: chronicle.hook_messages())
    await chronicle.settle()


# --- 1. a message delivered again after a rewind ------------------------------------------------------------

async def test_1_redelivery_after_rewind_records_nothing_and_the_newest_line_is_answered(
        chronicle: Chronicle) -> None:
    """A gateway resend and a restart's backfill both re-feed a rewound line: no crash, no event, no reply;
    the line posted while the bot was down is answered."""
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.start_story()
    await _talk(chronicle, "one", "two")
    two = next(m for m in fd.messages_in(w.channel) if m.content == "two")
    await chronicle.command(w.admin, "admin rewind", {"messages": 2})
    chat = await open_chat(chronicle)
    assert await lines(chronicle, chat.chat_id) == [("person", "one"), ("character", "Aria answers one.")]
    with capture_logs() as logs:
        await fd.redeliver_message(two)
        await chronicle.settle()
        await chronicle.bot.close()
        three = fd.post_message_while_offline(w.channel, w.member, "three")
        chronicle.llm.enqueue_text("Aria answers three.")
        async with start_chronicle(fd, chronicle.llm, chronicle.db_path) as again:
            await fd.wait_for(lambda: any(m.content == "Aria answers three." for m in again.hook_messages()), 10)
            await again.settle()
            assert await lines(again, chat.chat_id) == [
                ("person", "one"), ("character", "Aria answers one."), ("person", "three"),
                ("character", "Aria answers three.")]
            said = [p["message_id"] for p in await payloads(again, chat.chat_id, "user_said")]
            assert said.count(str(two.id)) == 1 and said.count(str(three.id)) == 1
            assert [m.content for m in again.hook_messages()] == ["Aria answers one.", "Aria answers three."]
            assert (await again.engine.maintenance.check()).clean
    assert failures(logs) == [] and bot_notes(chronicle) == []


# --- 2. a reply can't be recorded in the wrong chat ---------------------------------------------------------

async def test_2_end_and_start_during_a_reply_wait_and_the_reply_stays_in_the_old_story(
        chronicle: Chronicle) -> None:
    """/chat end and /chat start issued while a reply streams queue behind it: the reply is the old story's,
    and the new story starts with nothing in it."""
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.start_story()
    old = await open_chat(chronicle)
    gate = asyncio.Event()
    chronicle.llm.enqueue_gated("The fire crackles as I speak.", gate)
    said = await fd.user_says(w.channel, w.member, "Tell me a story.")
    await fd.wait_for(lambda: chronicle.hook_messages())
    end = await fd.invoke_command(w.channel, w.admin, "chat end")
    await queued(chronicle, 2)
    start = await fd.invoke_command(w.channel, w.admin, "chat start", {"character": "Aria"})
    await queued(chronicle, 3)
    gate.set()
    await end.wait_done(10)
    await start.wait_done(10)
    await chronicle.settle()
    assert any("has ended" in t for t in end.texts) and any("story begins" in t for t in start.texts)
    assert await lines(chronicle, old.chat_id) == [("person", "Tell me a story."),
                                                   ("character", "The fire crackles as I speak.")]
    new = await open_chat(chronicle)
    assert new.chat_id != old.chat_id and await lines(chronicle, new.chat_id) == []
    assert await kinds(chronicle, new.chat_id) == ["chat_created"]
    reply = (await chronicle.engine.reads.transcript(old.chat_id))[-1]
    assert reply.discord_ids == tuple(str(m.id) for m in chronicle.hook_messages())
    assert (await chronicle.engine.reads.find_message(old.chat_id, str(said.id))) is not None


async def test_2_a_story_ended_by_another_process_mid_reply_gets_no_reply(chronicle: Chronicle) -> None:
    """Another process ends the story while a reply streams: nothing is recorded, the posted message is
    removed, and nobody is told publicly that there is no story."""
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.start_story()
    chat = await open_chat(chronicle)
    gate = asyncio.Event()
    chronicle.llm.enqueue_gated("I was about to say something.", gate)
    await fd.user_says(w.channel, w.member, "Speak!")
    await fd.wait_for(lambda: chronicle.hook_messages())
    other = await Engine.open(chronicle.db_path)
    try:
        await other.perform(EndChat(actor=actor(w.admin, admin=True), channel_id=str(w.channel.id)))
    finally:
        await other.close()
    gate.set()
    await chronicle.settle()
    assert chronicle.hook_messages() == [], "the reply's message stayed although the story had ended"
    assert await chronicle.engine.reads.find_chat(str(w.channel.id)) is None
    assert await lines(chronicle, chat.chat_id) == [("person", "Speak!")]
    assert "bot_replied" not in await kinds(chronicle, chat.chat_id)
    assert len(deleted_hook_messages(chronicle)) == 1
    public = [m.content for m in fd.messages_in(w.channel) if m.author.get("id") == str(fd.bot_user.id)]
    assert not any("no story" in text.lower() for text in public), public


# --- 3. a rewind never splits a command, and never undoes the story's start ---------------------------------

async def test_3_rewinding_the_greeting_keeps_the_place_and_scene_and_the_start_cannot_be_undone(
        chronicle: Chronicle) -> None:
    """/admin rewind messages:1 right after a start with a greeting undoes only the greeting; messages:2 is
    refused plainly and changes nothing."""
    w = chronicle.fd.world
    await _greeting_story(chronicle)
    chat = await open_chat(chronicle)
    events_before = await kinds(chronicle, chat.chat_id)
    refused = await chronicle.command(w.admin, "admin rewind", {"messages": 2})
    assert refused.ephemeral and "only 1 message" in refused.texts[-1], refused.texts
    assert await kinds(chronicle, chat.chat_id) == events_before
    rewound = await chronicle.command(w.admin, "admin rewind", {"messages": 1})
    assert "rewound the story to the start of the story" in rewound.followups[-1].content
    assert (await chronicle.engine.reads.recent_events(chat_id=chat.chat_id, limit=1))[-1].payload["to_seq"] >= max(
        e.seq for e in await chronicle.engine.reads.recent_events(chat_id=chat.chat_id, limit=50)
        if e.kind in ("chat_created", "container_created", "scene_opened"))
    after = await open_chat(chronicle)
    assert after.chat_id == chat.chat_id and after.place_id is not None and after.active_scene_id is not None
    assert await lines(chronicle, chat.chat_id) == []
    status = await chronicle.command(w.admin, "chat status")
    fields = {f["name"]: f["value"] for f in status.embeds[0]["fields"]}
    assert fields["Place"] == "Tavern" and fields["Scene"] == "a scene is open"
    again = await chronicle.command(w.admin, "admin rewind", {"messages": 1})
    assert again.ephemeral and "only 0 message" in again.texts[-1]
    assert (await chronicle.engine.maintenance.check()).clean


async def test_3_rewinding_the_newest_lines_does_not_bring_back_a_deleted_one(chronicle: Chronicle) -> None:
    """A line deleted from the channel stays out of the story when an admin later rewinds the newest lines:
    the rewind undoes those lines, not the deletion of an older one."""
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.start_story()
    await _talk(chronicle, "one", "two", "three")
    one = next(m for m in fd.messages_in(w.channel) if m.content == "one")
    await fd.user_deletes(one)
    await chronicle.settle()
    chat = await open_chat(chronicle)
    assert ("person", "one") not in await lines(chronicle, chat.chat_id)
    await chronicle.command(w.admin, "admin rewind", {"messages": 2})
    assert await lines(chronicle, chat.chat_id) == [
        ("character", "Aria answers one."), ("person", "two"), ("character", "Aria answers two.")]


# --- 4. the greeting is linked to its Discord message -------------------------------------------------------

async def test_4_deleting_the_greeting_message_retracts_it(chronicle: Chronicle) -> None:
    """A moderator deletes the greeting's message: it leaves the story."""
    fd = chronicle.fd
    await _greeting_story(chronicle)
    chat = await open_chat(chronicle)
    [greeting] = chronicle.hook_messages()
    [line] = await chronicle.engine.reads.transcript(chat.chat_id)
    assert line.discord_ids == (str(greeting.id),)
    await fd.user_deletes(greeting)
    await chronicle.settle()
    assert await lines(chronicle, chat.chat_id) == []
    assert [p["message_id"] for p in await payloads(chronicle, chat.chat_id, "message_retracted")] == [
        line.message_id]


async def test_4_rewind_deletes_the_greeting_message(chronicle: Chronicle) -> None:
    """/admin rewind over the greeting deletes its Discord message."""
    w = chronicle.fd.world
    await _greeting_story(chronicle)
    [greeting] = chronicle.hook_messages()
    await chronicle.command(w.admin, "admin rewind", {"messages": 1})
    assert greeting.deleted and chronicle.hook_messages() == []


async def test_4_regenerating_the_greeting_edits_it_in_place(chronicle: Chronicle) -> None:
    """/reply regenerate on the greeting rewrites the same Discord message; no second greeting appears."""
    fd, w = chronicle.fd, chronicle.fd.world
    await _greeting_story(chronicle)
    chat = await open_chat(chronicle)
    [greeting] = chronicle.hook_messages()
    chronicle.llm.enqueue_text("Come in from the rain, traveller.")
    record = await chronicle.command(w.member, "reply regenerate")
    assert record.ephemeral and "Rewrote" in record.texts[-1], record.texts
    assert [(m.id, m.content) for m in chronicle.hook_messages()] == [
        (greeting.id, "Come in from the rain, traveller.")]
    assert fd.edits_of(greeting)[-1]["content"] == "Come in from the rain, traveller."
    [regenerated] = await payloads(chronicle, chat.chat_id, "reply_regenerated")
    assert regenerated["discord_message_ids"] == [str(greeting.id)]
    assert await lines(chronicle, chat.chat_id) == [("character", "Come in from the rain, traveller.")]


# --- 5. a half-written reply never stays ----------------------------------------------------------------------

async def _unanswered_then_answered(chronicle: Chronicle, said: str, note: str = "error id") -> None:
    """The person's line is in the story unanswered, with no character message left (and `note` said); the
    next line is answered."""
    chat = await open_chat(chronicle)
    assert chronicle.hook_messages() == [] and deleted_hook_messages(chronicle)
    assert await lines(chronicle, chat.chat_id) == [("person", said)]
    assert note in bot_notes(chronicle)[-1].content
    chronicle.llm.enqueue_text("Now I can answer.")
    await chronicle.say(chronicle.fd.world.member, "Hello again?")
    assert [m.content for m in chronicle.hook_messages()] == ["Now I can answer."]
    assert await lines(chronicle, chat.chat_id) == [("person", said), ("person", "Hello again?"),
                                                    ("character", "Now I can answer.")]


async def test_5_a_discord_error_while_streaming_removes_the_partial_reply(chronicle: Chronicle) -> None:
    """Discord refuses an edit of the streaming reply: the partial message goes, the line stays unanswered."""
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.start_story()
    fd.fail_route("PATCH", WEBHOOK_MESSAGE, status=400, code=50035, message="Invalid Form Body")
    gate = asyncio.Event()
    chronicle.llm.enqueue_gated("The road winds on, and the answer never ends.", gate)
    await fd.user_says(w.channel, w.member, "What happened?")
    await fd.wait_for(lambda: chronicle.hook_messages())
    gate.set()
    await chronicle.settle()
    await _unanswered_then_answered(chronicle, "What happened?")


async def test_5_a_model_stream_error_removes_the_partial_reply(chronicle: Chronicle) -> None:
    """The model's stream breaks with a malformed event: a model error like any other (issue 10), so the
    partial message goes and the person gets the narrator's friendly line."""
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.start_story()
    chronicle.llm.enqueue_malformed("Once upon a time there was a bard who", chunks=4, after=2)
    await fd.user_says(w.channel, w.member, "Tell me more.")
    await fd.wait_for(lambda: chronicle.llm.chat_requests)
    await chronicle.settle()
    await _unanswered_then_answered(chronicle, "Tell me more.", note="can't reach the language model")


async def test_5_shutting_down_mid_reply_removes_it_and_the_restart_answers(chronicle: Chronicle) -> None:
    """The bot stops while a reply streams: the partial message goes, and the restarted bot answers the line."""
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.start_story()
    chat = await open_chat(chronicle)
    gate = asyncio.Event()
    chronicle.llm.enqueue_gated("I was in the middle of a sentence when", gate)
    await fd.user_says(w.channel, w.member, "Go on.")
    [partial] = await fd.wait_for(lambda: chronicle.hook_messages())
    await chronicle.bot.close()
    gate.set()
    assert partial.deleted and chronicle.hook_messages() == []
    assert await lines(chronicle, chat.chat_id) == [("person", "Go on.")]
    chronicle.llm.enqueue_text("As I was saying: welcome.")
    async with start_chronicle(fd, chronicle.llm, chronicle.db_path) as again:
        await fd.wait_for(lambda: again.hook_messages(), 10)
        await again.settle()
        assert [m.content for m in again.hook_messages()] == ["As I was saying: welcome."]
        assert await lines(again, chat.chat_id) == [("person", "Go on."), ("character", "As I was saying: welcome.")]


# --- 6. backfill -------------------------------------------------------------------------------------------------

async def test_6_backfill_of_a_story_with_no_messages_yet(chronicle: Chronicle) -> None:
    """A story started (no greeting, nobody spoke), the bot went down, people talked: after the restart every
    missed line is recorded once, in order, and the newest is answered."""
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.start_story()
    chat = await open_chat(chronicle)
    await chronicle.bot.close()
    missed = [fd.post_message_while_offline(w.channel, member, text)
              for member, text in ((w.member, "Anyone here?"), (w.admin, "I am."), (w.member, "Good."))]
    chronicle.llm.enqueue_text("Welcome, both of you.")
    async with start_chronicle(fd, chronicle.llm, chronicle.db_path) as again:
        await fd.wait_for(lambda: again.hook_messages(), 10)
        await again.settle()
        assert await lines(again, chat.chat_id) == [
            ("person", "Anyone here?"), ("person", "I am."), ("person", "Good."),
            ("character", "Welcome, both of you.")]
        said = [p["message_id"] for p in await payloads(again, chat.chat_id, "user_said")]
        assert said == [str(m.id) for m in missed]


async def test_6_a_live_message_during_backfill_comes_after_the_missed_ones(chronicle: Chronicle) -> None:
    """A message that arrives while the restarted bot reads the channel's history is recorded after the
    messages it missed."""
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.start_story()
    await _talk(chronicle, "zero")
    chat = await open_chat(chronicle)
    await chronicle.bot.close()
    for text in ("first", "second"):
        fd.post_message_while_offline(w.channel, w.member, text)
    history = fd.hold_route("GET", CHANNEL_HISTORY)
    chronicle.llm.default_reply = lambda body: "Aria answers."
    async with start_chronicle(fd, chronicle.llm, chronicle.db_path, settle=False) as again:
        await history.wait_arrived()
        await fd.user_says(w.channel, w.admin, "live")
        await asyncio.sleep(0.1)  # let the live message reach the bot while the history is still held
        history.release()
        await fd.wait_for(lambda: len(again.hook_messages()) >= 2, 10)
        await again.settle()
        assert (await lines(again, chat.chat_id))[2:] == [
            ("person", "first"), ("person", "second"), ("person", "live"), ("character", "Aria answers.")]
        assert len(again.hook_messages()) == 2
