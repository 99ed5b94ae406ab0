"""End to end: a group story through the fake Discord: a cast of 20 built with /chat cast add, each member
posting under its own name and avatar through the channel's one webhook, a reply to a character's message
answered by it, /chat turns and /chat nudge."""

from __future__ import annotations

from tests.bot.conftest import Chronicle, button_id

CAST = [f"Guest{n:02}" for n in range(19)]


async def test_a_cast_of_twenty_posts_through_one_webhook(chronicle: Chronicle) -> None:
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.start_story()
    for name in CAST:
        await chronicle.command(w.admin, "character create", {
            "name": name, "description": f"{name} of the tavern.", "avatar_url": f"https://example.invalid/{name}.png"})
        record = await chronicle.command(w.admin, "chat cast add", {"character": name})
        assert any(f"{name}** joins the story" in t for t in record.texts), record.texts
    listed = await chronicle.command(w.admin, "chat cast list")
    assert "20. **Guest18**" in str(listed.embeds)
    record = await chronicle.command(w.admin, "chat turns", {"rule": "list"})
    assert any("Who speaks next: **list**" in t for t in record.texts), record.texts
    await chronicle.say(w.admin, "Good evening, everyone!", replies=3)  # the list, cut at CHRONICLE_MAX_CHAIN
    await chronicle.command(w.admin, "chat turns", {"rule": "mentioned"})
    await chronicle.say(w.admin, "Guest07 and Guest12, join me.", replies=2)
    for name in CAST[:10]:
        await chronicle.say(w.admin, f"{name}, your round.")
    nudge = await chronicle.command(w.admin, "chat nudge", {"character": "Guest18"})
    assert nudge.texts is not None
    await chronicle.settle()

    posted = chronicle.hook_messages()
    names = [m.username for m in posted]
    assert names[:3] == ["Aria", "Guest00", "Guest01"]  # the list of 20, cut at three
    assert names[3:5] == ["Guest07", "Guest12"] and names[5:15] == CAST[:10] and names[15:] == ["Guest18"]
    assert {m.avatar_url for m in posted if m.username == "Guest07"} == {"https://example.invalid/Guest07.png"}
    assert len({m.webhook_id for m in posted}) == 1
    assert len([h for h in fd.webhooks.values() if h.channel_id == w.channel.id]) == 1

    target = next(m for m in posted if m.username == "Guest03")
    before = len(posted)
    await fd.user_says(w.channel, w.admin, "And what do you say to that?", reply_to=target)
    await fd.wait_for(lambda: len(chronicle.hook_messages()) > before, 10.0)
    await chronicle.settle()
    assert chronicle.hook_messages()[-1].username == "Guest03"
    assert fd.unknown_routes == []


async def test_someone_else_and_regenerate_through_the_buttons(chronicle: Chronicle) -> None:
    """Regenerate rewrites a reply under the same speaker; Someone else posts another member's reply under its own
    name through the same webhook, and the reply before it loses its buttons."""
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.start_story(guest=True)
    await chronicle.command(w.admin, "character create", {"name": "Cora", "description": "A card sharp."})
    await chronicle.command(w.admin, "chat cast add", {"character": "Cora"})
    await chronicle.command(w.admin, "chat turns", {"rule": "mentioned"})
    await chronicle.say(w.admin, "Bram, a word.")
    bram = chronicle.hook_messages()[-1]
    assert bram.username == "Bram" and button_id(bram, "other").startswith("chronicle:reply:other:")
    chronicle.llm.enqueue_text("Bram, again.")
    click = await fd.click_button(bram, button_id(bram, "regenerate"), w.member)
    await click.wait_done(10)
    await chronicle.settle()
    chat = await chronicle.engine.reads.get_chat(str(w.channel.id))
    latest = (await chronicle.engine.reads.transcript(chat.chat_id))[-1]
    assert (latest.speaker, latest.revision, bram.content) == ("Bram", 1, "Bram, again.")  # the speaker is kept
    click = await fd.click_button(bram, button_id(bram, "other"), w.member)
    await click.wait_done(10)
    await chronicle.settle()
    posted = chronicle.hook_messages()
    assert "spoke" in " ".join(click.texts) and posted[-1].username in {"Aria", "Cora"}
    assert posted[-2] is bram and len({m.webhook_id for m in posted}) == 1  # one webhook, each message its name
    assert not any(c.get("custom_id") for row in bram.components for c in row.get("components", [row]))
