"""Character cards (V1/V2/V3 as JSON, PNG or CHARX): import, export and card-text macros. Pure, no I/O."""

from __future__ import annotations

from engine.cards.export import export_card_json, export_card_png
from engine.cards.importer import parse_card
from engine.cards.macros import display_name, effective_post_history, effective_system_prompt, expand_macros
from engine.cards.model import (
    CARD_NAME_MAX,
    CARD_TEXT_MAX,
    MAX_CARD_BYTES,
    MAX_GREETINGS,
    MAX_TAGS,
    Asset,
    Card,
    CardError,
    ImportedCard,
    SourceFormat,
    Spec,
)
from engine.lore.model import MAX_LORE_ENTRIES

__all__ = [
    "CARD_NAME_MAX", "CARD_TEXT_MAX", "MAX_CARD_BYTES", "MAX_GREETINGS", "MAX_LORE_ENTRIES", "MAX_TAGS", "Asset",
    "Card", "CardError", "ImportedCard", "SourceFormat", "Spec", "display_name", "effective_post_history",
    "effective_system_prompt", "expand_macros", "export_card_json", "export_card_png", "parse_card",
]
