"""/chat: start, inspect, end and export the channel's story."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import discord
import structlog
from discord import app_commands
from discord.ext import commands

from bot import story_pictures
from bot.discord import render
from bot.discord.checks import actor_for, cause_of
from bot.discord.errors import describe
from bot.discord.replies import announce, defer_private, defer_public, send_ephemeral, send_public
from bot.discord.streaming import DiscordReplySink
from bot.discord.transformers import character_names
from engine import NAME_MAX, AlreadyHandled, ChatView, NoStory, NotFound, greeting_choices

if TYPE_CHECKING:
    from bot.discord.client import ChronicleBot

log = structlog.get_logger(__name__)
Name = app_commands.Range[str, 1, NAME_MAX]


class Chats(commands.Cog):
    """The story of a channel (threads count as channels)."""

    chat = app_commands.Group(name="chat", description="The story in this channel", guild_only=True)

    def __init__(self, bot: ChronicleBot) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        """A channel was deleted under its story: the story ends, with the reason in the log."""
        await self._channel_gone(channel.guild.id, channel.id)

    @commands.Cog.listener()
    async def on_raw_thread_delete(self, payload: discord.RawThreadDeleteEvent) -> None:
        """A thread was deleted under its story."""
        await self._channel_gone(payload.guild_id, payload.thread_id)

    async def _channel_gone(self, guild_id: int, channel_id: int) -> None:
        try:
            chat = await self.bot.engine.end_chat_of_lost_channel(str(guild_id), str(channel_id))
        except (NoStory, AlreadyHandled):
            return
        except Exception as exc:  # noqa: BLE001 — logged by the funnel with an id; nobody to answer
            describe(exc, guild=guild_id, channel=channel_id, event="channel_deleted")
            return
        log.info("story_ended_channel_deleted", chat=chat.chat_id, channel=channel_id)

    @chat.command(name="start", description="Start a story in this channel")
    @app_commands.describe(character="Who hosts the story", guest="A second character (optional)",
                           time="In-story start time: 14:00, 9pm, noon, Day 2 08:30",
                           anchor="A label for when this is, like 'Day 1, noon'", weather="The weather",
                           place="Where the story starts",
                           greeting="Which of the host's greetings opens the story (1 = its first message)")
    @app_commands.autocomplete(character=character_names, guest=character_names)
    async def chat_start(self, interaction: discord.Interaction, character: Name, guest: Name | None = None,
                         time: app_commands.Range[str, 1, 40] | None = None, anchor: Name | None = None,
                         weather: Name | None = None, place: Name | None = None,
                         greeting: app_commands.Range[int, 1, 1000] | None = None) -> None:
        """Start the channel's story: the announcement, then the host's greeting (recorded as its first reply)."""
        actor = actor_for(interaction)
        channel = interaction.channel
        channel_id = str(interaction.channel_id)
        announced: list[bool] = []

        async def announce_start() -> None:
            """Tell the channel the story began (once, before the greeting appears)."""
            if announced:
                return
            announced.append(True)
            chat = await self.bot.engine.get_chat(channel_id)
            names = await self._names(chat)
            cast = " and ".join(f"**{names[i]}**" for i in chat.character_ids)
            await announce(interaction, f"📖 A story begins here with {cast}. Just talk to join in; lines starting "
                                        f"with `((` or `//` are out of character.", ack="The story has begun.",
                           embed=render.chat_status(chat, names, place, None))

        sink = DiscordReplySink(self.bot, channel, before_first=announce_start) \
            if isinstance(channel, discord.TextChannel | discord.Thread) else None
        await defer_private(interaction)
        try:
            chat = await self.bot.engine.start_chat(actor, channel_id, character, guest=guest, time=time,
                                                    anchor=anchor, weather=weather, place=place,
                                                    greeting=greeting, sink=sink, cause=cause_of(interaction))
        finally:
            if sink is not None:
                await sink.close()
        await announce_start()
        lines = await self.bot.engine.transcript(chat.chat_id, limit=1)
        if lines and lines[-1].role == "character":
            host = await self.bot.engine.character_by_id(chat.host_id)
            count = len(greeting_choices(host, group=chat.guest_id is not None)) if host else 1
            await self.bot.show_reply_buttons(channel, lines[-1], greeting=(greeting or 1, count))

    @chat.command(name="status", description="Show the story in this channel")
    async def chat_status(self, interaction: discord.Interaction) -> None:
        """Show the channel's story."""
        engine = self.bot.engine
        chat = await engine.get_chat(str(interaction.channel_id))
        places = {p.place_id: p.name for p in await engine.list_places(chat.chat_id)}
        scene = "a scene is open" if chat.active_scene_id else None
        status = render.chat_status(chat, await self._names(chat), places.get(chat.place_id or ""), scene)
        await send_ephemeral(interaction, embed=status)

    @chat.command(name="end", description="End the story in this channel")
    async def chat_end(self, interaction: discord.Interaction) -> None:
        """End the channel's story (its starter or an admin)."""
        actor = actor_for(interaction)
        await defer_private(interaction)  # it waits behind a reply being written: answer Discord at once
        await self.bot.engine.end_chat(actor, str(interaction.channel_id), cause=cause_of(interaction))
        self.bot.latest_replies.pop(interaction.channel_id or 0, None)
        await announce(interaction, "📕 The story in this channel has ended. `/chat start` begins a new one; "
                                    "`/chat export` still exports it.", ack="The story has ended.")

    @chat.command(name="export", description="Download this channel's story: transcript and event log")
    async def chat_export(self, interaction: discord.Interaction) -> None:
        """Attach the Markdown transcript and the JSON Lines event file."""
        chat = await self._channel_chat(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        exported = await self.bot.engine.export_chat(chat.chat_id, actor=actor_for(interaction))
        second = f"{chat.chat_id}.events.jsonl" if exported.full else f"{chat.chat_id}.story.jsonl"
        files = [discord.File(io.BytesIO(exported.transcript_md.encode()), filename=f"{chat.chat_id}.md"),
                 discord.File(io.BytesIO(exported.events_jsonl.encode()), filename=second)]
        what = ("every event of the log (JSON Lines), rewound and deleted lines included" if exported.full
                else "the story's lines (JSON Lines); admins can export the full event log")
        await send_ephemeral(interaction, f"Here is the story: the transcript (Markdown) and {what}.", files=files)

    @chat.command(name="prompt", description="Show the prompt the model would get now (only you see it)")
    @app_commands.describe(character="Whose prompt (default: the host)")
    @app_commands.autocomplete(character=character_names)
    async def chat_prompt(self, interaction: discord.Interaction, character: Name | None = None) -> None:
        """The prompt inspector."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        view = await self.bot.engine.inspect_prompt(str(interaction.channel_id), character,
                                                    actor=actor_for(interaction))
        text = render.prompt_text(view)
        file = discord.File(io.BytesIO(text.encode()), filename="prompt.txt")
        await send_ephemeral(interaction, embed=render.prompt_summary(view), file=file)

    @chat.command(name="timeline", description="A picture of the story along in-story time")
    async def chat_timeline(self, interaction: discord.Interaction) -> None:
        """Attach the story's timeline: scenes at their places, time skips, meanwhile scenes, rewinds."""
        chat = await self._channel_chat(interaction)
        await defer_public(interaction)
        png = await story_pictures.timeline_png(self.bot.engine, chat)
        file = discord.File(io.BytesIO(png), filename=story_pictures.TIMELINE_FILE)
        await send_public(interaction, "🕰️ The story so far, along in-story time.", file=file)

    async def _names(self, chat: ChatView) -> dict[str, str]:
        """Character names of a chat by id."""
        names: dict[str, str] = {}
        for character_id in chat.character_ids:
            card = await self.bot.engine.character_by_id(character_id)
            names[character_id] = card.name if card else character_id
        return names

    async def _channel_chat(self, interaction: discord.Interaction) -> ChatView:
        """The channel's open chat, else its most recent ended one."""
        engine = self.bot.engine
        chat = await engine.find_chat(str(interaction.channel_id))
        if chat is not None:
            return chat
        here = [c for c in await engine.list_chats(str(interaction.guild_id))
                if c.channel_id == str(interaction.channel_id)]
        if not here:
            raise NotFound("There is no story in this channel yet. Start one with `/chat start`.")
        return here[-1]


async def setup(bot: ChronicleBot) -> None:
    """Add the cog."""
    await bot.add_cog(Chats(bot))
