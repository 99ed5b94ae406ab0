"""A loopback fake Discord (REST + gateway) for end-to-end tests with the real discord.py.

Point discord.py at it before `bot.start(token)`::

    discord.http.Route.BASE = fd.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fd.gateway_url)

or use `fd.patch_discord()` / the `fake_discord_bot_env` fixture which do this and undo it.
"""

from .driver_interactions import CommandNotVisible
from .interactions import InteractionRecord
from .server import FakeDiscord
from .world import (
    ADMINISTRATOR,
    MANAGE_GUILD,
    MANAGE_MESSAGES,
    MANAGE_WEBHOOKS,
    FakeChannel,
    FakeDiscordWorld,
    FakeGuild,
    FakeMember,
    FakeMessage,
    FakeRole,
    FakeUser,
    FakeWebhook,
)

__all__ = [
    "ADMINISTRATOR", "MANAGE_GUILD", "MANAGE_MESSAGES", "MANAGE_WEBHOOKS", "CommandNotVisible", "FakeChannel",
    "FakeDiscord", "FakeDiscordWorld", "FakeGuild", "FakeMember", "FakeMessage", "FakeRole", "FakeUser", "FakeWebhook",
    "InteractionRecord",
]
