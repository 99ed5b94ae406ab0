"""Who is acting, whether they are an admin, and checks whose failures carry text for the person."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TypeVar

import discord
from discord import app_commands

from engine import Actor

T = TypeVar("T")
NOT_ADMIN = "Only server admins (Manage Server, or a Chronicle admin role) can do that."
GUILD_ONLY = "Chronicle works inside a server's channels, not in direct messages."


class NotAdmin(app_commands.CheckFailure):
    """The person is neither a Manage Server member nor in an admin role."""

    def __init__(self) -> None:
        super().__init__(NOT_ADMIN)


class GuildOnly(app_commands.CheckFailure):
    """The command was used outside a server."""

    def __init__(self) -> None:
        super().__init__(GUILD_ONLY)


def member_is_admin(member: discord.abc.User, admin_role_ids: Collection[int],
                    permissions: discord.Permissions | None = None) -> bool:
    """Manage Server (or Administrator) in the guild, or a configured admin role."""
    if not isinstance(member, discord.Member):
        return False
    perms = permissions if permissions is not None else member.guild_permissions
    if perms.manage_guild or perms.administrator or member.guild_permissions.manage_guild:
        return True
    return any(role.id in admin_role_ids for role in member.roles)


def admin_role_ids(interaction: discord.Interaction) -> Collection[int]:
    """The configured admin roles of the bot handling this interaction."""
    return getattr(interaction.client, "admin_role_ids", frozenset())


def is_admin(interaction: discord.Interaction) -> bool:
    """Whether the invoker counts as an admin here."""
    return member_is_admin(interaction.user, admin_role_ids(interaction), interaction.permissions)


def actor_for(interaction: discord.Interaction) -> Actor:
    """The engine Actor for the invoker (raises GuildOnly outside a server)."""
    if interaction.guild_id is None:
        raise GuildOnly()
    return Actor(user_id=str(interaction.user.id), guild_id=str(interaction.guild_id),
                 display_name=interaction.user.display_name[:100], is_admin=is_admin(interaction))


def cause_of(interaction: discord.Interaction) -> str:
    """What caused a command: the interaction's id, so a repeat delivery is recorded once."""
    return f"interaction:{interaction.id}"


def actor_for_member(member: discord.abc.User, guild_id: int, admin_roles: Collection[int]) -> Actor:
    """The engine Actor for the author of a message."""
    return Actor(user_id=str(member.id), guild_id=str(guild_id), display_name=member.display_name[:100],
                 is_admin=member_is_admin(member, admin_roles))


def admin_only() -> Callable[[T], T]:
    """An app-command check: admins only (the run-time half of `default_permissions(manage_guild=True)`)."""

    def predicate(interaction: discord.Interaction) -> bool:
        """Admins pass; others get NotAdmin."""
        if interaction.guild_id is None:
            raise GuildOnly()
        if not is_admin(interaction):
            raise NotAdmin()
        return True

    return app_commands.check(predicate)
