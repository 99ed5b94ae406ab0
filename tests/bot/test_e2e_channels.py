"""End to end: threads, missing Manage Webhooks, a deleted webhook, reply buttons, export and the inspector."""

from __future__ import annotations

from tests.bot.conftest import Chronicle, button_id


async def test_thread_story_posts_through_parent_webhook(chronicle: Chronicle) -> None:
    """A story in a thread is answered through the parent channel's webhook with thread_id."""
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.start_story()
    thread = fd.add_thread(w.channel, "side story")
    await fd.wait_for(lambda: chronicle.bot.get_channel(thread.id))
    record = await chronicle.command(w.admin, "chat start", {"character": "Aria"}, channel=thread)
    assert any("story begins" in t for t in record.texts)
    chronicle.llm.enqueue_text("Whispers in the thread.")
    await chronicle.say(w.member, "psst", channel=thread)
    reply = chronicle.hook_messages(thread)[-1]
    assert (reply.username, reply.content) == ("Aria", "Whispers in the thread.")
    assert [h.channel_id for h in fd.webhooks.values()] == [w.channel.id]


async def test_without_manage_webhooks_falls_back_and_tells_once(chronicle: Chronicle) -> None:
    """Without Manage Webhooks the character speaks in an embed of the bot's own message; admins are told once."""
    fd, w = chronicle.fd, chronicle.fd.world
    locked = fd.add_channel(w.guild, "locked", bot_can_manage_webhooks=False)
    await fd.wait_for(lambda: chronicle.bot.get_channel(locked.id))
    await chronicle.start_story()
    await chronicle.command(w.admin, "chat start", {"character": "Aria"}, channel=locked)
    for line in ("hi", "again"):
        chronicle.llm.enqueue_text(f"Reply to {line}.")
        before = len(fd.messages_in(locked))
        await fd.user_says(locked, w.member, line)
        await fd.wait_for(lambda: any(m.embeds and m.embeds[0].get("description") == f"Reply to {line}."  # noqa: B023
                                      for m in fd.messages_in(locked)[before:]))  # noqa: B023
        await chronicle.settle()
    bot_messages = [m for m in fd.messages_in(locked) if m.author["id"] == str(fd.bot_user.id) and not
                    m.interaction_metadata]
    notices = [m for m in bot_messages if "Manage Webhooks" in m.content]
    replies = [m for m in bot_messages if m.embeds]
    assert len(notices) == 1 and len(replies) == 2
    assert replies[0].embeds[0]["author"]["name"] == "Aria"
    assert fd.webhooks_in(locked) == []


async def test_deleted_webhook_is_recreated(chronicle: Chronicle) -> None:
    """When Discord says the webhook is gone (10015), a new one is made and the reply still arrives."""
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.start_story()
    chronicle.llm.enqueue_text("First.")
    await chronicle.say(w.member, "one")
    old = fd.webhooks_in(w.channel)[0]
    await fd.delete_webhook(old)
    chronicle.llm.enqueue_text("Second.")
    await chronicle.say(w.member, "two")
    assert chronicle.hook_messages()[-1].content == "Second."
    assert [h.id for h in fd.webhooks_in(w.channel)] != [old.id] and len(fd.webhooks_in(w.channel)) == 1


async def test_regenerate_button_and_continue_command_edit_the_reply(chronicle: Chronicle) -> None:
    """The Regenerate button rewrites the latest reply in place; /reply continue extends it; old buttons go."""
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.start_story()
    chronicle.llm.enqueue_text("First take.")
    await chronicle.say(w.member, "one")
    chronicle.llm.enqueue_text("Earlier reply.")
    await chronicle.say(w.member, "two")
    first, latest = chronicle.hook_messages()
    assert not first.components and latest.components
    chronicle.llm.enqueue_text("Second take.")
    click = await fd.click_button(latest, button_id(latest, "regenerate"), w.member)
    await click.wait_done(10)
    await chronicle.settle()
    assert latest.content == "Second take." and click.ephemeral
    chronicle.llm.enqueue_text("And more.")
    record = await chronicle.command(w.member, "reply continue")
    assert record.ephemeral and latest.content == "Second take. And more."
    chat = await chronicle.engine.reads.get_chat(str(w.channel.id))
    assert (await chronicle.engine.reads.transcript(chat.chat_id))[-1].text == "Second take. And more."
    assert len(chronicle.hook_messages()) == 2


async def test_export_attaches_transcript_and_events(chronicle: Chronicle) -> None:
    """/chat export answers privately with a Markdown transcript and a JSON Lines event file."""
    w = chronicle.fd.world
    await chronicle.start_story()
    chronicle.llm.enqueue_text("Hello.")
    await chronicle.say(w.member, "hi")
    record = await chronicle.command(w.admin, "chat export")
    names = sorted(a["filename"] for a in record.attachments)
    assert record.ephemeral and len(names) == 2
    assert names[0].endswith(".events.jsonl") and names[1].endswith(".md")


async def test_prompt_inspector_is_ephemeral(chronicle: Chronicle) -> None:
    """/chat prompt shows token use per part, privately, with the prompt attached."""
    w = chronicle.fd.world
    await chronicle.start_story()
    record = await chronicle.command(w.member, "chat prompt")
    assert record.ephemeral and record.embeds[0]["title"] == "Prompt inspector"
    assert record.attachments[0]["filename"] == "prompt.txt"


async def test_world_commands_and_autocomplete(chronicle: Chronicle) -> None:
    """Places, scenes, weather, time, memories, relationships and meanwhile work through their commands."""
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.start_story(guest=True)
    choices = await fd.autocomplete(w.channel, w.member, "chat start", {"character": "ar"}, focused="character")
    assert [c["value"] for c in choices] == ["Aria"]
    await chronicle.command(w.admin, "place create", {"name": "Tavern", "description": "Warm and loud."})
    places = await fd.autocomplete(w.channel, w.member, "scene open", {"place": "ta"}, focused="place")
    assert [c["value"] for c in places] == ["Tavern"]
    assert "opens at **Tavern**" in " ".join((await chronicle.command(w.admin, "scene open", {"place": "Tavern"})).texts)
    assert "rain" in " ".join((await chronicle.command(w.admin, "weather set", {"weather": "rain"})).texts)
    chronicle.llm.enqueue_text("They drank and sang.")
    closed = await chronicle.command(w.admin, "scene close")
    assert "They drank and sang." in closed.followups[-1].content
    skipped = await chronicle.command(w.admin, "time skip", {"by": "2h", "summary": "They slept."})
    assert "Time passes" in skipped.followups[-1].content and "They slept." in skipped.followups[-1].content
    added = await chronicle.command(w.admin, "memory add", {"text": "Wren owes Aria a song.", "importance": 7})
    assert "will remember" in added.content
    listed = await chronicle.command(w.admin, "memory search", {"query": "song"})
    assert "Wren owes Aria a song." in listed.embeds[0]["description"]
    adjusted = await chronicle.command(w.admin, "relationship adjust",
                                       {"character": "Aria", "target": "Bram", "affinity": 10})
    assert "affinity +10" in " ".join(adjusted.texts)
    chronicle.llm.enqueue_text("Bram forged a blade in silence.")
    meanwhile = await chronicle.command(w.admin, "meanwhile start",
                                        {"character": "Bram", "place": "Forge", "premise": "Bram works late"})
    assert "Bram forged a blade" in meanwhile.followups[-1].content
