"""The prompt inspector on Discord: token use per part of a character's prompt, and the whole prompt as a file,
with the lore entries that made it in and those dropped."""

from __future__ import annotations

from typing import Any

import discord

from bot.discord.render import embed
from bot.discord.render_cards import lore_lines, lore_summary
from bot.shown import candidate_lines


def prompt_summary(view: Any) -> discord.Embed:
    """The prompt inspector: token use per part against the budget."""
    lines = [f"`{tokens:>6}`  {name}" for name, tokens in view.parts]
    used = f"**{view.total_tokens}** of {view.budget_tokens} tokens, counted by {view.counter}"
    lore = lore_summary(view)
    return embed("Prompt inspector", used + "\n" + "\n".join(lines) + (f"\n\n{lore}" if lore else ""))


def prompt_text(view: Any) -> str:
    """The whole prompt as plain text, one block per message, then the lore inspector (entries in, and dropped)."""
    blocks = [f"### {m.role}\n{m.content}" for m in view.messages]
    lore = lore_lines(view.lore)
    if lore:
        blocks.append("### lore inspector (not part of the prompt)\n" + "\n".join(lore))
    ranked = candidate_lines(view)
    if ranked:
        blocks.append("### ranked budget: every candidate, kept or dropped (not part of the prompt)\n"
                      + "\n".join(ranked))
    blocks.append(f"### counted by\n{view.counter}")
    return "\n\n".join(blocks)
