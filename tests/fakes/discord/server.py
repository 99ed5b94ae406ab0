"""`FakeDiscord`: the loopback fake Discord plus the test-driver API (world building, users acting, waiting)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import Any

from .core import FakeDiscordCore
from .driver_interactions import InteractionDriver
from .faults import FaultDriver
from .gateway import INTENT_GUILD_MESSAGE_TYPING, INTENT_GUILDS
from .http_util import cdn_filename
from .world import (
    BOT_PERMISSIONS,
    EVERYONE_PERMISSIONS,
    MANAGE_GUILD,
    PRIVATE_THREAD,
    PUBLIC_THREAD,
    FakeChannel,
    FakeDiscordWorld,
    FakeGuild,
    FakeMember,
    FakeMessage,
    FakeRole,
    FakeUser,
    FakeWebhook,
    guild_id_on_shard,
)

INTENT_GUILD_MEMBERS = 1 << 1


class FakeDiscord(FaultDriver, InteractionDriver, FakeDiscordCore):
    """A loopback Discord (REST + gateway) that the real discord.py talks to, driven by tests."""

    _world: FakeDiscordWorld | None = None

    @property
    def world(self) -> FakeDiscordWorld:
        """The default world made by `add_default_world`."""
        if self._world is None:
            raise LookupError("call add_default_world() first (the fake_discord fixture does)")
        return self._world

    def add_default_world(self) -> FakeDiscordWorld:
        """Add "Test Guild" with "general", an admin ("Ada", MANAGE_GUILD) and a plain member ("Bob")."""
        guild = self.add_guild("Test Guild")
        channel = self.add_channel(guild, "general")
        admin = self.add_member(guild, "Ada", permissions=MANAGE_GUILD)
        member = self.add_member(guild, "Bob")
        self._world = FakeDiscordWorld(guild, channel, admin, member)
        return self._world

    async def __aenter__(self) -> FakeDiscord:
        """Start the server."""
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        """Stop the server."""
        await self.close()

    @contextlib.contextmanager
    def patch_discord(self) -> Iterator[None]:
        """Point discord.py's REST base and default gateway at this server; restore them afterwards."""
        import discord.gateway
        import discord.http
        import yarl

        old_base, old_gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        discord.http.Route.BASE = self.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        try:
            yield
        finally:
            discord.http.Route.BASE = old_base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    # --- building the world ------------------------------------------------------------------

    def add_guild(self, name: str, *, shard: tuple[int, int] | None = None) -> FakeGuild:
        """Add a guild with @everyone, the bot's role and member, and its owner as a member.

        `shard=(id, count)` picks a guild id on that shard (`(guild_id >> 22) % count == id`).
        """
        guild = FakeGuild(name=name, owner_id=self.owner_user.id)
        if shard is not None:
            guild.id = guild_id_on_shard(*shard)
        guild.roles[guild.id] = FakeRole(guild.id, "@everyone", EVERYONE_PERMISSIONS, id=guild.id, position=0)
        bot_role = FakeRole(guild.id, self.bot_user.name, BOT_PERMISSIONS, position=1, managed=True)
        guild.roles[bot_role.id] = bot_role
        guild.members[self.bot_user.id] = FakeMember(guild.id, self.bot_user, [bot_role.id])
        guild.members[self.owner_user.id] = FakeMember(guild.id, self.owner_user)
        self.guilds[guild.id] = guild
        self.gateway.queue("GUILD_CREATE", self.guild_create_payload(guild), intent=INTENT_GUILDS)
        return guild

    def add_role(self, guild: FakeGuild, name: str, permissions: int = 0) -> FakeRole:
        """Add a role with a permissions bitfield."""
        role = FakeRole(guild.id, name, permissions, position=len(guild.roles))
        guild.roles[role.id] = role
        self.gateway.queue("GUILD_ROLE_CREATE", {"guild_id": str(guild.id), "role": role.payload()}, intent=INTENT_GUILDS)
        return role

    def add_member(self, guild: FakeGuild, name: str, *, permissions: int = 0,
                   roles: Sequence[FakeRole] = (), bot: bool = False) -> FakeMember:
        """Add a member; `permissions` (if any) are granted through a new role of their own."""
        role_ids = [r.id for r in roles]
        if permissions:
            role_ids.append(self.add_role(guild, f"{name} perms", permissions).id)
        member = FakeMember(guild.id, FakeUser(name, bot=bot), role_ids)
        guild.members[member.id] = member
        self.gateway.queue("GUILD_MEMBER_ADD", {**member.payload(), "guild_id": str(guild.id)},
                           intent=INTENT_GUILD_MEMBERS)
        return member

    def add_channel(self, guild: FakeGuild, name: str, *, bot_can_manage_webhooks: bool = True,
                    topic: str | None = None) -> FakeChannel:
        """Add a text channel; `bot_can_manage_webhooks=False` denies the bot MANAGE_WEBHOOKS there."""
        channel = FakeChannel(guild_id=guild.id, name=name, topic=topic, position=len(guild.channels))
        if not bot_can_manage_webhooks:
            channel.overwrites.append({"id": str(self.bot_user.id), "type": 1, "allow": "0", "deny": str(1 << 29)})
        guild.channels[channel.id] = channel
        self.channels[channel.id] = channel
        self.gateway.queue("CHANNEL_CREATE", channel.payload(), intent=INTENT_GUILDS)
        return channel

    def deny_bot(self, channel: FakeChannel, permissions: int) -> None:
        """Take permissions (a bitfield) from the bot in one channel, as a member overwrite: CHANNEL_UPDATE."""
        for overwrite in channel.overwrites:
            if overwrite["id"] == str(self.bot_user.id):
                overwrite["deny"] = str(int(overwrite["deny"]) | permissions)
                break
        else:
            channel.overwrites.append({"id": str(self.bot_user.id), "type": 1, "allow": "0",
                                       "deny": str(permissions)})
        self.gateway.queue("CHANNEL_UPDATE", channel.payload(), intent=INTENT_GUILDS)

    def add_thread(self, channel: FakeChannel, name: str, *, owner: FakeMember | None = None,
                   private: bool = False) -> FakeChannel:
        """Add a thread under a text channel."""
        owner_id = owner.id if owner is not None else self.owner_user.id
        thread = FakeChannel(guild_id=channel.guild_id, name=name, parent_id=channel.id, owner_id=owner_id,
                             type=PRIVATE_THREAD if private else PUBLIC_THREAD)
        self.guilds[channel.guild_id].channels[thread.id] = thread
        self.channels[thread.id] = thread
        self.gateway.queue("THREAD_CREATE", {**thread.payload(), "newly_created": True}, intent=INTENT_GUILDS)
        return thread

    async def delete_channel(self, channel: FakeChannel) -> None:
        """Delete a channel or thread: CHANNEL_DELETE (THREAD_DELETE for a thread); its messages go with it."""
        guild = self.guilds[channel.guild_id]
        guild.channels.pop(channel.id, None)
        self.channels.pop(channel.id, None)
        if channel.type in (PUBLIC_THREAD, PRIVATE_THREAD):
            data = {"id": str(channel.id), "guild_id": str(channel.guild_id), "parent_id": str(channel.parent_id),
                    "type": channel.type}
            await self.gateway.dispatch("THREAD_DELETE", data, intent=INTENT_GUILDS)
        else:
            await self.gateway.dispatch("CHANNEL_DELETE", channel.payload(), intent=INTENT_GUILDS)
        self.notify()

    # --- people acting -----------------------------------------------------------------------

    def _user_message(self, channel: FakeChannel, member: FakeMember, content: str, **fields: Any) -> FakeMessage:
        """A message by a person (not yet stored)."""
        return FakeMessage(channel_id=channel.id, guild_id=channel.guild_id, author=member.user.payload(),
                           member=member.payload(with_user=False), content=content, **fields)

    async def user_says(self, channel: FakeChannel, member: FakeMember, content: str, *,
                        reply_to: FakeMessage | None = None, attachments: Sequence[tuple[str, bytes]] = ()) -> FakeMessage:
        """A person posts a message: stored and dispatched as MESSAGE_CREATE."""
        message = self._user_message(channel, member, content)
        if reply_to is not None:
            message.type = 19
            message.message_reference = {"message_id": str(reply_to.id), "channel_id": str(reply_to.channel_id),
                                         "guild_id": str(channel.guild_id)}
        for given, data in attachments:
            att_id, filename = str(self.new_id()), cdn_filename(given)
            self.attachment_bytes[att_id] = bytes(data)
            url = f"{self.base_url}/attachments/{att_id}/{filename}"
            message.attachments.append({"id": att_id, "filename": filename, "size": len(data), "url": url,
                                        "proxy_url": url, "content_type": "application/octet-stream"})
        return await self.store_message(message)

    def post_message_while_offline(self, channel: FakeChannel, member: FakeMember, content: str) -> FakeMessage:
        """A person's message that is stored but never dispatched (for backfill tests)."""
        message = self._user_message(channel, member, content)
        self.messages[message.id] = message
        self.edits.setdefault(message.id, [])
        channel.last_message_id = message.id
        return message

    async def user_edits(self, message: FakeMessage, content: str) -> FakeMessage:
        """A person edits their message: MESSAGE_UPDATE."""
        return await self.update_message(message, {"content": content})

    async def user_deletes(self, message: FakeMessage) -> None:
        """A person (or a moderator) deletes a message: MESSAGE_DELETE."""
        await self.remove_message(message)

    async def user_types(self, channel: FakeChannel, member: FakeMember) -> None:
        """A person starts typing: TYPING_START."""
        data = {"channel_id": str(channel.id), "guild_id": str(channel.guild_id), "user_id": str(member.id),
                "timestamp": 0, "member": member.payload()}
        await self.gateway.dispatch("TYPING_START", data, intent=INTENT_GUILD_MESSAGE_TYPING)

    # --- inspecting --------------------------------------------------------------------------

    def messages_in(self, channel: FakeChannel, *, include_ephemeral: bool = False) -> list[FakeMessage]:
        """Live messages in a channel or thread, oldest first (webhook ones carry their per-message username)."""
        if include_ephemeral:
            found = [m for m in self.messages.values() if m.channel_id == channel.id and not m.deleted]
            return sorted(found, key=lambda m: m.id)
        return self.channel_history(channel.id)

    def edits_of(self, message: FakeMessage | int) -> list[dict[str, Any]]:
        """Each edit of a message in order: {"at", "content", "embeds", "attachments"}."""
        message_id = message.id if isinstance(message, FakeMessage) else int(message)
        return list(self.edits.get(message_id, []))

    def typing_events(self, channel: FakeChannel) -> list[float]:
        """Monotonic times at which the bot triggered typing in a channel."""
        return [t for channel_id, _, t in self.typing if channel_id == channel.id]

    def registered_commands(self, guild: FakeGuild | None = None) -> list[dict[str, Any]]:
        """Commands the bot registered globally (guild=None) or in a guild."""
        return list(self.commands.get(guild.id if guild is not None else None, []))

    def webhooks_in(self, channel: FakeChannel) -> list[FakeWebhook]:
        """Webhooks of a channel."""
        return [w for w in self.webhooks.values() if w.channel_id == channel.id]

    def add_webhook(self, channel: FakeChannel, name: str, *, creator: FakeMember | None = None) -> FakeWebhook:
        """Create a webhook server-side (as if a person had made it)."""
        creator_id = creator.id if creator is not None else self.owner_user.id
        hook = FakeWebhook(guild_id=channel.guild_id, channel_id=channel.id, name=name, creator_id=creator_id)
        self.webhooks[hook.id] = hook
        return hook

    # --- connection ----------------------------------------------------------------------------

    async def wait_until_ready(self, timeout: float = 5.0) -> None:
        """Wait until the bot has identified and is connected."""
        await self.wait_for(lambda: self.gateway.identify_count > 0 and self.gateway.connected, timeout)

    async def disconnect_bot(self, code: int = 4000) -> None:
        """Drop the bot's websocket with a resumable close code; it should reconnect and RESUME."""
        await self.gateway.disconnect(code)
        self.notify()

    async def invalidate_session(self) -> None:
        """Drop the bot's socket and forget its session: RESUME fails with INVALID_SESSION, then it IDENTIFYs again."""
        await self.gateway.invalidate()
        self.notify()

    async def wait_for_identify(self, count: int = 2, timeout: float = 10.0) -> None:
        """Wait until the bot has identified `count` times in total and is connected again."""
        await self.wait_for(lambda: self.gateway.identify_count >= count and self.gateway.connected, timeout)

    async def wait_for_resume(self, count: int = 1, timeout: float = 10.0) -> None:
        """Wait until the bot has resumed `count` times in total and is connected again."""
        await self.wait_for(lambda: self.gateway.resume_count >= count and self.gateway.connected, timeout)
