"""The command tree: every slash command and autocomplete failure goes through the one error funnel."""

from __future__ import annotations

import discord
import structlog
from discord import app_commands

from bot.discord.errors import NARRATOR_DOWN, TRY_AGAIN, error_text, report_error, unexpected_error_text

log = structlog.get_logger(__name__)

__all__ = ["ChronicleTree", "NARRATOR_DOWN", "TRY_AGAIN", "error_text", "report_error", "unexpected_error_text"]


class ChronicleTree(app_commands.CommandTree):
    """A CommandTree whose `on_error` hands every failure to the error funnel."""

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        """Answer every failed command (autocomplete failures are only logged)."""
        if interaction.type is discord.InteractionType.autocomplete:
            log.warning("autocomplete_failed", error=repr(getattr(error, "original", error)))
            return
        await report_error(interaction, error)
