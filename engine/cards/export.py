"""Card export: V3 JSON, and a PNG carrying both a `ccv3` (V3) and a `chara` (V2) chunk."""

from __future__ import annotations

import json

from engine.cards.model import Card
from engine.cards.normalize import card_to_v2, card_to_v3
from engine.cards.png import write_card_png


def _compact(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def export_card_json(card: Card) -> bytes:
    """The card as a V3 JSON file (UTF-8): every field, its extensions and unknown fields kept."""
    return json.dumps(card_to_v3(card), ensure_ascii=False, indent=2).encode()


def export_card_png(card: Card, avatar: bytes | None) -> bytes:
    """A card PNG: the avatar (any image Pillow reads; a generated one when None) with `ccv3` and `chara` chunks."""
    return write_card_png(avatar, card.name, {"ccv3": _compact(card_to_v3(card)), "chara": _compact(card_to_v2(card))})
