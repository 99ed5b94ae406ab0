"""A ReplySink that streams a character's reply into Discord: typing while the model works, the message
edited as text arrives (at most once per interval), split at 2,000 characters, reply buttons at the end."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import discord
import structlog

from bot.discord.checks import actor_for
from bot.discord.posting import Posted, Target
from bot.discord.render import split_message
from bot.discord.replies import send_ephemeral
from engine import Actor, CharacterView
from engine.commands import ContinueReply, RegenerateReply, SomeoneElse, SwipeGreeting

if TYPE_CHECKING:
    from bot.discord.client import ChronicleBot

log = structlog.get_logger(__name__)
TYPING_REFRESH = 8.0  # Discord shows typing for about 10 seconds


@dataclass
class _Reply:
    """One character's reply as it is being shown."""

    character: CharacterView
    posted: list[Posted] = field(default_factory=list)
    shown: list[str] = field(default_factory=list)
    text: str = ""
    flushed_at: float = 0.0
    done: bool = False


class DiscordReplySink:
    """Streams replies into one channel or thread; `existing` messages are edited instead of new ones."""

    def __init__(self, bot: ChronicleBot, channel: Target, *, existing: Sequence[Posted] = (),
                 restore: str | None = None, interval: float | None = None,
                 before_first: Callable[[], Awaitable[None]] | None = None) -> None:
        self.bot = bot
        self.channel = channel
        self.interval = bot.stream_interval if interval is None else interval
        self._existing = list(existing)
        self._restore = restore if existing else None
        self._replies: dict[str, _Reply] = {}
        self._typing: asyncio.Task[None] | None = None
        self._before_first = before_first
        self.finished: list[list[Posted]] = []

    async def begin(self, character: CharacterView) -> None:
        """Show typing while the model writes for `character`."""
        if self._before_first is not None:
            first, self._before_first = self._before_first, None
            await first()
        reply = _Reply(character, posted=self._existing, shown=[""] * len(self._existing))
        self._existing = []
        self._replies[character.character_id] = reply
        if self._typing is None:
            self._typing = asyncio.create_task(self._keep_typing(), name=f"typing-{self.channel.id}")

    async def update(self, character: CharacterView, text: str) -> None:
        """New text so far: show it, no more often than the interval allows."""
        reply = self._reply(character)
        reply.text = text
        if text.strip() and time.monotonic() - reply.flushed_at >= self.interval:
            await self._flush(reply)

    async def finish(self, character: CharacterView, text: str) -> list[str]:
        """Show the final text and return its message ids (the buttons come once it is recorded)."""
        reply = self._reply(character)
        reply.text = text
        await self._flush(reply, final=True)
        self.finished.append(list(reply.posted))
        reply.done = True  # kept until the next reply begins: the record may still be refused (abort)
        if all(r.done for r in self._replies.values()):
            await self._stop_typing()
        return [str(p.message_id) for p in reply.posted]

    async def abort(self, character: CharacterView, error: Exception) -> None:
        """The reply failed (the model, Discord, or its record was refused): take back what was shown."""
        reply = self._replies.pop(character.character_id, None)
        await self._stop_typing()
        if reply is None or not reply.posted:
            return
        if self._restore is not None:  # a revision failed: put the old reply back
            reply.text, reply.shown = self._restore, [""] * len(reply.posted)
            await self._flush(reply, final=True)
            return
        for posted in reply.posted:
            await self.bot.poster.delete(posted)

    async def close(self) -> None:
        """Stop typing (for callers that end early)."""
        await self._stop_typing()

    def _reply(self, character: CharacterView) -> _Reply:
        """The reply in progress for a character (begun implicitly if the engine skipped begin)."""
        reply = self._replies.get(character.character_id)
        if reply is None or reply.done:
            reply = self._replies[character.character_id] = _Reply(character)
        return reply

    async def _flush(self, reply: _Reply, *, final: bool = False) -> None:
        """Bring the posted messages in line with the text: edit changed pieces, send new ones."""
        reply.flushed_at = time.monotonic()
        pieces = split_message(reply.text)
        poster = self.bot.poster
        for index, piece in enumerate(pieces):
            if index < len(reply.posted):
                if piece != reply.shown[index]:
                    reply.posted[index] = await poster.edit(reply.posted[index], reply.character, piece, None)
                    reply.shown[index] = piece
            else:
                reply.posted.append(await poster.send(self.channel, reply.character, piece, None))
                reply.shown.append(piece)
        if final:
            for extra in reply.posted[len(pieces):]:
                await poster.delete(extra)
            del reply.posted[len(pieces):], reply.shown[len(pieces):]

    async def _keep_typing(self) -> None:
        """Trigger typing now and every few seconds until stopped."""
        while True:
            try:
                await self.channel.typing()
            except discord.HTTPException as exc:
                log.info("typing_failed", channel=self.channel.id, code=exc.code)
            await asyncio.sleep(TYPING_REFRESH)

    async def _stop_typing(self) -> None:
        """Stop the typing refresher."""
        if self._typing is not None:
            self._typing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._typing
            self._typing = None


async def _latest_reply_sink(bot: ChronicleBot,
                             interaction: discord.Interaction) -> tuple[Actor, Target, DiscordReplySink]:
    """Acknowledge a rewrite of the channel's latest reply, and a sink that edits that reply's messages in place
    (and puts its old text back if the rewrite fails)."""
    actor = actor_for(interaction)
    channel = interaction.channel
    if not isinstance(channel, (discord.TextChannel, discord.Thread)):
        raise TypeError("replies live in text channels and threads")
    await interaction.response.defer(ephemeral=True, thinking=True)
    chat = await bot.engine.reads.get_chat(str(channel.id))
    lines = await bot.engine.reads.transcript(chat.chat_id, limit=1)
    latest = lines[-1] if lines and lines[-1].role == "character" else None
    webhooks = bot.poster.can_use_webhooks(channel)
    existing = [Posted(int(i), channel, webhooks) for i in latest.discord_ids if i.isdigit()] if latest else []
    return actor, channel, DiscordReplySink(bot, channel, existing=existing, restore=latest.text if latest else None)


async def revise_latest(bot: ChronicleBot, interaction: discord.Interaction, mode: str, *,
                        reply_id: str | None = None, revision: int | None = None) -> None:
    """Regenerate or continue the channel's latest character reply, editing its Discord messages in place.

    From a button, `reply_id` and `revision` name the reply as the person saw it: a second click (or a
    click on an older reply) changes nothing and says so.
    """
    actor, channel, sink = await _latest_reply_sink(bot, interaction)
    model = ContinueReply if mode == "continue" else RegenerateReply
    try:
        result = await bot.engine.perform(model(actor=actor, channel_id=str(channel.id), reply_id=reply_id,
                                                revision=revision), sink=sink, cause=f"interaction:{interaction.id}")
    finally:
        await sink.close()
    await bot.show_reply_buttons(channel, result)
    await send_ephemeral(interaction, "Continued the latest reply." if mode == "continue"
                         else "Rewrote the latest reply.")


async def someone_else(bot: ChronicleBot, interaction: discord.Interaction, *, reply_id: str,
                       revision: int) -> None:
    """Another cast member, picked by the chat's rule (never who just spoke), answers after that reply: posted
    as new messages under its own name."""
    actor = actor_for(interaction)
    channel = interaction.channel
    if not isinstance(channel, (discord.TextChannel, discord.Thread)):
        raise TypeError("replies live in text channels and threads")
    await interaction.response.defer(ephemeral=True, thinking=True)
    sink = DiscordReplySink(bot, channel)
    try:
        request = SomeoneElse(actor=actor, channel_id=str(channel.id), reply_id=reply_id, revision=revision)
        reply = await bot.engine.perform(request, sink=sink, cause=f"interaction:{interaction.id}")
    finally:
        await sink.close()
    await bot.show_reply_buttons(channel, reply)
    await send_ephemeral(interaction, f"**{reply.speaker}** spoke.")


async def swipe_greeting(bot: ChronicleBot, interaction: discord.Interaction, number: int, *, reply_id: str,
                         revision: int) -> None:
    """Show the host's greeting `number` as the story's opening line (editing its messages), before anyone speaks."""
    from engine import greeting_choices

    actor, channel, sink = await _latest_reply_sink(bot, interaction)
    engine = bot.engine
    try:
        result = await engine.perform(SwipeGreeting(actor=actor, channel_id=str(channel.id), number=number,
                                                    reply_id=reply_id, revision=revision),
                                      sink=sink, cause=f"interaction:{interaction.id}")
    finally:
        await sink.close()
    chat = await engine.reads.get_chat(str(channel.id))
    host = await engine.reads.character_by_id(chat.host_id)
    count = len(greeting_choices(host, group=chat.guest_id is not None)) if host else 1
    await bot.show_reply_buttons(channel, result, greeting=(number, count))
    await send_ephemeral(interaction, f"Showing greeting {number} of {count}.")
