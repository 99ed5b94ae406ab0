"""Card PNGs with Pillow: read the `ccv3`/`chara` text chunk (tEXt, zTXt or iTXt), write a card onto an image."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re
import struct
import zlib

from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

from engine.cards.model import CardError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_PIXELS = 25_000_000
CARD_CHUNKS = ("ccv3", "chara")  # ccv3 wins when both are present
PLACEHOLDER_SIZE = (400, 600)
BROKEN = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, Image.DecompressionBombError)
CORRUPT_PNG = "This PNG is damaged or cut short and can't be read. Download the card again and import the new file."


def _check_pixels(size: tuple[int, int], what: str) -> None:
    width, height = size
    if width * height > MAX_PIXELS:
        raise CardError(f"{what} is {width}×{height} pixels; the limit is {MAX_PIXELS // 1_000_000} megapixels. "
                        "Resize it and try again.")


def _text_chunks(data: bytes) -> dict[str, str]:
    """Every text chunk (tEXt, zTXt, iTXt, before or after the image data) by lower-cased keyword."""
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            _check_pixels(image.size, "The card image")
            chunks: dict[str, str] = image.text  # type: ignore[attr-defined]  # a PngImageFile; loads the whole file, so trailing chunks are read and the pixels checked
            return {key.lower(): value for key, value in chunks.items()}
    except CardError:
        raise
    except ValueError as exc:
        if "MAX_TEXT" in str(exc):
            raise CardError("The card text in this PNG is compressed and over 1 MB once unpacked. "
                            "Export the card as .json or .charx and import that instead.") from None
        raise CardError(CORRUPT_PNG) from None
    except BROKEN:
        raise CardError(CORRUPT_PNG) from None


def _chunk_bytes(name: str, value: str) -> bytes:
    """The chunk's payload: base64 (the standard) or, as some tools write it, plain JSON."""
    raw = value.encode("utf-8") if isinstance(value, PngImagePlugin.iTXt) else value.encode("latin-1", "replace")
    raw = raw.strip()
    if raw.startswith(b"{"):
        return raw
    compact = re.sub(rb"\s+", b"", raw)
    try:
        return base64.b64decode(compact + b"=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise CardError(f"The '{name}' text chunk in this PNG is not valid base64, so the card can't be read. "
                        "Export the card again and import the new file.") from None


def card_json_from_png(data: bytes) -> tuple[str, bytes]:
    """The name of the chunk used (`ccv3` or `chara`) and the card's JSON bytes."""
    chunks = _text_chunks(data)
    for name in CARD_CHUNKS:
        if name in chunks:
            return name, _chunk_bytes(name, chunks[name])
    raise CardError("This PNG has no character card in it (no 'chara' or 'ccv3' text chunk). "
                    "Upload the card PNG your app exported, or the card's .json file.")


def _open_avatar(avatar: bytes) -> Image.Image:
    try:
        with Image.open(io.BytesIO(avatar)) as image:
            _check_pixels(image.size, "The avatar")
            image.seek(0)
            image.load()
            has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            return image.convert("RGBA" if has_alpha else "RGB")
    except CardError:
        raise
    except BROKEN:
        raise CardError("The avatar image can't be read. Use a PNG, JPEG, WEBP or GIF image.") from None


def placeholder(name: str) -> Image.Image:
    """A plain 400×600 image in a colour picked from the name, with its initial in the middle."""
    digest = hashlib.sha256(name.encode()).digest()
    background = tuple(60 + byte % 120 for byte in digest[:3])
    image = Image.new("RGB", PLACEHOLDER_SIZE, background)
    draw = ImageDraw.Draw(image)
    try:
        font: ImageFont.ImageFont | ImageFont.FreeTypeFont = ImageFont.load_default(size=240)
    except (TypeError, OSError, ImportError):
        font = ImageFont.load_default()
    centre = (PLACEHOLDER_SIZE[0] / 2, PLACEHOLDER_SIZE[1] / 2)
    try:
        draw.text(centre, (name.strip()[:1] or "?").upper(), fill=(245, 245, 245), font=font, anchor="mm")
    except (UnicodeError, ValueError, OSError):
        draw.text(centre, "?", fill=(245, 245, 245), font=font, anchor="mm")
    return image


def write_card_png(avatar: bytes | None, name: str, chunks: dict[str, bytes]) -> bytes:
    """A PNG of `avatar` (any image Pillow reads; a placeholder when None) carrying `chunks` as base64 tEXt."""
    image = _open_avatar(avatar) if avatar is not None else placeholder(name)
    info = PngImagePlugin.PngInfo()
    for key, payload in chunks.items():
        info.add_text(key, base64.b64encode(payload).decode("ascii"))
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info)
    return out.getvalue()
