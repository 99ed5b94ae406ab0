"""The Discord bot: holds the engine, loads the cogs, syncs the slash commands."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, Iterable
from typing import TYPE_CHECKING, Any

import discord
import structlog
from discord.ext import commands

from bot.discord import slash
from bot.discord.posting import CharacterPoster, Posted
from bot.discord.queues import ArrivalOrder
from bot.discord.tree import ChronicleTree
from engine import ChatView, Engine, MessageView

if TYPE_CHECKING:
    from bot.discord.doctor import ModelTarget

log = structlog.get_logger(__name__)

EXTENSIONS: tuple[str, ...] = ("bot.discord.cogs.roleplay",)  # the slash commands come from the table
_HANDLED_MAX = 5000


def intents(message_content: bool = True) -> discord.Intents:
    """Guilds, guild messages and message content: all Chronicle needs (the doctor may go without content)."""
    wanted = discord.Intents.none()
    wanted.guilds = True
    wanted.guild_messages = True
    wanted.message_content = message_content
    return wanted


IdentifyTurn = Callable[[int], Awaitable[None]]


class ChronicleBot(commands.Bot):
    """Chronicle on Discord: a thin layer that turns slash commands and messages into engine calls.

    `identify_turn(bucket)`, when given, waits for this process's turn to IDENTIFY in one of Discord's
    `max_concurrency` buckets, across every process of the bot (see `before_identify_hook`).
    """

    def __init__(self, engine: Engine, *, admin_role_ids: Iterable[int] = (), sync_guild_ids: Iterable[int] = (),
                 stream_interval: float = 1.0, sync_on_start: bool = True, message_content: bool = True,
                 model_target: ModelTarget | None = None, identify_turn: IdentifyTurn | None = None,
                 settle_heap: bool = False, **options: Any) -> None:
        super().__init__(command_prefix=commands.when_mentioned, intents=intents(message_content),
                         tree_cls=ChronicleTree,
                         help_command=None, allowed_mentions=discord.AllowedMentions.none(), **options)
        self.engine = engine
        self.identify_turn = identify_turn
        self._max_concurrency: int | None = None
        self.admin_role_ids: Collection[int] = frozenset(admin_role_ids)
        self.sync_guild_ids: tuple[int, ...] = tuple(sync_guild_ids)
        self.stream_interval = stream_interval
        self.sync_on_start = sync_on_start
        self.model_target = model_target
        self.arrivals = ArrivalOrder()
        self.backfill_done = asyncio.Event()  # the start-up backfill is done
        self.backfills = 0  # backfills done (one per new gateway session)
        self.settle_heap = settle_heap  # after each backfill: what the process holds, out of the collector's passes
        self.poster = CharacterPoster(self)
        self.self_deleted: set[int] = set()
        self.latest_replies: dict[int, Posted] = {}
        self._handled: OrderedDict[int, None] = OrderedDict()

    async def setup_hook(self) -> None:
        """Load the extensions, register the reply buttons, hold story channels until their backfill, sync."""
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        slash.install(self.tree)
        from bot.discord.buttons import GreetingButton, ReplyButton, ReplyButtons

        self.add_view(ReplyButtons())  # buttons on replies posted before they named their reply
        self.add_dynamic_items(ReplyButton, GreetingButton)
        for chat in await self.owned_open_chats():  # live messages wait for the backfill
            if chat.channel_id.isdigit():
                self.arrivals.hold(int(chat.channel_id))
        if self.sync_on_start:
            await self.sync_commands()

    def owns_guild(self, guild_id: int) -> bool:
        """Whether this process serves the guild: its shard, `(guild_id >> 22) % shard_count`, is one of ours."""
        shard_ids = getattr(self, "shard_ids", None)
        if not self.shard_count or shard_ids is None:
            return True
        return (guild_id >> 22) % self.shard_count in shard_ids

    async def owned_open_chats(self) -> list[ChatView]:
        """The open stories of the guilds this process serves (all of them when it runs every shard)."""
        chats = await self.engine.reads.list_chats(open_only=True)
        if not self.shard_count or getattr(self, "shard_ids", None) is None:
            return chats
        return [chat for chat in chats if chat.guild_id.isdigit() and self.owns_guild(int(chat.guild_id))]

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Wait for this shard's turn in its `max_concurrency` bucket, shared by every process (else the default)."""
        if self.identify_turn is None or shard_id is None:
            await super().before_identify_hook(shard_id, initial=initial)
            return
        if self._max_concurrency is None:
            _, _, limits = await self.http.get_bot_gateway()
            self._max_concurrency = max(1, int(limits.get("max_concurrency", 1)))
        bucket = shard_id % self._max_concurrency
        await self.identify_turn(bucket)
        log.info("identify_turn_taken", shard=shard_id, bucket=bucket)

    async def sync_commands(self) -> None:
        """Sync to CHRONICLE_SYNC_GUILD_IDS when set (instant), else globally (may take an hour to show).

        With the shards split across processes, each syncs the listed guilds it serves, and the owner
        of shard 0 syncs the global commands.
        """
        if self.sync_guild_ids:
            for guild_id in (g for g in self.sync_guild_ids if self.owns_guild(g)):
                guild = discord.Object(guild_id)
                self.tree.copy_global_to(guild=guild)
                synced = await self.tree.sync(guild=guild)
                log.info("commands_synced", guild=guild_id, count=len(synced))
        elif self.owns_guild(0):  # shard 0's owner (guild id 0 is on shard 0)
            synced = await self.tree.sync()
            log.info("commands_synced", scope="global", count=len(synced))

    def reply_view(self, reply: MessageView, greeting: tuple[int, int] | None = None, *,
                   others: bool = False) -> discord.ui.View:
        """The buttons shown on a channel's latest character reply (they name that reply and its revision); an
        opening greeting with others to choose from (`greeting` = (shown, how many)) gets ◀ ▶ to swipe them, and
        a reply in a cast with someone else who may speak gets Someone else."""
        from bot.discord.buttons import reply_buttons

        return reply_buttons(reply.message_id, reply.revision, greeting=greeting, others=others)

    async def show_reply_buttons(self, channel: Any, reply: MessageView,
                                 greeting: tuple[int, int] | None = None) -> None:
        """Put the buttons on a just-recorded reply's last message; the previous reply loses them."""
        if not reply.discord_ids or not isinstance(channel, discord.TextChannel | discord.Thread):
            return
        posted = Posted(int(reply.discord_ids[-1]), channel, self.poster.can_use_webhooks(channel))
        chat = await self.engine.reads.chat_by_id(reply.chat_id)
        others = any(s != reply.character_id for s in chat.speakers)
        await self.poster.set_view(posted, self.reply_view(reply, greeting, others=others))
        previous = self.latest_replies.get(channel.id)
        self.latest_replies[channel.id] = posted
        if previous is not None and previous.message_id != posted.message_id:
            await self.poster.set_view(previous, None)

    @property
    def working(self) -> bool:
        """Whether handed-over channel work or story work is still running."""
        return self.arrivals.busy or self.engine.serial.busy

    async def join_work(self, timeout: float = 30.0) -> None:
        """Wait until channel work and story work are done (for shutdown and tests)."""
        while self.working:
            await self.arrivals.join(timeout)
            await self.engine.serial.join(timeout)

    def first_time(self, message_id: int) -> bool:
        """True the first time a message id is seen by this process (gateway replays and backfill overlap)."""
        if message_id in self._handled:
            return False
        self._handled[message_id] = None
        while len(self._handled) > _HANDLED_MAX:
            self._handled.popitem(last=False)
        return True

    async def on_message(self, message: discord.Message, /) -> None:
        """No prefix commands: the roleplay cog listens for story messages."""

    async def close(self) -> None:
        """Stop story work first (partial replies are withdrawn while Discord is still reachable), then
        disconnect."""
        await self.engine.stop()
        await self.arrivals.close()
        await super().close()


class ShardedChronicleBot(ChronicleBot, commands.AutoShardedBot):
    """ChronicleBot over discord.py's AutoShardedBot: every shard, or one process's block of them."""


def make_bot(engine: Engine, *, shard_count: int | None = None, shard_ids: Iterable[int] | None = None,
             **options: Any) -> ChronicleBot:
    """A plain bot (one gateway connection), or a sharded one when `shard_count` is given."""
    if shard_count is None:
        return ChronicleBot(engine, **options)
    ids = sorted(shard_ids) if shard_ids is not None else None
    return ShardedChronicleBot(engine, shard_count=shard_count, shard_ids=ids, **options)
