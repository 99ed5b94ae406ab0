"""Cards and lorebooks → Discord text and embeds (and the lore part of the prompt inspector)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import discord

from bot.discord.render import EMBED_DESCRIPTION_LIMIT, FIELD_LIMIT, character_embed, clip, embed
from bot.shown import file_stem, lore_lines  # noqa: F401  (shown on Discord too)
from engine import (
    Card,
    CharacterView,
    LorebookView,
    LoreEntry,
    LoreEntryView,
    LoreReport,
)


def card_details(out: discord.Embed, card: Card) -> discord.Embed:
    """Add what only a whole card has: creator notes (never in a prompt), greetings, tags, lorebook, creator."""
    if card.nickname:
        out.add_field(name="Nickname", value=clip(card.nickname, FIELD_LIMIT), inline=True)
    if card.alternate_greetings or card.group_only_greetings:
        count = len(card.alternate_greetings) + 1
        out.add_field(name="Greetings", value=f"{count} (choose with /chat start greeting:N)", inline=True)
    if card.tags:
        out.add_field(name="Tags", value=clip(", ".join(card.tags), FIELD_LIMIT), inline=True)
    if card.character_book is not None:
        book = card.character_book
        out.add_field(name="Lorebook", value=clip(f"{book.name or 'its own'} ({len(book.entries)} entries)",
                                                  FIELD_LIMIT), inline=True)
    if card.creator or card.character_version:
        by = " ".join(part for part in (card.creator, f"v{card.character_version}" if card.character_version
                                        else "") if part)
        out.add_field(name="Creator", value=clip(by, FIELD_LIMIT), inline=True)
    if card.creator_notes.strip():
        out.add_field(name="Creator notes", value=clip(card.creator_notes, FIELD_LIMIT), inline=False)
    return out


def entry_line(view: LoreEntryView) -> str:
    """One entry: number, on/off, its keys (or 'always'), who may know it, and the start of its text."""
    e = view.entry
    state = "" if e.enabled else " *(off)*"
    keys = "always" if e.constant else ", ".join(e.keys[:6]) or "no keys"
    who = f" · only {', '.join(e.characters)}" if e.characters else ""
    return f"`#{view.number}` **{clip(e.label, 60)}**{state} — {clip(keys, 80)}{who}: {clip(e.content, 120)}"


def lorebook_embed(book: LorebookView, entries: Sequence[LoreEntryView]) -> discord.Embed:
    """A book with its entries."""
    body = "\n".join(entry_line(v) for v in entries) or "No entries yet. Add one with `/lore add`."
    out = embed(book.name, clip((book.description or "") + ("\n\n" if book.description else "") + body,
                                EMBED_DESCRIPTION_LIMIT))
    if book.characters or book.channels:
        out.set_footer(text=clip("Attached to " + ", ".join([*book.characters, *(f"#{c}" for c in book.channels)]),
                                 200))
    return out


def entry_embed(view: LoreEntryView) -> discord.Embed:
    """One entry in full."""
    e: LoreEntry = view.entry
    fields = {"keys": "always (constant)" if e.constant else ", ".join(e.keys), "secondary_keys": (
        f"{e.selective_logic}: {', '.join(e.secondary_keys)}" if e.selective and e.secondary_keys else ""),
        "only_for": ", ".join(e.characters), "probability": f"{e.probability:g}%" if e.use_probability else "",
        "timing": ", ".join(f"{k} {v}" for k, v in (("sticky", e.sticky), ("cooldown", e.cooldown),
                                                     ("delay", e.delay)) if v),
        "state": "on" if e.enabled else "off"}
    return embed(f"{view.book_name} #{view.number}: {e.label}", e.content, **fields)


def lore_summary(view: Any) -> str:
    """The prompt inspector's lore block (empty when no lore is in play)."""
    report: LoreReport = view.lore
    lines = lore_lines(report)
    if not lines:
        return ""
    head = f"**Lore** — {report.tokens} of {report.budget} tokens"
    return clip(head + "\n" + "\n".join(lines), 1800)


def character_card_embed(card: CharacterView, whole: Card) -> discord.Embed:
    """A character card with everything a whole card adds."""

    return card_details(character_embed(card), whole)
