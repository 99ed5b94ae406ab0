"""An imported card's image, kept small enough to live in its event: re-encoded as a plain PNG (no text
chunks, so the card is not stored twice) and scaled down until it fits."""

from __future__ import annotations

import io

from PIL import Image

from engine.cards.model import CardError
from engine.cards.png import BROKEN, MAX_PIXELS

AVATAR_MAX_BYTES = 1_000_000
AVATAR_B64_MAX = 4 * -(-AVATAR_MAX_BYTES // 3)
AVATAR_MAX_SIDE = 1024
MIN_SIDE = 64


def _encode(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def normalize_avatar(data: bytes) -> bytes:
    """The image as a PNG of at most AVATAR_MAX_BYTES, its longest side at most AVATAR_MAX_SIDE pixels.

    Pixels are kept as they are when the image already fits; otherwise it is scaled down (aspect kept)
    until it does. Raises CardError when the image can't be read.
    """
    try:
        with Image.open(io.BytesIO(data)) as source:
            if source.size[0] * source.size[1] > MAX_PIXELS:
                raise CardError("The card's image is too large to keep (over 25 megapixels). Resize it and "
                                "import the card again.")
            source.seek(0)
            source.load()
            alpha = source.mode in ("RGBA", "LA", "PA") or "transparency" in source.info
            image = source.convert("RGBA" if alpha else "RGB")
    except CardError:
        raise
    except BROKEN:
        raise CardError("The card's image can't be read. Use a PNG, JPEG, WEBP or GIF image.") from None
    side = max(image.size)
    if side > AVATAR_MAX_SIDE:
        image = _scaled(image, AVATAR_MAX_SIDE / side)
    encoded = _encode(image)
    while len(encoded) > AVATAR_MAX_BYTES and max(image.size) > MIN_SIDE:
        image = _scaled(image, 0.75)
        encoded = _encode(image)
    return encoded


def _scaled(image: Image.Image, factor: float) -> Image.Image:
    width, height = image.size
    return image.resize((max(1, round(width * factor)), max(1, round(height * factor))), Image.Resampling.LANCZOS)
