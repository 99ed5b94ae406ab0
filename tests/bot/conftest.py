"""Fixtures for bot tests: the loopback fake Discord."""

from tests.fakes.discord.fixtures import fake_discord, fake_discord_world

__all__ = ["fake_discord", "fake_discord_world"]
