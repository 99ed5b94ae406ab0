"""The loopback fake Discord works with the real discord.py: gateway, slash commands, webhooks, views, RESUME."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.fakes.discord import FakeDiscord, FakeDiscordWorld
from tests.fakes.discord.fixtures import run_bot


class ProbeBot(commands.Bot):
    """A minimal bot (not Chronicle's) with a /character group, a nested /world place group and a listener."""

    def __init__(self, guild_id: int, *, message_content: bool = True) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        intents.guild_messages = True
        intents.message_content = message_content
        super().__init__(command_prefix="!", intents=intents, guild_ready_timeout=0.1)
        self.guild_id = guild_id
        self.seen: list[discord.Message] = []
        self.events: list[str] = []
        self.clicks: list[int] = []
        self.tree.add_command(_character_group(), guild=discord.Object(guild_id))
        self.tree.add_command(_world_group(), guild=discord.Object(guild_id))

    async def setup_hook(self) -> None:
        """Sync the guild commands."""
        await self.tree.sync(guild=discord.Object(self.guild_id))

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Skip discord.py's 5 s pause before a re-IDENTIFY."""

    async def on_ready(self) -> None:
        """Record readiness."""
        self.events.append("ready")

    async def on_resumed(self) -> None:
        """Record a RESUME."""
        self.events.append("resumed")

    async def on_message(self, message: discord.Message) -> None:
        """Record people's messages."""
        if not message.author.bot:
            self.seen.append(message)


def _character_group() -> app_commands.Group:
    """/character create (defer + followup) and /character show (ephemeral, autocomplete)."""
    group = app_commands.Group(name="character", description="Characters")

    @group.command(name="create", description="Create a character")
    @app_commands.describe(name="Its name", age="Its age")
    async def create(interaction: discord.Interaction, name: str, age: int = 20) -> None:
        """Defer, then answer with a followup."""
        await interaction.response.defer(thinking=True)
        await asyncio.sleep(0.01)
        await interaction.followup.send(f"created {name} ({age})")

    @group.command(name="show", description="Show a character")
    async def show(interaction: discord.Interaction, name: str) -> None:
        """Answer at once, ephemerally."""
        await interaction.response.send_message(f"{name} is here", ephemeral=True)

    @show.autocomplete("name")
    async def show_name(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        """Suggest names starting with what was typed."""
        names = ["Aria", "Arwen", "Bram"]
        return [app_commands.Choice(name=n, value=n) for n in names if n.lower().startswith(current.lower())]

    return group


def _world_group() -> app_commands.Group:
    """/world place add: a subcommand inside a subcommand group, with channel and boolean options."""
    world = app_commands.Group(name="world", description="World", default_permissions=discord.Permissions(manage_guild=True))
    place = app_commands.Group(name="place", description="Places", parent=world)

    @place.command(name="add", description="Add a place")
    async def add(interaction: discord.Interaction, name: str, where: discord.TextChannel, indoor: bool) -> None:
        """Echo the options."""
        await interaction.response.send_message(f"{name} in #{where.name} indoor={indoor}")

    return world


class ConfirmView(discord.ui.View):
    """One button; the click is recorded and answered by editing the message."""

    def __init__(self, bot: ProbeBot) -> None:
        super().__init__(timeout=30)
        self.bot = bot

    @discord.ui.button(label="OK", custom_id="probe:ok")
    async def ok(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        """Record the click and update the message."""
        self.bot.clicks.append(interaction.user.id)
        await interaction.response.edit_message(content="confirmed", view=None)


class NameModal(discord.ui.Modal, title="Name"):
    """One text input; the submitted value is echoed back."""

    name: discord.ui.TextInput[Any] = discord.ui.TextInput(label="Name", custom_id="probe:name")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Echo the name ephemerally."""
        await interaction.response.send_message(f"named {self.name.value}", ephemeral=True)


class ModalView(discord.ui.View):
    """One button that opens NameModal."""

    @discord.ui.button(label="Rename", custom_id="probe:rename")
    async def rename(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        """Open the modal."""
        await interaction.response.send_modal(NameModal())


@pytest.fixture
async def fake_discord_bot(fake_discord: FakeDiscord) -> AsyncIterator[ProbeBot]:
    """A ProbeBot connected to the fake Discord."""
    bot = ProbeBot(fake_discord.world.guild.id)
    async with run_bot(fake_discord, bot):
        yield bot


async def test_connects_and_becomes_ready(fake_discord: FakeDiscord, fake_discord_bot: ProbeBot) -> None:
    """The bot logs in, gets READY and the guild, and on_ready fires; no route was missed."""
    w = fake_discord.world
    guild = fake_discord_bot.get_guild(w.guild.id)
    assert guild is not None and guild.name == "Test Guild"
    assert fake_discord_bot.get_channel(w.channel.id) is not None
    assert guild.me is not None and guild.me.id == fake_discord.bot_user.id
    assert fake_discord_bot.events == ["ready"]
    assert fake_discord.unknown_routes == []


async def test_slash_group_is_synced_and_deferred_followup_arrives(
    fake_discord: FakeDiscord, fake_discord_bot: ProbeBot
) -> None:
    """Guild sync stores the commands; a deferred subcommand's followup fills the response."""
    w = fake_discord.world
    names = {c["name"] for c in fake_discord.registered_commands(w.guild)}
    assert names == {"character", "world"}
    record = await fake_discord.invoke_command(w.channel, w.member, "character create", {"name": "Aria", "age": 30})
    await record.wait_done()
    assert record.callback_type == 5
    assert record.content == "created Aria (30)"
    assert not record.ephemeral
    assert [m.content for m in fake_discord.messages_in(w.channel)] == ["created Aria (30)"]


async def test_immediate_ephemeral_response_and_autocomplete(
    fake_discord: FakeDiscord, fake_discord_bot: ProbeBot
) -> None:
    """Autocomplete returns the bot's choices; an ephemeral reply is flagged 64 and not in the channel."""
    w = fake_discord.world
    choices = await fake_discord.autocomplete(w.channel, w.member, "character show", {"name": "ar"}, focused="name")
    assert [c["value"] for c in choices] == ["Aria", "Arwen"]
    record = await fake_discord.invoke_command(w.channel, w.member, "character show", {"name": "Aria"})
    await record.wait_done()
    assert (record.callback_type, record.content, record.flags & 64) == (4, "Aria is here", 64)
    assert fake_discord.messages_in(w.channel) == []


async def test_nested_group_with_resolved_options_and_admin_visibility(
    fake_discord: FakeDiscord, fake_discord_bot: ProbeBot
) -> None:
    """A group-in-group subcommand gets a resolved channel; Manage Server commands are hidden from members."""
    from tests.fakes.discord import CommandNotVisible

    w = fake_discord.world
    options = {"name": "Tavern", "where": w.channel, "indoor": True}
    with pytest.raises(CommandNotVisible):
        await fake_discord.invoke_command(w.channel, w.member, "world place add", options)
    record = await (await fake_discord.invoke_command(w.channel, w.admin, "world place add", options)).wait_done()
    assert record.content == "Tavern in #general indoor=True"


async def test_on_message_receives_a_persons_message(fake_discord: FakeDiscord, fake_discord_bot: ProbeBot) -> None:
    """A person's message reaches on_message as a Member-authored message."""
    w = fake_discord.world
    sent = await fake_discord.user_says(w.channel, w.member, "hello there")
    await fake_discord.wait_for(lambda: fake_discord_bot.seen)
    got = fake_discord_bot.seen[0]
    assert (got.id, got.content, got.author.id, got.channel.id) == (sent.id, "hello there", w.member.id, w.channel.id)
    assert isinstance(got.author, discord.Member)


async def test_without_message_content_intent_content_is_blank(fake_discord: FakeDiscord) -> None:
    """Without the MESSAGE_CONTENT intent, content arrives blank like on Discord."""
    w = fake_discord.world
    bot = ProbeBot(w.guild.id, message_content=False)
    async with run_bot(fake_discord, bot):
        await fake_discord.user_says(w.channel, w.member, "secret")
        await fake_discord.wait_for(lambda: bot.seen)
    assert bot.seen[0].content == ""


async def test_webhook_send_edit_and_thread(fake_discord: FakeDiscord, fake_discord_bot: ProbeBot) -> None:
    """The bot creates a webhook, sends as a character with wait=True, edits, and posts in a thread."""
    w = fake_discord.world
    thread = fake_discord.add_thread(w.channel, "side story")
    channel = fake_discord_bot.get_channel(w.channel.id)
    assert isinstance(channel, discord.TextChannel)
    hook = await channel.create_webhook(name="Chronicle")
    assert [h.id for h in await channel.webhooks()] == [hook.id]
    sent = await hook.send("Hel", username="Aria", avatar_url="https://example.invalid/aria.png", wait=True)
    await sent.edit(content="Hello, traveller")
    stored = fake_discord.messages_in(w.channel)[-1]
    assert (stored.username, stored.avatar_url, stored.content) == ("Aria", "https://example.invalid/aria.png", "Hello, traveller")
    assert [e["content"] for e in fake_discord.edits_of(sent.id)] == ["Hello, traveller"]
    await fake_discord.wait_for(lambda: fake_discord_bot.get_channel(thread.id))
    bot_thread = fake_discord_bot.get_channel(thread.id)
    assert isinstance(bot_thread, discord.Thread)
    in_thread = await hook.send("whisper", username="Bram", thread=bot_thread, wait=True)
    await in_thread.edit(content="whisper, edited")
    assert [(m.username, m.content) for m in fake_discord.messages_in(thread)] == [("Bram", "whisper, edited")]


async def test_server_side_webhook_deletion_is_not_found(fake_discord: FakeDiscord, fake_discord_bot: ProbeBot) -> None:
    """Executing a webhook deleted server-side raises discord.NotFound (10015)."""
    w = fake_discord.world
    channel = fake_discord_bot.get_channel(w.channel.id)
    assert isinstance(channel, discord.TextChannel)
    hook = await channel.create_webhook(name="Chronicle")
    await fake_discord.delete_webhook(fake_discord.webhooks_in(w.channel)[0])
    with pytest.raises(discord.NotFound) as caught:
        await hook.send("anyone there?", username="Aria", wait=True)
    assert caught.value.code == 10015


async def test_missing_manage_webhooks_is_forbidden(fake_discord: FakeDiscord, fake_discord_bot: ProbeBot) -> None:
    """Without MANAGE_WEBHOOKS, creating a webhook raises discord.Forbidden (50013)."""
    w = fake_discord.world
    locked = fake_discord.add_channel(w.guild, "locked", bot_can_manage_webhooks=False)
    channel = await fake_discord.wait_for(lambda: fake_discord_bot.get_channel(locked.id))
    assert isinstance(channel, discord.TextChannel)
    assert not channel.permissions_for(channel.guild.me).manage_webhooks
    with pytest.raises(discord.Forbidden) as caught:
        await channel.create_webhook(name="Chronicle")
    assert caught.value.code == 50013


async def test_history_typing_and_attachments(fake_discord: FakeDiscord, fake_discord_bot: ProbeBot) -> None:
    """History honours limit/after, typing is recorded, uploaded files are stored."""
    w = fake_discord.world
    posted = [fake_discord.post_message_while_offline(w.channel, w.member, f"m{i}") for i in range(5)]
    channel = fake_discord_bot.get_channel(w.channel.id)
    assert isinstance(channel, discord.TextChannel)
    newest = [m.content async for m in channel.history(limit=3)]
    after = [m.content async for m in channel.history(after=discord.Object(posted[1].id), oldest_first=True)]
    assert (newest, after) == (["m4", "m3", "m2"], ["m2", "m3", "m4"])
    async with channel.typing():
        await channel.send("with file", file=discord.File(io.BytesIO(b"scene"), filename="scene.txt"))
    assert len(fake_discord.typing_events(w.channel)) >= 1
    stored = fake_discord.messages_in(w.channel)[-1]
    assert stored.attachments[0]["filename"] == "scene.txt"
    assert stored.files[stored.attachments[0]["id"]] == b"scene"
    assert fake_discord_bot.seen == []


async def test_button_click_reaches_view_callback(fake_discord: FakeDiscord, fake_discord_bot: ProbeBot) -> None:
    """A button click reaches the View's callback, which updates the message."""
    w = fake_discord.world
    channel = fake_discord_bot.get_channel(w.channel.id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("Proceed?", view=ConfirmView(fake_discord_bot))
    stored = fake_discord.messages[sent.id]
    record = await (await fake_discord.click_button(stored, "probe:ok", w.member)).wait_done()
    assert fake_discord_bot.clicks == [w.member.id]
    assert (record.callback_type, stored.content, stored.components) == (7, "confirmed", [])


async def test_modal_opened_by_a_button_is_submitted(fake_discord: FakeDiscord, fake_discord_bot: ProbeBot) -> None:
    """A button opens a modal; submitting it reaches on_submit."""
    w = fake_discord.world
    channel = fake_discord_bot.get_channel(w.channel.id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("Rename?", view=ModalView(timeout=30))
    opened = await (await fake_discord.click_button(fake_discord.messages[sent.id], "probe:rename", w.member)).wait_done()
    assert opened.callback_type == 9 and opened.modal is not None
    submitted = await (await fake_discord.submit_modal(opened, {"probe:name": "Aria"})).wait_done()
    assert (submitted.content, submitted.ephemeral) == ("named Aria", True)


async def test_invalid_session_makes_the_bot_identify_again(
    fake_discord: FakeDiscord, fake_discord_bot: ProbeBot
) -> None:
    """After INVALID_SESSION the bot identifies afresh and receives events again."""
    w = fake_discord.world
    await fake_discord.invalidate_session()
    await fake_discord.wait_for_identify(2)
    await fake_discord.user_says(w.channel, w.member, "back again")
    await fake_discord.wait_for(lambda: fake_discord_bot.seen)
    assert fake_discord.gateway.resume_count == 0


async def test_reconnects_with_resume_and_gets_missed_events(
    fake_discord: FakeDiscord, fake_discord_bot: ProbeBot
) -> None:
    """After a drop the bot RESUMEs and gets the event it missed."""
    w = fake_discord.world
    await fake_discord.disconnect_bot()
    await fake_discord.user_says(w.channel, w.member, "while you were away")
    await fake_discord.wait_for_resume()
    await fake_discord.wait_for(lambda: fake_discord_bot.seen)
    assert fake_discord_bot.seen[0].content == "while you were away"
    assert fake_discord.gateway.identify_count == 1
    await fake_discord.wait_for(lambda: "resumed" in fake_discord_bot.events)


async def test_unknown_routes_are_recorded(fake_discord: FakeDiscord, fake_discord_bot: ProbeBot) -> None:
    """An unhandled route answers 404 and is recorded."""
    with pytest.raises(discord.NotFound):
        await fake_discord_bot.http.request(discord.http.Route("GET", "/nowhere/{x}", x=1))
    assert fake_discord.unknown_routes == [("GET", "/api/v10/nowhere/1")]


async def test_discord_limits_are_enforced(fake_discord: FakeDiscord, fake_discord_bot: ProbeBot) -> None:
    """Over-long content and a "Clyde" webhook username are rejected; a late interaction answer is too."""
    w = fake_discord.world
    channel = fake_discord_bot.get_channel(w.channel.id)
    assert isinstance(channel, discord.TextChannel)
    with pytest.raises(discord.HTTPException) as too_long:
        await channel.send("x" * 2001)
    hook = await channel.create_webhook(name="Chronicle")
    with pytest.raises(discord.HTTPException) as clyde:
        await hook.send("hi", username="Clyde", wait=True)
    assert (too_long.value.code, clyde.value.code) == (50035, 50035)
    fake_discord.interaction_timeout = 0.0
    record = await fake_discord.invoke_command(w.channel, w.member, "character show", {"name": "Aria"})
    await fake_discord.wait_for(lambda: record.rejected)
    assert not record.responded


def test_world_fixture_is_shared(fake_discord_world: FakeDiscordWorld) -> None:
    """The default world has a general channel, an admin with a role and a plain member."""
    assert fake_discord_world.channel.name == "general"
    assert fake_discord_world.admin.role_ids and not fake_discord_world.member.role_ids
