"""In-memory world of the fake Discord: users, guilds, roles, members, channels, messages, webhooks."""

from __future__ import annotations

import itertools
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

DISCORD_EPOCH_MS = 1420070400000

# Permission bits (https://discord.com/developers/docs/topics/permissions).
ADD_REACTIONS = 1 << 6
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MANAGE_ROLES = 1 << 28
MANAGE_WEBHOOKS = 1 << 29
USE_APPLICATION_COMMANDS = 1 << 31
MANAGE_THREADS = 1 << 34
CREATE_PUBLIC_THREADS = 1 << 35
SEND_MESSAGES_IN_THREADS = 1 << 38
ALL_PERMISSIONS = (1 << 53) - 1

EVERYONE_PERMISSIONS = (
    VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | READ_MESSAGE_HISTORY
    | ADD_REACTIONS | USE_APPLICATION_COMMANDS | CREATE_PUBLIC_THREADS | SEND_MESSAGES_IN_THREADS
)
BOT_PERMISSIONS = EVERYONE_PERMISSIONS | MANAGE_MESSAGES | MANAGE_WEBHOOKS | MANAGE_THREADS | MANAGE_CHANNELS

# Channel types.
GUILD_TEXT = 0
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12

_counter = itertools.count()


def snowflake() -> int:
    """Return a new, strictly increasing snowflake id."""
    ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
    return (ms << 22) | (next(_counter) & 0x3FFFFF)


def guild_id_on_shard(shard_id: int, shard_count: int) -> int:
    """A new snowflake whose guild would be on `shard_id` of `shard_count` (its milliseconds picked to fit)."""
    base = snowflake()
    ms = (base >> 22) + (shard_id - (base >> 22)) % shard_count
    return (ms << 22) | (base & 0x3FFFFF)


def now_iso() -> str:
    """Return the current UTC time in Discord's ISO 8601 format."""
    return datetime.now(timezone.utc).isoformat()


def new_token() -> str:
    """Return a random URL-safe token."""
    return secrets.token_urlsafe(24).replace("-", "x").replace("_", "y")


@dataclass
class FakeUser:
    """A Discord user (a person, the bot, or a webhook's pseudo-user)."""

    name: str
    id: int = field(default_factory=snowflake)
    bot: bool = False
    avatar: str | None = None

    def payload(self) -> dict[str, Any]:
        """Return the user object as Discord sends it."""
        return {
            "id": str(self.id), "username": self.name, "global_name": self.name,
            "discriminator": "0", "avatar": self.avatar, "bot": self.bot,
            "public_flags": 0, "flags": 0, "banner": None, "accent_color": None,
        }


@dataclass
class FakeRole:
    """A guild role with a permissions bitfield."""

    guild_id: int
    name: str
    permissions: int = 0
    id: int = field(default_factory=snowflake)
    position: int = 1
    managed: bool = False

    def payload(self) -> dict[str, Any]:
        """Return the role object as Discord sends it."""
        return {
            "id": str(self.id), "name": self.name, "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False, "icon": None, "unicode_emoji": None, "position": self.position,
            "permissions": str(self.permissions), "managed": self.managed, "mentionable": False,
            "flags": 0,
        }


@dataclass
class FakeMember:
    """A member of one guild: a user plus roles."""

    guild_id: int
    user: FakeUser
    role_ids: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=now_iso)

    @property
    def id(self) -> int:
        """The user's id."""
        return self.user.id

    @property
    def name(self) -> str:
        """The user's name."""
        return self.user.name

    def payload(self, *, with_user: bool = True, permissions: int | None = None) -> dict[str, Any]:
        """Return the member object as Discord sends it."""
        data: dict[str, Any] = {
            "roles": [str(r) for r in self.role_ids], "nick": self.nick, "avatar": None,
            "banner": None, "joined_at": self.joined_at, "premium_since": None, "deaf": False,
            "mute": False, "pending": False, "flags": 0, "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = self.user.payload()
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data


@dataclass
class FakeChannel:
    """A guild text channel or a thread (a thread has a parent_id)."""

    guild_id: int
    name: str
    type: int = GUILD_TEXT
    parent_id: int | None = None
    owner_id: int | None = None
    id: int = field(default_factory=snowflake)
    position: int = 0
    topic: str | None = None
    overwrites: list[dict[str, Any]] = field(default_factory=list)
    last_message_id: int | None = None

    @property
    def is_thread(self) -> bool:
        """Whether this channel is a thread."""
        return self.type in (PUBLIC_THREAD, PRIVATE_THREAD)

    def payload(self) -> dict[str, Any]:
        """Return the channel object as Discord sends it."""
        last = str(self.last_message_id) if self.last_message_id else None
        base: dict[str, Any] = {
            "id": str(self.id), "type": self.type, "guild_id": str(self.guild_id),
            "name": self.name, "last_message_id": last, "rate_limit_per_user": 0, "flags": 0,
        }
        if self.is_thread:
            base.update({
                "parent_id": str(self.parent_id), "owner_id": str(self.owner_id or 0),
                "message_count": 0, "member_count": 1, "total_message_sent": 0,
                "thread_metadata": {
                    "archived": False, "auto_archive_duration": 1440, "archive_timestamp": now_iso(),
                    "locked": False, "invitable": True, "create_timestamp": now_iso(),
                },
            })
            return base
        base.update({
            "position": self.position, "permission_overwrites": self.overwrites,
            "parent_id": str(self.parent_id) if self.parent_id else None, "topic": self.topic,
            "nsfw": False, "default_auto_archive_duration": 1440,
            "default_thread_rate_limit_per_user": 0,
        })
        return base


@dataclass
class FakeWebhook:
    """A channel webhook (type 1) with its token."""

    guild_id: int
    channel_id: int
    name: str
    creator_id: int
    avatar: str | None = None
    id: int = field(default_factory=snowflake)
    token: str = field(default_factory=new_token)
    application_id: int | None = None

    def payload(self, creator: FakeUser | None = None) -> dict[str, Any]:
        """Return the webhook object as Discord sends it."""
        data: dict[str, Any] = {
            "id": str(self.id), "type": 1, "guild_id": str(self.guild_id),
            "channel_id": str(self.channel_id), "name": self.name, "avatar": self.avatar,
            "token": self.token,
            "application_id": str(self.application_id) if self.application_id else None,
        }
        if creator is not None:
            data["user"] = creator.payload()
        return data


@dataclass
class FakeMessage:
    """A stored message; `author` is the user object as Discord sends it."""

    channel_id: int
    guild_id: int | None
    author: dict[str, Any]
    content: str = ""
    id: int = field(default_factory=snowflake)
    embeds: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    flags: int = 0
    type: int = 0
    webhook_id: int | None = None
    application_id: int | None = None
    avatar_url: str | None = None
    member: dict[str, Any] | None = None
    interaction_metadata: dict[str, Any] | None = None
    message_reference: dict[str, Any] | None = None
    tts: bool = False
    nonce: str | int | None = None
    timestamp: str = field(default_factory=now_iso)
    edited_timestamp: str | None = None
    deleted: bool = False

    @property
    def username(self) -> str:
        """The author's display name (a webhook's per-message username)."""
        return str(self.author.get("username", ""))

    @property
    def ephemeral(self) -> bool:
        """Whether the message carries the EPHEMERAL flag (64)."""
        return bool(self.flags & 64)

    def payload(self) -> dict[str, Any]:
        """Return the message object as Discord sends it."""
        data: dict[str, Any] = {
            "id": str(self.id), "channel_id": str(self.channel_id), "author": self.author,
            "content": self.content, "timestamp": self.timestamp,
            "edited_timestamp": self.edited_timestamp, "tts": self.tts,
            "mention_everyone": False, "mentions": [], "mention_roles": [],
            "attachments": self.attachments, "embeds": self.embeds, "components": self.components,
            "pinned": False, "type": self.type, "flags": self.flags, "reactions": [],
        }
        if self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        if self.webhook_id is not None:
            data["webhook_id"] = str(self.webhook_id)
        if self.application_id is not None:
            data["application_id"] = str(self.application_id)
        if self.member is not None:
            data["member"] = self.member
        if self.interaction_metadata is not None:
            data["interaction_metadata"] = self.interaction_metadata
        if self.message_reference is not None:
            data["message_reference"] = self.message_reference
        if self.nonce is not None:
            data["nonce"] = self.nonce
        return data


@dataclass
class FakeGuild:
    """A guild with its roles, members, channels and threads."""

    name: str
    owner_id: int
    id: int = field(default_factory=snowflake)
    roles: dict[int, FakeRole] = field(default_factory=dict)
    members: dict[int, FakeMember] = field(default_factory=dict)
    channels: dict[int, FakeChannel] = field(default_factory=dict)

    def permissions_for(self, member: FakeMember, channel: FakeChannel | None = None) -> int:
        """Compute a member's permissions, applying the channel's (or thread parent's) overwrites."""
        if member.id == self.owner_id:
            return ALL_PERMISSIONS
        everyone = self.roles[self.id]
        perms = everyone.permissions
        for role_id in member.role_ids:
            perms |= self.roles[role_id].permissions
        if perms & ADMINISTRATOR:
            return ALL_PERMISSIONS
        if channel is not None and channel.is_thread and channel.parent_id in self.channels:
            channel = self.channels[channel.parent_id]
        if channel is None:
            return perms
        return _apply_overwrites(perms, channel.overwrites, self.id, member)

    def payload(self, *, bot_user_id: int, app_id: int) -> dict[str, Any]:
        """Return the GUILD_CREATE payload for this guild."""
        channels = [c.payload() for c in self.channels.values() if not c.is_thread]
        threads = [c.payload() for c in self.channels.values() if c.is_thread]
        return {
            "id": str(self.id), "name": self.name, "icon": None, "splash": None,
            "discovery_splash": None, "banner": None, "description": None,
            "owner_id": str(self.owner_id), "region": "us-west", "afk_channel_id": None,
            "afk_timeout": 300, "verification_level": 0, "default_message_notifications": 0,
            "explicit_content_filter": 0, "roles": [r.payload() for r in self.roles.values()],
            "emojis": [], "stickers": [], "features": [], "mfa_level": 0, "application_id": None,
            "system_channel_id": None, "system_channel_flags": 0, "rules_channel_id": None,
            "vanity_url_code": None, "premium_tier": 0, "premium_subscription_count": 0,
            "preferred_locale": "en-US", "public_updates_channel_id": None, "nsfw_level": 0,
            "premium_progress_bar_enabled": False, "max_members": 500000, "max_video_channel_users": 25,
            "joined_at": now_iso(), "large": False, "unavailable": False,
            "member_count": len(self.members), "voice_states": [], "presences": [],
            "members": [m.payload() for m in self.members.values()], "channels": channels,
            "threads": threads, "stage_instances": [], "guild_scheduled_events": [],
            "soundboard_sounds": [], "safety_alerts_channel_id": None,
        }


def _apply_overwrites(perms: int, overwrites: list[dict[str, Any]], guild_id: int, member: FakeMember) -> int:
    """Apply @everyone, role and member overwrites in Discord's order."""
    by_id = {int(o["id"]): o for o in overwrites}
    if guild_id in by_id:
        perms = (perms & ~int(by_id[guild_id]["deny"])) | int(by_id[guild_id]["allow"])
    allow = deny = 0
    for role_id in member.role_ids:
        o = by_id.get(role_id)
        if o is not None and o.get("type", 0) == 0:
            allow |= int(o["allow"])
            deny |= int(o["deny"])
    perms = (perms & ~deny) | allow
    o = by_id.get(member.id)
    if o is not None:
        perms = (perms & ~int(o["deny"])) | int(o["allow"])
    return perms


@dataclass(frozen=True)
class FakeDiscordWorld:
    """The default world: one guild, its "general" channel, an admin (Manage Server) and a plain member."""

    guild: FakeGuild
    channel: FakeChannel
    admin: FakeMember
    member: FakeMember
