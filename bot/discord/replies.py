"""Answering interactions: one helper that works before and after the first response."""

from __future__ import annotations

from typing import Any

import discord

from bot.discord.render import MESSAGE_LIMIT, clip
from engine.text import terminal_safe


async def send_ephemeral(interaction: discord.Interaction, content: str | None = None, **kwargs: Any) -> None:
    """Answer only the invoker: the response, or a followup once the response is done."""
    content = _shown(content)
    if interaction.response.is_done():
        await interaction.followup.send(**_content(content), ephemeral=True, **kwargs)
    else:
        await interaction.response.send_message(content, ephemeral=True, **kwargs)


async def send_public(interaction: discord.Interaction, content: str | None = None, **kwargs: Any) -> None:
    """Answer for the whole channel: the response, or a followup once the response is done."""
    content = _shown(content)
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
    content = _shown(content)
    if not interaction.response.is_done():
        await interaction.response.send_message(content, **kwargs)
        return
    await interaction.edit_original_response(content=ack)
    await interaction.followup.send(**_content(content), **kwargs)


def _shown(content: str | None) -> str | None:
    """What is shown of `content`: control characters (echoed input in a refusal, say) as visible escapes,
    so nothing can reorder or hide the text around them, then clipped to Discord's limit."""
    return None if content is None else clip(terminal_safe(content), MESSAGE_LIMIT)


def _content(content: str | None) -> dict[str, Any]:
    """The `content` argument of a followup, left out when there is none."""
    return {} if content is None else {"content": content}
