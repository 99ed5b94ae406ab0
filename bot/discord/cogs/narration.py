"""/reply: regenerate or continue the channel's latest character reply (also buttons on the reply)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.streaming import revise_latest

if TYPE_CHECKING:
    from bot.discord.client import ChronicleBot


class Replies(commands.Cog):
    """Rewriting the narrator's latest reply."""

    reply = app_commands.Group(name="reply", description="The latest character reply", guild_only=True)

    def __init__(self, bot: ChronicleBot) -> None:
        self.bot = bot

    @reply.command(name="regenerate", description="Rewrite the latest character reply")
    async def reply_regenerate(self, interaction: discord.Interaction) -> None:
        """Regenerate the latest reply."""
        await revise_latest(self.bot, interaction, "regenerate")

    @reply.command(name="continue", description="Let the character keep talking")
    async def reply_continue(self, interaction: discord.Interaction) -> None:
        """Continue the latest reply."""
        await revise_latest(self.bot, interaction, "continue")


async def setup(bot: ChronicleBot) -> None:
    """Add the cog."""
    await bot.add_cog(Replies(bot))
