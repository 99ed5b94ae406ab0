"""Roleplay in the channel: people's messages → engine.respond through a per-channel queue; edits and
deletes reach the log; messages posted while the bot was down are backfilled at start-up."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord
import structlog
from discord.ext import commands

from bot.checks import actor_for_member
from bot.posting import Target
from bot.streaming import DiscordReplySink
from bot.tree import NARRATOR_DOWN
from engine import Actor, ChatView, DomainError, NarratorUnavailable

if TYPE_CHECKING:
    from bot.client import ChronicleBot

log = structlog.get_logger(__name__)

OUT_OF_CHARACTER = ("((", "//")
BACKFILL_LIMIT = 200
HELP = (
    "Hi! I'm **Chronicle**, a narrator for roleplay stories.\n"
    "• `/character create` makes a character, `/persona set` says who *you* are.\n"
    "• `/chat start` begins a story in this channel; then just talk and the characters answer.\n"
    "• Lines starting with `((` or `//` are out of character. `/reply regenerate` rewrites a reply."
)


def story_text(message: discord.Message) -> str | None:
    """The in-character text of a person's message, or None when it isn't one."""
    if message.author.bot or message.webhook_id is not None:
        return None
    if message.type not in (discord.MessageType.default, discord.MessageType.reply):
        return None
    text = message.clean_content.strip()
    if not text or text.startswith(OUT_OF_CHARACTER):
        return None
    return text


def mentions_only(message: discord.Message, me: discord.abc.User | None) -> bool:
    """Whether a message does nothing but mention the bot."""
    if me is None or message.author.bot or me.id not in message.raw_mentions:
        return False
    return not re.sub(rf"<@!?{me.id}>", "", message.content).strip()


class Roleplay(commands.Cog):
    """Turns people's channel messages into story lines and character replies."""

    def __init__(self, bot: ChronicleBot) -> None:
        self.bot = bot
        self._backfilled = False

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Queue a person's in-character line for its channel (arrival order is kept per channel)."""
        if message.guild is None:
            return
        if mentions_only(message, self.bot.user):
            await message.reply(HELP, mention_author=False)
            return
        if story_text(message) is not None:
            self.bot.queues.post(message.channel.id, lambda: self.respond(message))

    async def respond(self, message: discord.Message, *, reply: bool = True) -> None:
        """Record the line and (unless `reply` is False) let the addressed character answer."""
        text = story_text(message)
        channel = message.channel
        if text is None or message.guild is None or not isinstance(channel, (discord.TextChannel, discord.Thread)):
            return
        if not self.bot.first_time(message.id) or await self.bot.engine.find_chat(str(channel.id)) is None:
            return
        actor = actor_for_member(message.author, message.guild.id, self.bot.admin_role_ids)
        try:
            if not reply:
                await self.bot.engine.record_message(actor, str(channel.id), str(message.id), text)
                return
            await self._respond(actor, channel, message, text)
        except NarratorUnavailable as exc:
            log.warning("narrator_unavailable", channel=channel.id, reason=exc.reason)
            await message.reply(NARRATOR_DOWN, mention_author=False)
        except DomainError as exc:
            await message.reply(f"⚠️ {exc}", mention_author=False)

    async def _respond(self, actor: Actor, channel: Target, message: discord.Message, text: str) -> None:
        """engine.respond with a sink streaming into the channel."""
        sink = DiscordReplySink(self.bot, channel)
        try:
            await self.bot.engine.respond(actor, str(channel.id), str(message.id), text, sink)
        finally:
            await sink.close()

    @commands.Cog.listener()
    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        """A person edited a story line: message_edited."""
        message = payload.message
        text = story_text(message) if message is not None else None
        if text is None or payload.guild_id is None or "content" not in payload.data:
            return
        actor = actor_for_member(message.author, payload.guild_id, self.bot.admin_role_ids)
        self.bot.queues.post(payload.channel_id, lambda: self._edit(actor, payload.channel_id, message.id, text))

    async def _edit(self, actor: Actor, channel_id: int, message_id: int, text: str) -> None:
        """Record an edit of a line that is part of the story."""
        chat = await self.bot.engine.find_chat(str(channel_id))
        if chat is None or await self.bot.engine.find_message(chat.chat_id, str(message_id)) is None:
            return
        try:
            await self.bot.engine.edit_message(actor, str(channel_id), str(message_id), text)
        except DomainError as exc:
            log.info("edit_not_recorded", message=message_id, reason=str(exc))

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        """A story line was deleted: message_retracted (the bot's own deletions are skipped)."""
        self._deleted(payload.guild_id, payload.channel_id, [payload.message_id])

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        """Several lines were deleted at once."""
        self._deleted(payload.guild_id, payload.channel_id, sorted(payload.message_ids))

    def _deleted(self, guild_id: int | None, channel_id: int, message_ids: list[int]) -> None:
        """Queue retractions for deleted messages the bot did not delete itself."""
        ours = self.bot.self_deleted
        theirs = [i for i in message_ids if i not in ours]
        ours.difference_update(message_ids)
        if guild_id is not None and theirs:
            self.bot.queues.post(channel_id, lambda: self._retract(guild_id, channel_id, theirs))

    async def _retract(self, guild_id: int, channel_id: int, message_ids: list[int]) -> None:
        """Retract each deleted line; a deleted character reply loses its other parts too."""
        engine = self.bot.engine
        chat = await engine.find_chat(str(channel_id))
        if chat is None:
            return
        for message_id in message_ids:
            line = await engine.find_message(chat.chat_id, str(message_id))
            if line is None or line.retracted:
                continue
            person = line.role != "character"
            actor = Actor(user_id=line.author_id if person else str(self.bot.user.id if self.bot.user else "bot"),
                          guild_id=str(guild_id), display_name="" if person else "moderator", is_admin=not person)
            await engine.retract_message(actor, str(channel_id), line.message_id)
            others = [int(i) for i in line.discord_ids if int(i) != message_id]
            channel = self.bot.get_channel(channel_id)
            if others and isinstance(channel, (discord.TextChannel, discord.Thread)):
                await self.bot.poster.delete_ids(channel, others)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """Once per process: record messages posted while the bot was away; the newest gets a reply."""
        if self._backfilled:
            return
        self._backfilled = True
        for chat in await self.bot.engine.list_chats(open_only=True):
            try:
                await self._backfill(chat)
            except discord.HTTPException as exc:
                log.warning("backfill_failed", chat=chat.chat_id, channel=chat.channel_id, code=exc.code)

    async def _backfill(self, chat: ChatView) -> None:
        """Queue a chat's missed messages in order: all recorded, the newest answered."""
        channel = self.bot.get_channel(int(chat.channel_id))
        if not isinstance(channel, (discord.TextChannel, discord.Thread)):
            return
        lines = await self.bot.engine.transcript(chat.chat_id, limit=50, include_retracted=True)
        known = [int(i) for line in lines for i in (line.discord_ids or (line.message_id,)) if str(i).isdigit()]
        if not known:
            return
        missed: list[discord.Message] = []
        async for message in channel.history(after=discord.Object(max(known)), oldest_first=True,
                                             limit=BACKFILL_LIMIT):
            if story_text(message) is not None:
                missed.append(message)
        log.info("backfill", chat=chat.chat_id, channel=channel.id, messages=len(missed))
        for index, message in enumerate(missed):
            reply = index == len(missed) - 1
            self.bot.queues.post(channel.id, _job(self.respond, message, reply))


def _job(respond: Any, message: discord.Message, reply: bool) -> Any:
    """A queue job bound to one message (avoids late binding in loops)."""
    return lambda: respond(message, reply=reply)


async def setup(bot: ChronicleBot) -> None:
    """Add the cog."""
    await bot.add_cog(Roleplay(bot))
