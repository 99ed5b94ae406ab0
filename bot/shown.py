"""Plain text every frontend shows the same way: safe file names for exports, the prompt inspector's lore lines.
No Discord or picture libraries here, so that the `chronicle` commands that only print start quickly."""

from __future__ import annotations

import re
from typing import Any

from engine.narrator.lore import LoreReport


def file_stem(name: str) -> str:
    """A safe file name for a character or book ("Sera's book" → "Sera_s_book")."""
    return re.sub(r"[^\w-]+", "_", name, flags=re.UNICODE).strip("_")[:80] or "card"


def candidate_lines(prompt: Any) -> list[str]:
    """The ranked budget's candidates (recalled lines, memories, lore), best first: kept, or dropped with why."""
    return [f"{'✅' if c.kept else '❌'} {c.section} {c.score:.2f} ({c.tokens} tokens) {c.label}"
            + ("" if c.kept else f": {c.why}") for c in prompt.candidates]


def lore_lines(report: LoreReport) -> list[str]:
    """The inspector's lore: the entries in the prompt, then every dropped one with its reason."""
    lines = [f"✅ {book} {entry} ({tokens} tokens)" for book, entry, tokens in report.active]
    lines += [f"❌ {book} {entry}: {reason}" for book, entry, reason in report.dropped]
    return lines
