"""End to end: the real bot against the fake Discord and the fake model — a story from first command on."""

from __future__ import annotations

from tests.bot.conftest import Chronicle


async def test_author_persona_start_and_talk(chronicle: Chronicle) -> None:
    """A person authors a character, sets a persona, starts a chat, talks, and the character answers."""
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.start_story()
    chronicle.llm.enqueue_text("Well met, Wren. Sit by the fire.", chunks=4)
    said = await chronicle.say(w.admin, "Hello Aria!")
    reply = chronicle.hook_messages()[-1]
    assert (reply.username, reply.avatar_url) == ("Aria", "https://example.invalid/aria.png")
    assert reply.content == "Well met, Wren. Sit by the fire."
    chat = await chronicle.engine.reads.get_chat(str(w.channel.id))
    lines = await chronicle.engine.reads.transcript(chat.chat_id)
    assert [(m.role, m.speaker, m.text) for m in lines] == [
        ("person", "Wren", "Hello Aria!"), ("character", "Aria", "Well met, Wren. Sit by the fire.")]
    assert lines[0].message_id == str(said.id) and lines[1].discord_ids == (str(reply.id),)
    assert fd.typing_events(w.channel)
    assert fd.unknown_routes == []


async def test_commands_sync_with_limits_and_admin_permissions(chronicle: Chronicle) -> None:
    """Every group syncs to the configured guild; option lengths match the engine; /admin needs Manage Server."""
    from engine import NAME_MAX
    from tests.fakes.discord import MANAGE_GUILD

    commands = {c["name"]: c for c in chronicle.fd.registered_commands(chronicle.fd.world.guild)}
    assert set(commands) == {"character", "persona", "chat", "scene", "place", "time", "weather", "memory",
                             "meanwhile", "relationship", "reply", "admin", "lore"}
    create = next(o for o in commands["character"]["options"] if o["name"] == "create")
    name = next(o for o in create["options"] if o["name"] == "name")
    assert (name["min_length"], name["max_length"], name["autocomplete"] if "autocomplete" in name else False) == (
        1, NAME_MAX, False)
    assert int(commands["admin"]["default_member_permissions"]) == MANAGE_GUILD
    assert {o["name"] for o in commands["admin"]["options"]} == {"rewind", "reproject", "check", "log", "doctor"}


async def test_streaming_edits_arrive_and_reply_has_buttons(chronicle: Chronicle) -> None:
    """The reply message is posted with partial text and edited to the full text; it carries the buttons."""
    w = chronicle.fd.world
    await chronicle.start_story()
    chronicle.llm.enqueue_text("The road north is long, and the nights are cold.", chunks=6)
    await chronicle.say(w.admin, "Which way to the mountains?")
    reply = chronicle.hook_messages()[-1]
    edits = chronicle.fd.edits_of(reply)
    assert edits, "the reply was never edited while streaming"
    assert edits[-1]["content"] == "The road north is long, and the nights are cold."
    assert reply.content == edits[-1]["content"]
    buttons = [c["custom_id"] for row in reply.components for c in row["components"]]
    reply = (await chronicle.engine.reads.transcript((await chronicle.engine.reads.get_chat(str(chronicle.channel.id))).chat_id, limit=1))[-1]
    assert buttons == [f"chronicle:reply:regenerate:{reply.message_id}:0", f"chronicle:reply:continue:{reply.message_id}:0"]


async def test_long_reply_is_split_at_paragraphs(chronicle: Chronicle) -> None:
    """A reply over 2,000 characters becomes several messages, each within the limit, split at paragraphs."""
    w = chronicle.fd.world
    await chronicle.start_story()
    paragraphs = [f"Paragraph {i}. " + "The wind howls over the pass. " * 30 for i in range(4)]
    text = "\n\n".join(p.strip() for p in paragraphs)
    chronicle.llm.enqueue_text(text, chunks=12)
    await chronicle.say(w.admin, "Tell me a long story.", replies=2)
    parts = chronicle.hook_messages()
    assert len(parts) >= 2 and all(len(m.content) <= 2000 for m in parts)
    assert all(m.content.startswith("Paragraph") for m in parts)
    assert "\n\n".join(m.content for m in parts) == text
    chat = await chronicle.engine.reads.get_chat(str(w.channel.id))
    reply = (await chronicle.engine.reads.transcript(chat.chat_id))[-1]
    assert reply.discord_ids == tuple(str(m.id) for m in parts)
    assert not parts[0].components and parts[-1].components


async def test_second_chat_start_is_refused(chronicle: Chronicle) -> None:
    """One story per channel: a second /chat start gets an ephemeral refusal saying how to end the first."""
    w = chronicle.fd.world
    await chronicle.start_story()
    record = await chronicle.command(w.member, "chat start", {"character": "Aria"})
    assert record.ephemeral and "/chat end" in record.content


async def test_messages_queue_in_order_and_ooc_bots_are_ignored(chronicle: Chronicle) -> None:
    """Lines sent while a reply is written are queued in order; out-of-character lines are ignored."""
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.start_story()
    chronicle.llm.enqueue_delay(0.3, "First answer.")
    await fd.user_says(w.channel, w.admin, "one")
    await fd.user_says(w.channel, w.member, "(( brb, ooc ))")
    await fd.user_says(w.channel, w.member, "two")
    await fd.wait_for(lambda: len(chronicle.hook_messages()) >= 2, timeout=10)
    await chronicle.settle()
    chat = await chronicle.engine.reads.get_chat(str(w.channel.id))
    lines = [(m.role, m.text) for m in await chronicle.engine.reads.transcript(chat.chat_id)]
    assert lines[0] == ("person", "one") and lines[1] == ("character", "First answer.")
    assert lines[2] == ("person", "two") and lines[3][0] == "character" and len(lines) == 4


async def test_mention_only_gets_help(chronicle: Chronicle) -> None:
    """A message that only mentions the app gets a short help."""
    fd, w = chronicle.fd, chronicle.fd.world
    await fd.user_says(w.channel, w.member, f"<@{fd.bot_user.id}>")
    await fd.wait_for(lambda: any("/chat start" in m.content for m in fd.messages_in(w.channel)))


async def test_model_down_friendly_message_nothing_lost(chronicle: Chronicle) -> None:
    """When the model fails, the person gets a friendly line and their message stays in the story."""
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.start_story()
    chronicle.llm.enqueue_error(500, "model crashed")
    sent = await chronicle.say(w.admin, "Are you there?", replies=0)
    await fd.wait_for(lambda: any("narrator" in m.content for m in fd.messages_in(w.channel)))
    chat = await chronicle.engine.reads.get_chat(str(w.channel.id))
    lines = await chronicle.engine.reads.transcript(chat.chat_id)
    assert [(m.role, m.message_id) for m in lines] == [("person", str(sent.id))]
    assert chronicle.hook_messages() == []
    chronicle.llm.enqueue_text("I'm back.")
    await chronicle.say(w.admin, "Now?")
    assert chronicle.hook_messages()[-1].content == "I'm back."


async def test_the_hosts_greeting_is_posted_when_the_story_starts(chronicle: Chronicle) -> None:
    """A card's greeting opens the story: recorded by the engine and posted under the character's name."""
    w = chronicle.fd.world
    await chronicle.command(w.admin, "character create", {"name": "Dalia", "description": "An innkeeper.",
                                                          "greeting": "Welcome in, {{user}}! I'm {{char}}."})
    await chronicle.command(w.admin, "persona set", {"name": "Wren"})
    record = await chronicle.command(w.admin, "chat start", {"character": "Dalia"})
    assert any("story begins" in t for t in record.texts)
    posted = await chronicle.fd.wait_for(lambda: chronicle.hook_messages())
    assert [(m.username, m.content) for m in posted] == [("Dalia", "Welcome in, Wren! I'm Dalia.")]
    chat = await chronicle.engine.reads.get_chat(str(w.channel.id))
    [line] = await chronicle.engine.reads.transcript(chat.chat_id)
    assert (line.speaker, line.text) == ("Dalia", "Welcome in, Wren! I'm Dalia.")
