"""End to end: the backfill that runs on every new gateway session (start-up, or a reconnect that could not
resume) records what the bot missed, and never touches a reply that is still being written."""

from __future__ import annotations

from tests.bot.conftest import Chronicle
from tests.bot.integrity import deleted_hook_messages, lines, open_chat, payloads
from tests.fakes.discord.faults import WEBHOOK_MESSAGE


async def _new_session(chronicle: Chronicle) -> int:
    """Make Discord forget the bot's session: it identifies afresh, gets READY and backfills again. Returns the
    number of backfills done before."""
    before, identified = chronicle.bot.backfills, chronicle.fd.gateway.identify_count
    await chronicle.fd.invalidate_session()
    await chronicle.fd.wait_for_identify(identified + 1)  # discord.py waits 5 s before identifying again
    return before


async def test_a_backfill_while_a_reply_streams_waits_for_it_and_withdraws_nothing(chronicle: Chronicle) -> None:
    """A reply is half posted (its first words are on Discord, the rest still on its way) when the bot gets a new
    session and backfills the channel: the reply is finished in place, posted once with its buttons, never
    deleted, and recorded with the message it was posted as."""
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.start_story()
    chat = await open_chat(chronicle)
    text = "Aria tunes her lute, then plays a slow song from the north."
    chronicle.llm.enqueue_text(text, chunks=3)
    edits = fd.hold_route("PATCH", WEBHOOK_MESSAGE)  # the reply's first words are shown; the rest waits
    await fd.user_says(w.channel, w.member, "Play something?")
    await edits.wait_arrived(10)
    shown = chronicle.hook_messages()[0]
    assert shown.content != text and await lines(chronicle, chat.chat_id) == [("person", "Play something?")]
    backfills = await _new_session(chronicle)
    # The backfill has reached the channel: either it waits behind the reply, or it withdrew the message.
    await fd.wait_for(lambda: chronicle.engine.serial.jobs(str(w.channel.id)) >= 2 or shown.deleted, 10)
    edits.release()
    await fd.wait_for(lambda: chronicle.bot.backfills > backfills, 10)
    await chronicle.settle()
    posted = chronicle.hook_messages()
    assert [(m.id, m.content) for m in posted] == [(shown.id, text)]
    assert deleted_hook_messages(chronicle) == []
    assert posted[0].components, "the finished reply has its buttons"
    assert await lines(chronicle, chat.chat_id) == [("person", "Play something?"), ("character", text)]
    replied = await payloads(chronicle, chat.chat_id, "bot_replied")
    assert [(r["text"], r["discord_message_ids"]) for r in replied] == [(text, [str(shown.id)])]


async def test_a_new_session_backfills_what_was_said_while_the_session_was_lost(chronicle: Chronicle) -> None:
    """Discord does not replay the events of a session it forgot: a line said meanwhile is read back from the
    channel's history when the bot identifies again, recorded once and answered."""
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.start_story()
    chat = await open_chat(chronicle)
    missed = fd.post_message_while_offline(w.channel, w.member, "Is anyone still here?")
    chronicle.llm.enqueue_text("Aria looks up: still here.")
    backfills = await _new_session(chronicle)
    await fd.wait_for(lambda: chronicle.bot.backfills > backfills and chronicle.hook_messages(), 10)
    await chronicle.settle()
    assert await lines(chronicle, chat.chat_id) == [("person", "Is anyone still here?"),
                                                    ("character", "Aria looks up: still here.")]
    said = await payloads(chronicle, chat.chat_id, "user_said")
    assert [s["message_id"] for s in said] == [str(missed.id)]


async def test_a_channel_waiting_behind_a_reply_does_not_hold_up_the_backfill_of_the_others(
        chronicle: Chronicle) -> None:
    """While one channel's backfill waits for the reply being written there, another story channel is backfilled:
    its missed line is recorded and answered before that reply is done."""
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.start_story()
    tavern = fd.add_channel(w.guild, "tavern")
    await chronicle.command(w.admin, "chat start", {"character": "Aria"}, channel=tavern)
    chronicle.llm.enqueue_text("Aria bows.")
    await chronicle.say(w.member, "Hello, Aria.")
    chronicle.llm.enqueue_text("Aria tunes her lute, then plays a slow song from the north.", chunks=3)
    hook = fd.webhooks_in(w.channel)[0]
    edits = fd.hold_route("PATCH", rf"/webhooks/{hook.id}/[^/]+/messages/\d+$")  # this channel's reply waits
    await fd.user_says(w.channel, w.member, "Play something?")
    await edits.wait_arrived(10)
    fd.post_message_while_offline(tavern, w.member, "Anyone in the tavern?")
    chronicle.llm.enqueue_text("Aria waves from the bar.")
    backfills = await _new_session(chronicle)
    await fd.wait_for(lambda: [m.content for m in chronicle.hook_messages(tavern)] == ["Aria waves from the bar."], 10)
    assert (await lines(chronicle, (await open_chat(chronicle)).chat_id))[-1] == ("person", "Play something?")
    edits.release()
    await fd.wait_for(lambda: chronicle.bot.backfills > backfills, 10)
    await chronicle.settle()
    assert await lines(chronicle, (await open_chat(chronicle, tavern)).chat_id) == [
        ("person", "Anyone in the tavern?"), ("character", "Aria waves from the bar.")]
    assert (await lines(chronicle, (await open_chat(chronicle)).chat_id))[-2:] == [
        ("person", "Play something?"), ("character", "Aria tunes her lute, then plays a slow song from the north.")]
