"""The command tree: one error funnel for every slash command, autocomplete and component."""

from __future__ import annotations

import secrets

import discord
import structlog
from discord import app_commands

from bot.replies import send_ephemeral
from engine import ConcurrencyConflict, DomainError, NarratorUnavailable

log = structlog.get_logger(__name__)

NARRATOR_DOWN = ("The narrator can't reach the language model right now, so no reply was written. "
                 "Nothing you did was lost: try again in a minute, or ask an admin to check the model server.")
TRY_AGAIN = "Someone else changed this story at the same moment. Please try again."


def error_text(error: BaseException) -> str | None:
    """The person-facing text for an expected error, or None for an unexpected one."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    if isinstance(error, app_commands.TransformerError):
        cause = error.__cause__
        if isinstance(cause, DomainError):
            return str(cause)
        return f"'{str(error.value)[:80]}' isn't a valid value for that option."
    if isinstance(error, DomainError):
        return str(error)
    if isinstance(error, app_commands.CheckFailure):
        return str(error) or "You can't use this command here."
    if isinstance(error, ConcurrencyConflict):
        return TRY_AGAIN
    if isinstance(error, NarratorUnavailable):
        return NARRATOR_DOWN
    return None


def unexpected_error_text(error_id: str) -> str:
    """The line shown for an unexpected error."""
    return f"Something went wrong on Chronicle's side (error id `{error_id}`). An admin can find it in the logs."


async def report_error(interaction: discord.Interaction, error: BaseException) -> None:
    """Tell the person what went wrong (ephemeral); log unexpected errors with an id."""
    text = error_text(error)
    if text is None:
        error_id = secrets.token_hex(4)
        original = getattr(error, "original", error)
        command = interaction.command.qualified_name if interaction.command else None
        log.error("interaction_failed", error_id=error_id, guild=interaction.guild_id,
                  channel=interaction.channel_id, user=interaction.user.id, command=command,
                  custom_id=(interaction.data or {}).get("custom_id"), exc_info=original)
        text = unexpected_error_text(error_id)
    else:
        log.info("interaction_refused", user=interaction.user.id, reason=text[:120])
    try:
        await send_ephemeral(interaction, text)
    except discord.HTTPException as exc:
        log.warning("error_reply_failed", status=exc.status, code=exc.code)


class ChronicleTree(app_commands.CommandTree):
    """A CommandTree whose `on_error` is the only place command errors are turned into replies."""

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        """Answer every failed command or autocomplete (autocomplete failures are only logged)."""
        if interaction.type is discord.InteractionType.autocomplete:
            log.warning("autocomplete_failed", error=repr(getattr(error, "original", error)))
            return
        await report_error(interaction, error)
