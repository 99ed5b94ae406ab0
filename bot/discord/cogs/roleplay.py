"""Roleplay in the channel: people's messages → engine.respond in Discord's arrival order; edits and deletes
reach the log; messages posted while the bot was away are backfilled at start-up and after a lost session."""

from __future__ import annotations

import asyncio
import functools
import re
from collections import deque
from datetime import datetime
from typing import TYPE_CHECKING, Any

import discord
import structlog
from discord.ext import commands

from bot.discord.checks import actor_for_member
from bot.discord.errors import describe, report_message_error
from bot.discord.posting import Target
from bot.discord.streaming import DiscordReplySink
from engine import Actor, AlreadyHandled, ChatView, DomainError, MessageView, NoStory, RespondResult, SlowDown, heap
from engine.commands import AnswerLine, EditMessage, EndChat, RetractDeletedMessage, SayLine

if TYPE_CHECKING:
    from bot.discord.client import ChronicleBot

log = structlog.get_logger(__name__)

OUT_OF_CHARACTER = ("((", "//")
BACKFILL_LIMIT = 200
BACKFILL_CHANNELS_AT_ONCE = 4  # a channel waiting behind a long reply does not hold up the others
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


def snowflake_at(iso_time: str | None) -> int:
    """The smallest Discord id of a message posted at `iso_time` (the story's start), 0 when unknown."""
    if not iso_time:
        return 0
    return discord.utils.time_snowflake(datetime.fromisoformat(iso_time))


class Roleplay(commands.Cog):
    """Turns people's channel messages into story lines and character replies."""

    def __init__(self, bot: ChronicleBot) -> None:
        self.bot = bot
        self._backfilling = asyncio.Lock()

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Hand a person's in-character line to the engine, in the channel's arrival order."""
        if message.guild is None:
            return
        if mentions_only(message, self.bot.user):
            await message.reply(HELP, mention_author=False)
        elif story_text(message) is not None:
            self.bot.arrivals.admit(message.channel.id, lambda: self._respond(message))

    def _respond(self, message: discord.Message, *, reply: bool = True) -> Any:
        """Submit the line to the engine now (keeping order); return what is left to await."""
        text = story_text(message)
        channel = message.channel
        if text is None or message.guild is None or not isinstance(channel, (discord.TextChannel, discord.Thread)):
            return None
        if not self.bot.first_time(message.id):
            return None
        actor = actor_for_member(message.author, message.guild.id, self.bot.admin_role_ids)
        if not reply:
            said = SayLine(actor=actor, channel_id=str(channel.id), message_id=str(message.id), text=text)
            return self._settle(message, self.bot.engine.perform(said, cause=f"message:{message.id}"), None)
        sink = DiscordReplySink(self.bot, channel)
        replied = message.reference.message_id if message.reference is not None else None
        line = AnswerLine(actor=actor, channel_id=str(channel.id), message_id=str(message.id), text=text,
                          reply_to=str(replied) if replied is not None else None)
        return self._settle(message, self.bot.engine.perform(line, sink=sink, cause=f"message:{message.id}"), sink)

    async def _settle(self, message: discord.Message, pending: Any, sink: DiscordReplySink | None) -> None:
        """Wait for the engine; put the buttons on the newest reply; errors go through the funnel."""
        try:
            result = await pending
            if isinstance(result, RespondResult) and result.replies:
                await self.bot.show_reply_buttons(message.channel, result.replies[-1])
        except (NoStory, AlreadyHandled):
            pass  # not a story channel, or a repeat delivery that was handled the first time
        except SlowDown as exc:
            await message.reply(f"⏳ {exc}", mention_author=False)
        except Exception as exc:  # noqa: BLE001 — the funnel logs unexpected errors with an id
            await report_message_error(message, exc)
        finally:
            if sink is not None:
                await sink.close()

    @commands.Cog.listener()
    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        """A channel was deleted under its story: the story ends, with the reason in the log."""
        await self._channel_gone(channel.guild.id, channel.id)

    @commands.Cog.listener()
    async def on_raw_thread_delete(self, payload: discord.RawThreadDeleteEvent) -> None:
        """A thread was deleted under its story."""
        await self._channel_gone(payload.guild_id, payload.thread_id)

    async def _channel_gone(self, guild_id: int, channel_id: int) -> None:
        system = Actor(user_id="chronicle", guild_id=str(guild_id), display_name="Chronicle", is_admin=True)
        ending = EndChat(actor=system, channel_id=str(channel_id), reason="the channel was deleted")
        try:
            chat = await self.bot.engine.perform(ending, cause=f"channel_gone:{channel_id}")
        except (NoStory, AlreadyHandled):
            return
        except Exception as exc:  # noqa: BLE001 — logged by the funnel with an id; nobody to answer
            describe(exc, guild=guild_id, channel=channel_id, event="channel_deleted")
            return
        log.info("story_ended_channel_deleted", chat=chat.chat_id, channel=channel_id)

    @commands.Cog.listener()
    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        """A person edited a story line: message_edited."""
        message = payload.message
        text = story_text(message) if message is not None else None
        if text is None or payload.guild_id is None or "content" not in payload.data:
            return
        actor = actor_for_member(message.author, payload.guild_id, self.bot.admin_role_ids)
        self.bot.arrivals.admit(payload.channel_id, lambda: self._quietly(
            self.bot.engine.perform(EditMessage(actor=actor, channel_id=str(payload.channel_id),
                                                message_id=str(message.id), text=text)), message.id))

    async def _quietly(self, pending: Any, message_id: int) -> None:
        """Edits and deletions of lines that are not (or no longer) in the story are only logged."""
        try:
            await pending
        except DomainError as exc:
            log.info("change_not_recorded", message=message_id, reason=str(exc))

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        """A story line was deleted: message_retracted (the bot's own deletions are skipped)."""
        self._deleted(payload.guild_id, payload.channel_id, [payload.message_id])

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        """Several lines were deleted at once."""
        self._deleted(payload.guild_id, payload.channel_id, sorted(payload.message_ids))

    def _deleted(self, guild_id: int | None, channel_id: int, message_ids: list[int]) -> None:
        """Hand each deleted message the bot did not delete itself to the engine, in the channel's arrival order:
        one queued command each, so a line said after a deletion can never overtake it."""
        ours = self.bot.self_deleted
        theirs = [i for i in message_ids if i not in ours]
        ours.difference_update(message_ids)
        if guild_id is None:
            return
        system = Actor(user_id=str(self.bot.user.id if self.bot.user else "chronicle"), guild_id=str(guild_id),
                       display_name="moderator", is_admin=True)
        for message_id in theirs:
            self.bot.arrivals.admit(channel_id, functools.partial(self._retract, system, channel_id, message_id))

    def _retract(self, actor: Actor, channel_id: int, message_id: int) -> Any:
        """Submit the retraction now (keeping order); a deleted character reply loses its other parts too."""
        pending = self.bot.engine.perform(RetractDeletedMessage(actor=actor, channel_id=str(channel_id),
                                                                message_id=str(message_id)),
                                          cause=f"deleted:{message_id}")
        return self._withdrawn(pending, channel_id, message_id)

    async def _withdrawn(self, pending: Any, channel_id: int, message_id: int) -> None:
        try:
            line = await pending
        except (NoStory, DomainError) as exc:
            log.info("change_not_recorded", message=message_id, reason=str(exc))
            return
        others = [int(i) for i in (line.discord_ids if line is not None and line.role == "character" else ())
                  if int(i) != message_id]
        channel = self.bot.get_channel(channel_id)
        if others and isinstance(channel, (discord.TextChannel, discord.Thread)):
            await self.bot.poster.delete_ids(channel, others)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """On every new gateway session (start-up, or a reconnect that could not resume, whose events are lost):
        record messages posted while the bot was away; the newest gets a reply. Only the stories of the guilds
        this process serves (its shards) are touched, a few channels at a time."""
        async with self._backfilling:
            chats = deque(await self.bot.owned_open_chats())

            async def worker() -> None:
                while chats:
                    await self._backfill_channel(chats.popleft())

            await asyncio.gather(*(worker() for _ in range(BACKFILL_CHANNELS_AT_ONCE)))
        self.bot.backfills += 1
        self.bot.backfill_done.set()
        if self.bot.settle_heap:  # a process of its own (`chronicle run`): see engine/heap.py
            log.info("heap_settled", frozen_objects=heap.settle(), session=self.bot.backfills)

    async def _backfill_channel(self, chat: ChatView) -> None:
        """Backfill one story's channel in its turn: behind the replies and commands already queued there (a
        reply still being written is not taken for one that was never recorded); live messages wait meanwhile."""
        channel_id = int(chat.channel_id) if chat.channel_id.isdigit() else 0
        self.bot.arrivals.hold(channel_id)
        try:
            channel = self.bot.get_channel(channel_id)
            if isinstance(channel, (discord.TextChannel, discord.Thread)):
                await self.bot.engine.after_story_work(chat.channel_id, lambda: self._backfill(chat, channel))
        except discord.HTTPException as exc:
            log.warning("backfill_failed", chat=chat.chat_id, channel=chat.channel_id, code=exc.code)
        except Exception as exc:  # noqa: BLE001 — one channel's failure must not stop the others' backfill
            describe(exc, chat=chat.chat_id, channel=chat.channel_id, backfill=True)
        finally:
            self.bot.arrivals.release(channel_id)

    async def _backfill(self, chat: ChatView, channel: Target) -> None:
        """Hand a chat's missed messages to the engine in order (all recorded, the newest answered), withdraw
        replies that were posted but never recorded, and answer a line left unanswered. Runs in the channel's
        story order, so every reply of this process in the channel is either recorded or withdrawn by now."""
        current = await self.bot.engine.reads.find_chat(chat.channel_id)  # the story open now: it may have ended since
        if current is None:
            return
        chat = current
        lines = await self.bot.engine.reads.transcript(chat.chat_id, limit=50, include_retracted=True)
        known = [int(i) for line in lines for i in (line.discord_ids or (line.message_id,)) if str(i).isdigit()]
        after = max(known, default=0) or snowflake_at(chat.started_at)
        missed, orphans = [], []
        hook_id = await self.bot.poster.webhook_id(channel)
        async for message in channel.history(after=discord.Object(after), oldest_first=True, limit=BACKFILL_LIMIT):
            if story_text(message) is not None:
                missed.append(message)
            elif hook_id is not None and message.webhook_id == hook_id:
                orphans.append(message.id)
        log.info("backfill", chat=chat.chat_id, channel=channel.id, messages=len(missed), withdrawn=len(orphans))
        await self.bot.poster.delete_ids(channel, orphans)
        for index, message in enumerate(missed):
            self.bot.arrivals.begin(_job(self._respond, message, index == len(missed) - 1))
        if not missed:
            await self._answer_pending(channel, chat, [line for line in lines if not line.retracted])

    async def _answer_pending(self, channel: Target, chat: ChatView, lines: list[MessageView]) -> None:
        """A person's line left unanswered (a reply failed, or the bot stopped mid-reply) is answered now."""
        if not lines or lines[-1].role != "person" or channel.guild is None:
            return
        line = lines[-1]
        actor = Actor(user_id=line.author_id, guild_id=str(channel.guild.id), display_name=line.speaker)
        sink = DiscordReplySink(self.bot, channel)
        self.bot.arrivals.begin(lambda: self._settle_pending(
            self.bot.engine.perform(AnswerLine(actor=actor, channel_id=str(channel.id), message_id=line.message_id,
                                               text=line.text), sink=sink), sink))

    async def _settle_pending(self, pending: Any, sink: DiscordReplySink) -> None:
        try:
            result = await pending
            if result.replies:
                await self.bot.show_reply_buttons(sink.channel, result.replies[-1])
        except DomainError as exc:
            log.info("pending_line_not_answered", reason=str(exc))
        except Exception as exc:  # noqa: BLE001 — logged with an id like every unexpected error
            describe(exc, channel=sink.channel.id, pending=True)
        finally:
            await sink.close()


def _job(respond: Any, message: discord.Message, reply: bool) -> Any:
    """A hand-over bound to one message (avoids late binding in loops)."""
    return lambda: respond(message, reply=reply)


async def setup(bot: ChronicleBot) -> None:
    """Add the cog."""
    await bot.add_cog(Roleplay(bot))
