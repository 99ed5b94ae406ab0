"""The one error funnel: slash commands, buttons and channel messages turn errors into a short line.

An expected error (a story rule, a check, a bad option, the narrator down, a conflict) says what to
do; an unexpected one is logged with its context and an error id, and the person sees the id.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import discord
import structlog
from discord import app_commands

from bot.replies import send_ephemeral
from engine import AlreadyHandled, ConcurrencyConflict, DomainError, NarratorUnavailable

log = structlog.get_logger(__name__)

NARRATOR_DOWN = ("The narrator can't reach the language model right now, so no reply was written. "
                 "Nothing you did was lost: try again in a minute, or ask an admin to check the model server.")
TRY_AGAIN = ("Someone else changed this story at the same moment, so nothing was recorded. "
             "Please try again.")


@dataclass(frozen=True)
class Described:
    """What the person is told, and the id under which an unexpected error was logged."""

    text: str
    error_id: str | None = None


def unwrap(error: BaseException) -> BaseException:
    """The error a command or item raised, out of discord.py's wrappers."""
    while isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    return error


def error_text(error: BaseException) -> str | None:
    """The person-facing text for an expected error, or None for an unexpected one."""
    error = unwrap(error)
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


def describe(error: BaseException, **context: Any) -> Described:
    """Turn an error into what the person is told; unexpected errors are logged with `context` and an id."""
    text = error_text(error)
    if text is not None:
        log.info("request_refused", reason=text[:120], **context)
        return Described(text)
    error_id = secrets.token_hex(4)
    log.error("request_failed", error_id=error_id, exc_info=unwrap(error), **context)
    return Described(unexpected_error_text(error_id), error_id)


async def report_error(interaction: discord.Interaction, error: BaseException) -> None:
    """Tell the invoker what went wrong (ephemeral)."""
    command = interaction.command.qualified_name if interaction.command else None
    described = describe(error, guild=interaction.guild_id, channel=interaction.channel_id,
                         user=interaction.user.id, command=command,
                         custom_id=dict(interaction.data or {}).get("custom_id"))
    try:
        await send_ephemeral(interaction, described.text)
    except discord.HTTPException as exc:
        log.warning("error_reply_failed", status=exc.status, code=exc.code)


async def report_message_error(message: discord.Message, error: BaseException) -> None:
    """Answer a channel message whose handling failed (a repeat delivery is answered with silence)."""
    if isinstance(unwrap(error), AlreadyHandled):
        return
    described = describe(error, guild=message.guild.id if message.guild else None, channel=message.channel.id,
                         user=message.author.id, message=message.id)
    text = described.text if described.error_id is not None or isinstance(unwrap(error), NarratorUnavailable) \
        else f"⚠️ {described.text}"
    try:
        await message.reply(text, mention_author=False)
    except discord.HTTPException as exc:
        log.warning("error_reply_failed", status=exc.status, code=exc.code, message=message.id)
