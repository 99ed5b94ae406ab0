"""Lorebooks (world info): the normalized model, import/export, and activation. Pure functions, no I/O."""

from __future__ import annotations

from engine.lore.activate import Activation, Dropped, DropReason, LoreState, activate, candidates, next_state
from engine.lore.convert import book_from_dict, book_to_dict
from engine.lore.io import export_lorebook, parse_lorebook
from engine.lore.model import (
    DEFAULT_SCAN_DEPTH,
    LORE_TEXT_MAX,
    MAX_LORE_BYTES,
    MAX_LORE_ENTRIES,
    Lorebook,
    LoreEntry,
    LoreError,
    SelectiveLogic,
)

__all__ = [
    "DEFAULT_SCAN_DEPTH", "LORE_TEXT_MAX", "MAX_LORE_BYTES", "MAX_LORE_ENTRIES", "Activation", "DropReason",
    "Dropped", "LoreEntry", "LoreError", "LoreState", "Lorebook", "SelectiveLogic", "activate", "book_from_dict",
    "book_to_dict", "candidates", "export_lorebook", "next_state", "parse_lorebook",
]
