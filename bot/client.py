"""The Discord bot: holds the engine, loads the cogs, syncs the slash commands."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING, Any

import discord
import structlog
from discord.ext import commands

from bot.posting import CharacterPoster, Posted
from bot.queues import ArrivalOrder
from bot.tree import ChronicleTree
from engine import Engine, MessageView

if TYPE_CHECKING:
    from bot.doctor import ModelTarget

log = structlog.get_logger(__name__)

EXTENSIONS: tuple[str, ...] = (
    "bot.cogs.characters",
    "bot.cogs.lore",
    "bot.cogs.chats",
    "bot.cogs.world",
    "bot.cogs.story",
    "bot.cogs.narration",
    "bot.cogs.admin",
    "bot.cogs.roleplay",
)
_HANDLED_MAX = 5000


def intents(message_content: bool = True) -> discord.Intents:
    """Guilds, guild messages and message content: all Chronicle needs (the doctor may go without content)."""
    wanted = discord.Intents.none()
    wanted.guilds = True
    wanted.guild_messages = True
    wanted.message_content = message_content
    return wanted


class ChronicleBot(commands.Bot):
    """Chronicle on Discord: a thin layer that turns slash commands and messages into engine calls."""

    def __init__(self, engine: Engine, *, admin_role_ids: Iterable[int] = (), sync_guild_ids: Iterable[int] = (),
                 stream_interval: float = 1.0, sync_on_start: bool = True, message_content: bool = True,
                 model_target: ModelTarget | None = None, **options: Any) -> None:
        super().__init__(command_prefix=commands.when_mentioned, intents=intents(message_content),
                         tree_cls=ChronicleTree,
                         help_command=None, allowed_mentions=discord.AllowedMentions.none(), **options)
        self.engine = engine
        self.admin_role_ids: Collection[int] = frozenset(admin_role_ids)
        self.sync_guild_ids: tuple[int, ...] = tuple(sync_guild_ids)
        self.stream_interval = stream_interval
        self.sync_on_start = sync_on_start
        self.model_target = model_target
        self.arrivals = ArrivalOrder()
        self.backfill_done = asyncio.Event()
        self.poster = CharacterPoster(self)
        self.self_deleted: set[int] = set()
        self.latest_replies: dict[int, Posted] = {}
        self._handled: OrderedDict[int, None] = OrderedDict()

    async def setup_hook(self) -> None:
        """Load the extensions, register the reply buttons, hold story channels until their backfill, sync."""
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        from bot.views import GreetingButton, ReplyButton, ReplyButtons

        self.add_view(ReplyButtons())  # buttons on replies posted before they named their reply
        self.add_dynamic_items(ReplyButton, GreetingButton)
        for chat in await self.engine.list_chats(open_only=True):  # live messages wait for the backfill
            if chat.channel_id.isdigit():
                self.arrivals.hold(int(chat.channel_id))
        if self.sync_on_start:
            await self.sync_commands()

    async def sync_commands(self) -> None:
        """Sync to CHRONICLE_SYNC_GUILD_IDS when set (instant), else globally (may take an hour to show)."""
        if self.sync_guild_ids:
            for guild_id in self.sync_guild_ids:
                guild = discord.Object(guild_id)
                self.tree.copy_global_to(guild=guild)
                synced = await self.tree.sync(guild=guild)
                log.info("commands_synced", guild=guild_id, count=len(synced))
        else:
            synced = await self.tree.sync()
            log.info("commands_synced", scope="global", count=len(synced))

    def reply_view(self, reply: MessageView, greeting: tuple[int, int] | None = None) -> discord.ui.View:
        """The buttons shown on a channel's latest character reply (they name that reply and its revision); an
        opening greeting with others to choose from (`greeting` = (shown, how many)) gets ◀ ▶ to swipe them."""
        from bot.views import reply_buttons

        return reply_buttons(reply.message_id, reply.revision, greeting=greeting)

    async def show_reply_buttons(self, channel: Any, reply: MessageView,
                                 greeting: tuple[int, int] | None = None) -> None:
        """Put the buttons on a just-recorded reply's last message; the previous reply loses them."""
        if not reply.discord_ids or not isinstance(channel, discord.TextChannel | discord.Thread):
            return
        posted = Posted(int(reply.discord_ids[-1]), channel, self.poster.can_use_webhooks(channel))
        await self.poster.set_view(posted, self.reply_view(reply, greeting))
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
