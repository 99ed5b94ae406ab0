"""Card import: detect the file by its content (PNG, JSON or CHARX), read the card and its avatar."""

from __future__ import annotations

import base64
import binascii
import math
import mimetypes
from typing import Any

from engine.cards.charx import ZIP_MAGIC, Charx, open_charx
from engine.cards.model import MAX_CARD_BYTES, Asset, Card, CardError, ImportedCard
from engine.cards.normalize import card_from_json
from engine.cards.png import PNG_MAGIC, card_json_from_png
from engine.lore.fields import FieldProblem, read_json

EMBEDDED = ("embeded://", "embedded://")  # the spec spells it "embeded"; both are seen in the wild
IMAGE_MAGIC = ((PNG_MAGIC, "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF87a", "image/gif"),
               (b"GIF89a", "image/gif"))
OTHER_KINDS = {"image/jpeg": "a JPEG image", "image/gif": "a GIF image", "image/webp": "a WEBP image",
               "image/avif": "an AVIF image"}
SUPPORTED = "Character cards are .png, .json or .charx files: export the card from your app in one of those."


def image_mime(data: bytes) -> str | None:
    """The MIME type of common image formats, from their first bytes."""
    for magic, mime in IMAGE_MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:12] in (b"ftypavif", b"ftypavis"):
        return "image/avif"
    return None


def _kind(data: bytes) -> str:
    if data.startswith(PNG_MAGIC):
        return "png"
    if data.startswith(ZIP_MAGIC):
        return "charx"
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith((b"{", b"[")):
        return "json"
    return image_mime(data) or "unknown"


def _load(data: bytes, where: str) -> Any:
    try:
        return read_json(data)
    except FieldProblem as problem:
        raise CardError(f"Can't import the card: {where} {problem.problem}. {problem.fix}") from None


def _icon(card: Card) -> Asset | None:
    icons = [asset for asset in card.assets or () if asset.type == "icon"]
    return next((a for a in icons if a.name == "main"), icons[0] if icons else None)


def _data_url(uri: str) -> bytes | None:
    header, _, payload = uri.partition(",")
    if not header.endswith(";base64"):
        return None
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return None


def _avatar(card: Card, charx: Charx | None) -> tuple[bytes | None, str | None]:
    """The icon asset's bytes and MIME type (embedded in the CHARX, or a base64 data URL), if any."""
    icon = _icon(card)
    if icon is None:
        return None, None
    data = None
    for scheme in EMBEDDED:
        if icon.uri.startswith(scheme) and charx is not None:
            data = charx.read(icon.uri[len(scheme):])
    if icon.uri.startswith("data:"):
        data = _data_url(icon.uri)
    if data is None:
        return None, None
    guessed = mimetypes.guess_type(f"icon.{icon.ext}")[0] if icon.ext else None
    return data, image_mime(data) or guessed or "application/octet-stream"


def check_card_size(size: int) -> None:
    """Refuse a card file over MAX_CARD_BYTES (frontends call it before downloading one)."""
    if size > MAX_CARD_BYTES:
        raise CardError(f"This file is {math.ceil(size / 1024 / 1024 * 10) / 10:.1f} MB; cards may be at most "
                        f"{MAX_CARD_BYTES // 1024 // 1024} MB. Shrink the image or export the card as .json.")


def parse_card(data: bytes, filename: str) -> ImportedCard:
    """Import a card file (V1/V2/V3 as JSON, PNG or CHARX); raise CardError with one user-facing line if it can't be."""
    check_card_size(len(data))
    kind = _kind(data)
    charx, avatar, mime = None, None, None
    if kind == "png":
        chunk, raw = card_json_from_png(data)
        parsed, avatar, mime = _load(raw, f"the JSON in the PNG's '{chunk}' chunk"), data, "image/png"
    elif kind == "charx":
        charx = open_charx(data)
        parsed = _load(charx.card_json, "card.json in the CHARX file")
    elif kind == "json":
        parsed = _load(data, "the JSON")
    else:
        what = OTHER_KINDS.get(kind, f"'{filename[:80]}'")
        raise CardError(f"{what[0].upper()}{what[1:]} is not a character card. {SUPPORTED}")
    card, spec, version = card_from_json(parsed)
    if kind != "png":
        avatar, mime = _avatar(card, charx)
    return ImportedCard(card=card, avatar=avatar, avatar_mime=mime, source_format=kind,  # type: ignore[arg-type]
                        spec=spec, spec_version=version)
