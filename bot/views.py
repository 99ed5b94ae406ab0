"""Views: the persistent reply buttons on a channel's latest character reply."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import discord

from bot.streaming import revise_latest
from bot.tree import report_error

if TYPE_CHECKING:
    from bot.client import ChronicleBot

REGENERATE_ID = "chronicle:reply:regenerate"
CONTINUE_ID = "chronicle:reply:continue"


class ReplyButtons(discord.ui.View):
    """↻ Regenerate and → Continue; anyone in the story may use them (the engine decides)."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Regenerate", emoji="🔄", style=discord.ButtonStyle.secondary, custom_id=REGENERATE_ID)
    async def regenerate(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        """Rewrite the latest reply."""
        await revise_latest(cast("ChronicleBot", interaction.client), interaction, "regenerate")

    @discord.ui.button(label="Continue", emoji="➡️", style=discord.ButtonStyle.secondary, custom_id=CONTINUE_ID)
    async def continue_(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        """Extend the latest reply."""
        await revise_latest(cast("ChronicleBot", interaction.client), interaction, "continue")

    async def on_error(self, interaction: discord.Interaction, error: Exception,
                       item: discord.ui.Item[Any]) -> None:
        """Button failures reach the person like command failures."""
        await report_error(interaction, error)
