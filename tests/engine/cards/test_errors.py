"""Every malformed card gives one clear CardError line naming what is wrong and what to do."""

from __future__ import annotations

import base64
import copy
import io
import zipfile
from collections.abc import Callable

import pytest
from PIL import Image, PngImagePlugin

from engine.cards import MAX_CARD_BYTES, CardError, parse_card
from tests.engine.cards.builders import V1, V2, V3, b64, charx, dump, image_bytes, png_with


def _v2_with(**data: object) -> bytes:
    card = copy.deepcopy(V2)
    card["data"].update(data)
    return dump(card)


def _zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def _truncated_png() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("chara", b64(V2))
    out = io.BytesIO()
    Image.effect_noise((64, 64), 64).save(out, format="PNG", pnginfo=info)
    return out.getvalue()[:-200]


def _huge_png() -> bytes:
    out = io.BytesIO()
    info = PngImagePlugin.PngInfo()
    info.add_text("chara", b64(V1))
    Image.new("1", (6000, 5000)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


CASES: dict[str, tuple[Callable[[], bytes], str]] = {
    "over 10 MB": (lambda: b" " * (MAX_CARD_BYTES + 1), "cards may be at most 10 MB"),
    "jpeg": (lambda: image_bytes("JPEG"), "A JPEG image is not a character card. Character cards are .png"),
    "unknown type": (lambda: b"hello there", "'sera.png' is not a character card. Character cards are .png"),
    "png without card": (lambda: png_with([("tEXt", "Comment", "hi")]), "This PNG has no character card in it"),
    "truncated png": (_truncated_png, "This PNG is damaged or cut short"),
    "cut png header": (lambda: png_with([("tEXt", "chara", b64(V2))])[:20], "This PNG is damaged or cut short"),
    "png too many pixels": (_huge_png, "The card image is 6000×5000 pixels; the limit is 25 megapixels"),
    "corrupt zip": (lambda: charx(V3)[:60], "This CHARX (zip) file is damaged"),
    "zip without card.json": (lambda: _zip({"other.json": b"{}"}), "This zip file has no card.json at its root"),
    "zip bomb ratio": (lambda: _zip({"card.json": dump(V3), "assets/x.bin": bytes(20 * 1024 * 1024)}),
                       "unpacks to far more than its size (a zip bomb?)"),
    "zip bomb total": (lambda: _zip({f"assets/{n}.bin": bytes(21 * 1024 * 1024) for n in range(5)}),
                       "a zip bomb?"),
    "zip entry count": (lambda: _zip({f"assets/{n}.txt": b"x" for n in range(1_001)}),
                        "has 1,001 files; the limit is 1,000"),
    "bad base64": (lambda: png_with([("tEXt", "chara", "not*base64!")]),
                   "The 'chara' text chunk in this PNG is not valid base64"),
    "bad json in png": (lambda: png_with([("tEXt", "ccv3", base64.b64encode(b"{broken").decode())]),
                        "the JSON in the PNG's 'ccv3' chunk is broken at line 1, column 2"),
    "bad json file": (lambda: b'{"name": "x",}', "the JSON is broken at line 1, column 14"),
    "bad json in charx": (lambda: _zip({"card.json": b"{"}), "card.json in the CHARX file is broken"),
    "not utf-8": (lambda: b'{"name": "\xff"}', "the JSON is not UTF-8 text"),
    "json not a card": (lambda: dump({"hello": "world"}), "This JSON is not a character card"),
    "json list": (lambda: dump([V1]), "This JSON is not a character card"),
    "lorebook as card": (lambda: dump({"spec": "lorebook_v3", "data": {}}), "is a lorebook, not a character card"),
    "unknown spec": (lambda: dump({"spec": "chara_card_v9", "data": {}}), "Unsupported card format 'chara_card_v9'"),
    "v2 without data": (lambda: dump({"spec": "chara_card_v2"}), "has no 'data' object"),
    "missing name": (lambda: dump({"description": "no name"}), "'name' is missing or empty. Give the character a name"),
    "blank name": (lambda: _v2_with(name="   "), "'name' is missing or empty"),
    "name too long": (lambda: _v2_with(name="x" * 65), "'name' is 65 characters long (the limit is 64)"),
    "text too long": (lambda: _v2_with(description="x" * 32_001),
                      "'description' is 32,001 characters long (the limit is 32,000). Shorten it"),
    "too many greetings": (lambda: _v2_with(alternate_greetings=["hi"] * 51),
                           "'alternate_greetings' has 51 entries (the limit is 50)"),
    "lorebook too big": (lambda: _v2_with(character_book={"entries": [{"keys": []}] * 1_001}),
                         "character_book 'entries' has 1,001 items (the limit is 1,000). Split it"),
    "tags not a list": (lambda: _v2_with(tags="fantasy, guardian"), "'tags' must be a list of text, not text"),
    "tag not text": (lambda: _v2_with(tags=["ok", 3]), "'tags' must be a list of text, but one item is a number"),
    "extensions not object": (lambda: _v2_with(extensions=[1]), "'extensions' must be an object, not a list"),
    "description not text": (lambda: _v2_with(description=5), "'description' must be text, not a number"),
    "book entry keys": (lambda: _v2_with(character_book={"entries": [{"keys": {"a": 1}}]}),
                        "character_book entry 1 'keys' must be a list of text, not an object"),
    "book regex key": (lambda: _v2_with(character_book={"entries": [
        {"keys": ["ok"], "content": "x"}, {"keys": ["fine", "/(a)\\1/"], "content": "y"}]}),
        "Can't import the card: its lorebook's entry 2, key '/(a)\\1/': backreferences are not supported; write the "
        "key without them, then import it again."),
    "book secondary regex key": (lambda: _v2_with(character_book={"entries": [
        {"keys": ["ok"], "secondary_keys": ["/(?<!x)y/"], "selective": True, "content": "x"}]}),
        "its lorebook's entry 1, key '/(?<!x)y/': lookbehind"),
    "asset not object": (lambda: dump({**V3, "data": {**V3["data"], "assets": ["icon.png"]}}),
                         "assets item 1 must be an object, not text"),
    "creation date": (lambda: dump({**V3, "data": {**V3["data"], "creation_date": "today"}}),
                      "'creation_date' must be a number, not text"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_malformed_card_gives_one_clear_line(case: str) -> None:
    build, expected = CASES[case]
    with pytest.raises(CardError) as caught:
        parse_card(build(), "sera.png")
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message and len(message) < 300
    assert isinstance(caught.value, ValueError)


def test_compressed_card_text_over_pillows_limit_is_explained() -> None:
    card = {"name": "Big", "description": "x" * 30_000, "mes_example": "y" * 30_000,
            "alternate_greetings": ["z" * 30_000] * 30}
    png = png_with([("zTXt", "chara", b64(card))])
    with pytest.raises(CardError, match="compressed and over 1 MB once unpacked. Export the card as .json"):
        parse_card(png, "big.png")
