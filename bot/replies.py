"""Answering interactions: one helper that works before and after the first response."""

from __future__ import annotations

from typing import Any

import discord

from bot.render import MESSAGE_LIMIT, clip


async def send_ephemeral(interaction: discord.Interaction, content: str | None = None, **kwargs: Any) -> None:
    """Answer only the invoker: the response, or a followup once the response is done."""
    if content is not None:
        content = clip(content, MESSAGE_LIMIT)
    if interaction.response.is_done():
        await interaction.followup.send(**_content(content), ephemeral=True, **kwargs)
    else:
        await interaction.response.send_message(content, ephemeral=True, **kwargs)


async def send_public(interaction: discord.Interaction, content: str | None = None, **kwargs: Any) -> None:
    """Answer for the whole channel: the response, or a followup once the response is done."""
    if content is not None:
        content = clip(content, MESSAGE_LIMIT)
    if interaction.response.is_done():
        await interaction.followup.send(**_content(content), **kwargs)
    else:
        await interaction.response.send_message(content, **kwargs)


async def defer_private(interaction: discord.Interaction) -> None:
    """Acknowledge at once (slow or model work ahead); errors that follow stay visible only to the invoker."""
    await interaction.response.defer(ephemeral=True, thinking=True)


async def defer_public(interaction: discord.Interaction) -> None:
    """Acknowledge at once with "thinking…" for the whole channel (the answer follows when ready)."""
    await interaction.response.defer(thinking=True)


async def announce(interaction: discord.Interaction, content: str | None = None, *, ack: str = "Done.",
                   **kwargs: Any) -> None:
    """Post a result for the whole channel, also after a private defer (whose answer becomes `ack`)."""
    if content is not None:
        content = clip(content, MESSAGE_LIMIT)
    if not interaction.response.is_done():
        await interaction.response.send_message(content, **kwargs)
        return
    await interaction.edit_original_response(content=ack)
    await interaction.followup.send(**_content(content), **kwargs)


def _content(content: str | None) -> dict[str, Any]:
    """The `content` argument of a followup, left out when there is none."""
    return {} if content is None else {"content": content}
