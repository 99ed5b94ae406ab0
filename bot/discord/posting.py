"""Posting as a character: one reused webhook per channel (threads through their parent's webhook),
recreated when Discord says it is gone, and a plain message with an embed author when the bot may not
manage webhooks."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord
import structlog
from discord.utils import MISSING

from bot.discord.render import COLOUR, MESSAGE_LIMIT, clip
from engine import CharacterView

if TYPE_CHECKING:
    from bot.discord.client import ChronicleBot

log = structlog.get_logger(__name__)

WEBHOOK_NAME = "Chronicle"
UNKNOWN_WEBHOOK = 10015
NO_WEBHOOKS_NOTICE = (
    "⚠️ I can't post as characters in this channel: I need the **Manage Webhooks** permission here. "
    "Until a server admin grants it, characters speak through my own messages."
)
_RESERVED = re.compile(r"(clyde|discord)", re.IGNORECASE)
Target = discord.TextChannel | discord.Thread


@dataclass(frozen=True, slots=True)
class Posted:
    """A Discord message a character reply was posted as."""

    message_id: int
    channel: Target
    via_webhook: bool


def webhook_username(name: str) -> str:
    """A name Discord accepts for a webhook message (no 'clyde'/'discord', 1-80 characters)."""
    safe = _RESERVED.sub(lambda m: m.group(0)[0] + "\u200b" + m.group(0)[1:], name).strip()
    return clip(safe or "Character", 80)


def fallback_embed(character: CharacterView, text: str) -> discord.Embed:
    """A character's words as the bot's own message: the character in the embed author."""
    embed = discord.Embed(description=clip(text, 4096) or "…", colour=COLOUR)
    embed.set_author(name=clip(character.name, 256), icon_url=character.avatar_url or None)
    return embed


class CharacterPoster:
    """Sends, edits and deletes character messages in channels and threads."""

    def __init__(self, bot: ChronicleBot) -> None:
        self.bot = bot
        self._hooks: dict[int, discord.Webhook] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self._told: set[int] = set()

    @staticmethod
    def _parent(channel: Target) -> discord.TextChannel:
        """The channel that owns the webhook (a thread's parent)."""
        parent = channel.parent if isinstance(channel, discord.Thread) else channel
        if not isinstance(parent, discord.TextChannel):
            raise TypeError(f"channel {channel.id} can't have webhooks")
        return parent

    def can_use_webhooks(self, channel: Target) -> bool:
        """Whether the bot may manage webhooks where it posts."""
        parent = channel.parent if isinstance(channel, discord.Thread) else channel
        if not isinstance(parent, discord.TextChannel):
            return False
        return parent.permissions_for(parent.guild.me).manage_webhooks

    async def _webhook(self, parent: discord.TextChannel, *, fresh: bool = False) -> discord.Webhook:
        """The channel's Chronicle webhook: cached, found among the channel's webhooks, or created."""
        lock = self._locks.setdefault(parent.id, asyncio.Lock())
        async with lock:
            if fresh:
                self._hooks.pop(parent.id, None)
            hook = self._hooks.get(parent.id)
            if hook is None:
                me = self.bot.user
                existing = [] if fresh else await parent.webhooks()
                hook = next((h for h in existing if h.token and h.user is not None and me is not None
                             and h.user.id == me.id), None)
                if hook is None:
                    hook = await parent.create_webhook(name=WEBHOOK_NAME, reason="Chronicle posts character replies")
                    log.info("webhook_created", channel=parent.id)
                self._hooks[parent.id] = hook
            return hook

    async def webhook_id(self, channel: Target) -> int | None:
        """The id of the Chronicle webhook that posts in a channel, or None (no permission, none yet)."""
        if not self.can_use_webhooks(channel):
            return None
        parent = self._parent(channel)
        cached = self._hooks.get(parent.id)
        if cached is not None:
            return cached.id
        me = self.bot.user
        for hook in await parent.webhooks():
            if hook.token and hook.user is not None and me is not None and hook.user.id == me.id:
                self._hooks[parent.id] = hook
                return hook.id
        return None

    async def send(self, channel: Target, character: CharacterView, text: str,
                   view: discord.ui.View | None = None) -> Posted:
        """Post text as the character; returns where it went."""
        if self.can_use_webhooks(channel):
            try:
                return await self._send_webhook(channel, character, text, view)
            except discord.Forbidden:
                log.warning("webhook_forbidden", channel=channel.id)
        await self._tell_admins(channel)
        message = await channel.send(embed=fallback_embed(character, text), view=view or MISSING)
        return Posted(message.id, channel, False)

    async def _send_webhook(self, channel: Target, character: CharacterView, text: str,
                            view: discord.ui.View | None) -> Posted:
        """Send through the channel's webhook, recreating it once if Discord says it is gone."""
        parent = self._parent(channel)
        kwargs: dict[str, Any] = {"username": webhook_username(character.name), "wait": True,
                                  "avatar_url": character.avatar_url or MISSING, "view": view or MISSING}
        if isinstance(channel, discord.Thread):
            kwargs["thread"] = channel
        for attempt in (1, 2):
            hook = await self._webhook(parent, fresh=attempt == 2)
            try:
                message = await hook.send(clip(text, MESSAGE_LIMIT) or "…", **kwargs)
                return Posted(message.id, channel, True)
            except discord.NotFound as exc:
                if exc.code != UNKNOWN_WEBHOOK or attempt == 2:
                    raise
                log.info("webhook_gone_recreating", channel=parent.id)
        raise AssertionError("unreachable")

    async def edit(self, posted: Posted, character: CharacterView, text: str,
                   view: discord.ui.View | None = MISSING) -> Posted:
        """Change a posted message's text (and buttons); a message that can't be edited is posted anew."""
        try:
            if posted.via_webhook:
                hook = await self._webhook(self._parent(posted.channel))
                thread = posted.channel if isinstance(posted.channel, discord.Thread) else MISSING
                await hook.edit_message(posted.message_id, content=clip(text, MESSAGE_LIMIT) or "…", view=view,
                                        thread=thread)
            else:
                await posted.channel.get_partial_message(posted.message_id).edit(
                    embed=fallback_embed(character, text), view=view)
            return posted
        except (discord.NotFound, discord.Forbidden) as exc:
            log.info("reply_edit_failed_reposting", message=posted.message_id, code=exc.code)
            await self.delete(posted)
            return await self.send(posted.channel, character, text, view or None)

    async def set_view(self, posted: Posted, view: discord.ui.View | None) -> None:
        """Add or remove a posted message's buttons without touching its text."""
        try:
            if posted.via_webhook:
                hook = await self._webhook(self._parent(posted.channel))
                thread = posted.channel if isinstance(posted.channel, discord.Thread) else MISSING
                await hook.edit_message(posted.message_id, view=view, thread=thread)
            else:
                await posted.channel.get_partial_message(posted.message_id).edit(view=view)
        except discord.HTTPException as exc:
            log.info("reply_buttons_not_changed", message=posted.message_id, code=exc.code)

    async def delete(self, posted: Posted) -> None:
        """Delete a posted message (not treated as a person retracting it)."""
        await self.delete_ids(posted.channel, [posted.message_id])

    async def delete_ids(self, channel: Target, message_ids: list[int]) -> None:
        """Delete messages the bot posted or manages; missing ones are ignored."""
        self.bot.self_deleted.update(message_ids)
        for message_id in message_ids:
            try:
                await channel.get_partial_message(message_id).delete()
            except discord.NotFound:
                pass
            except discord.HTTPException as exc:
                log.warning("message_delete_failed", message=message_id, code=exc.code)

    async def _tell_admins(self, channel: Target) -> None:
        """Once per channel, say that Manage Webhooks is missing."""
        parent = channel.parent if isinstance(channel, discord.Thread) else channel
        key = parent.id if parent is not None else channel.id
        if key in self._told:
            return
        self._told.add(key)
        log.warning("manage_webhooks_missing", channel=key)
        try:
            await channel.send(NO_WEBHOOKS_NOTICE)
        except discord.HTTPException as exc:
            log.warning("notice_failed", channel=channel.id, code=exc.code)
