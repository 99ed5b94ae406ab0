"""The one error funnel: slash commands, buttons and channel messages turn errors into a short line.

An expected error (a story rule, a check, a bad option, the narrator down, a conflict) says what to
do; an unexpected one is logged with its context and an error id, and the person sees the id.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

import discord
import structlog
from discord import app_commands

from bot.replies import send_ephemeral
from engine import AlreadyHandled, ConcurrencyConflict, DomainError, NarratorUnavailable, StorageError

log = structlog.get_logger(__name__)

NARRATOR_DOWN = ("The narrator can't reach the language model right now, so no reply was written. "
                 "Nothing you did was lost: try again in a minute, or ask an admin to check the model server.")
TRY_AGAIN = ("Someone else changed this story at the same moment, so nothing was recorded. "
             "Please try again.")
STORAGE_TEXT = {
    "full": "Chronicle's disk is full, so nothing was recorded. It carries on by itself once an admin frees space.",
    "locked": "Chronicle's database is busy with another program, so nothing was recorded. Try again in a minute.",
    "corrupt": "Chronicle's database is damaged, so nothing more is recorded until an admin restores it.",
    "unreachable": "Chronicle can't reach its database server right now, so nothing was recorded. Try again in a "
                   "minute.",
    "disconnected": "Chronicle lost its connection to the database while recording this, so it may or may not have "
                    "been saved. Check the story before trying again.",
    "overloaded": "Chronicle's database server is overloaded, so nothing was recorded. Try again in a minute.",
    "gone": "Chronicle's database file was deleted or replaced while it was running, so nothing more is recorded "
            "until an admin restores it from a backup or restarts Chronicle.",
}
STORAGE_CAUSE = {"full": "Chronicle's disk is full", "gone": "Chronicle's database file was deleted or replaced",
                 "corrupt": "Chronicle's database is damaged", "locked": "Chronicle's database is busy",
                 "unreachable": "Chronicle can't reach its database server",
                 "disconnected": "Chronicle lost its connection to the database",
                 "overloaded": "Chronicle's database server is overloaded"}
STORAGE_DEFAULT = "Chronicle can't write to its database right now, so nothing was recorded. An admin has to look."
MISSING_PERMISSIONS = 50013
# Which permission a refused request needed: (method, path pattern, permission), first match wins.
_PERMISSIONS = (
    ("POST", re.compile(r"/channels/\d+/webhooks$"), "Manage Webhooks"),
    ("GET", re.compile(r"/channels/\d+/webhooks$"), "Manage Webhooks"),
    ("DELETE", re.compile(r"/channels/\d+/messages/\d+$"), "Manage Messages"),
    ("GET", re.compile(r"/channels/\d+/messages"), "Read Message History"),
    ("POST", re.compile(r"/channels/\d+/messages$"), "Send Messages (and Embed Links)"),
    ("POST", re.compile(r"/channels/\d+/typing$"), "Send Messages"),
    ("POST", re.compile(r"/threads$"), "Create Public Threads"),
)
_TOLD_MAX = 10_000
_told: dict[tuple[int | None, str], None] = {}


def needed_permission(error: discord.Forbidden) -> str:
    """The permission a request refused with 403 Missing Permissions needed, from its method and route."""
    response = getattr(error, "response", None)
    method = str(getattr(response, "method", "") or "").upper()
    url = getattr(response, "url", None)
    path = str(getattr(url, "path", "") or "")
    for wanted_method, pattern, permission in _PERMISSIONS:
        if method == wanted_method and pattern.search(path):
            return permission
    return "the permissions Chronicle was invited with (View Channel, Send Messages, Manage Webhooks)"


def first_time_told(channel_id: int | None, permission: str) -> bool:
    """True the first time a missing permission is reported for a channel (then it is only logged)."""
    key = (channel_id, permission)
    if key in _told:
        return False
    _told[key] = None
    while len(_told) > _TOLD_MAX:
        _told.pop(next(iter(_told)))
    return True


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
    if isinstance(error, discord.Forbidden) and error.code == MISSING_PERMISSIONS:
        return (f"I can't do that in this channel: I need the **{needed_permission(error)}** permission here. "
                "A server admin can grant it in the channel's settings.")
    if isinstance(error, discord.DiscordServerError):
        return (f"Discord is having trouble (it answered {error.status} after several tries), so nothing was posted. "
                "Try again in a minute.")
    return None


def unexpected_error_text(error_id: str) -> str:
    """The line shown for an unexpected error."""
    return f"Something went wrong on Chronicle's side (error id `{error_id}`). An admin can find it in the logs."


def describe(error: BaseException, **context: Any) -> Described:
    """Turn an error into what the person is told; unexpected errors are logged with `context` and an id."""
    storage = unwrap(error)
    if isinstance(storage, StorageError):  # the person gets what happened; the log gets the file and the fix
        error_id = secrets.token_hex(4)
        log.error("storage_fault", error_id=error_id, kind=storage.kind, path=storage.path, detail=str(storage),
                  **context)
        line = STORAGE_TEXT.get(storage.kind, STORAGE_DEFAULT)
        if storage.kept:  # part of it is recorded: say which part, so nobody sends it again
            cause = STORAGE_CAUSE.get(storage.kind, "Chronicle can't write to its database right now")
            line = f"{storage.kept[:1].upper()}{storage.kept[1:]} ({cause}). Don't send it again."
        return Described(f"{line} (error id `{error_id}`)", error_id)
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
    original = unwrap(error)
    if isinstance(original, AlreadyHandled):
        return
    if isinstance(original, discord.Forbidden) and original.code == MISSING_PERMISSIONS:
        permission = needed_permission(original)
        if not first_time_told(message.channel.id, permission):  # once per channel; the log has the rest
            log.info("missing_permission_again", channel=message.channel.id, permission=permission)
            return
        log.warning("missing_permission", channel=message.channel.id, guild=message.guild.id if message.guild
                    else None, permission=permission)
    described = describe(error, guild=message.guild.id if message.guild else None, channel=message.channel.id,
                         user=message.author.id, message=message.id)
    text = described.text if described.error_id is not None or isinstance(unwrap(error), NarratorUnavailable) \
        else f"⚠️ {described.text}"
    try:
        await message.reply(text, mention_author=False)
    except discord.HTTPException as exc:
        log.warning("error_reply_failed", status=exc.status, code=exc.code, message=message.id)
