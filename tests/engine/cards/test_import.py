"""Card import: JSON of each version, PNG text chunks of each kind, CHARX, detection by content."""

from __future__ import annotations

import copy

import pytest

from engine.cards import parse_card
from tests.engine.cards.builders import (
    EXTENSIONS,
    V1,
    V2,
    V3,
    b64,
    charx,
    chunk_types,
    dump,
    image_bytes,
    png_with,
    with_trailing_text,
)


def test_v1_json() -> None:
    imported = parse_card(dump(V1), "sera.json")
    card = imported.card
    assert (imported.spec, imported.source_format, imported.avatar) == ("v1", "json", None)
    assert (card.name, card.personality, card.first_mes) == ("Seraphina", "kind", "Hello, {{user}}.")
    assert card.creator_notes == "legacy field"  # SillyTavern's V1 `creatorcomment`
    assert card.top_extra == {"talkativeness": "0.5"} and card.extra == {}


def test_v2_json_keeps_every_field() -> None:
    imported = parse_card(dump(V2), "sera.json")
    card = imported.card
    assert (imported.spec, imported.spec_version) == ("v2", "2.0")
    assert card.description == "A guardian of the forest."  # data wins over the legacy root copy
    assert card.alternate_greetings == ("Hi!", "Welcome.") and card.tags == ("fantasy", "guardian")
    assert (card.creator, card.character_version, card.creator_notes) == ("someone", "1.2", "Be nice.")
    assert card.extensions == EXTENSIONS
    assert card.extra == {"x_data_field": [1, 2, 3]}
    assert card.top_extra == {"avatar": "none", "x_root": {"kept": True}}
    book = card.character_book
    assert book is not None and book.name == "Sera's book" and book.scan_depth == 3
    assert book.entries[0].characters == ("Seraphina",) and book.entries[0].probability == 80
    assert book.entries[0].extensions == {"position": 0, "x_entry": "kept"}


def test_v3_json_keeps_v3_fields() -> None:
    imported = parse_card(dump(V3), "sera.json")
    card = imported.card
    assert (imported.spec, imported.spec_version) == ("v3", "3.0")
    assert card.nickname == "Sera" and card.group_only_greetings == ("Hello, everyone.",)
    assert card.creator_notes_multilingual == {"en": "Be nice."} and card.source == ("https://example.org/sera",)
    assert (card.creation_date, card.modification_date) == (1_700_000_000, 1_700_000_100)
    assert card.assets is not None and card.assets[0].uri == "embeded://assets/icon/images/main.png"
    assert card.assets[0].extra == {"x_asset": 1}
    assert imported.avatar is None  # an embedded icon needs the CHARX it lives in


@pytest.mark.parametrize("kind", ["tEXt", "zTXt", "iTXt", "iTXt-z"])
def test_png_card_in_each_kind_of_text_chunk(kind: str) -> None:
    png = png_with([(kind, "chara", b64(V2))])
    wanted = b"iTXt" if kind.startswith("iTXt") else kind.encode()
    assert wanted in chunk_types(png)
    if kind == "iTXt-z":
        assert png[png.index(b"iTXtchara\0") + 10] == 1  # the iTXt compression flag is really set
    imported = parse_card(png, "sera.png")
    assert (imported.spec, imported.source_format, imported.card.name) == ("v2", "png", "Seraphina")
    assert imported.card.extensions == EXTENSIONS
    assert imported.avatar == png and imported.avatar_mime == "image/png"


def test_png_card_chunk_after_the_image_data() -> None:
    png = with_trailing_text(image_bytes(), "chara", b64(V1))
    types = chunk_types(png)
    assert types.index(b"tEXt") > types.index(b"IDAT")
    assert parse_card(png, "sera.png").card.name == "Seraphina"


def test_ccv3_wins_over_chara() -> None:
    v3 = copy.deepcopy(V3)
    v3["data"]["name"] = "Seraphina V3"
    for order in ([("tEXt", "chara", b64(V2)), ("tEXt", "ccv3", b64(v3))],
                  [("tEXt", "ccv3", b64(v3)), ("zTXt", "chara", b64(V2))]):
        imported = parse_card(png_with(order), "sera.png")
        assert (imported.spec, imported.card.name) == ("v3", "Seraphina V3")


def test_png_chunk_with_plain_json_is_accepted() -> None:
    png = png_with([("iTXt", "chara", dump(V1).decode())])
    assert parse_card(png, "sera.png").card.name == "Seraphina"


def test_charx_icon_becomes_the_avatar() -> None:
    icon, other = image_bytes("PNG", colour="red"), image_bytes("JPEG")
    v3 = copy.deepcopy(V3)
    v3["data"]["assets"].insert(0, {"type": "icon", "uri": "embedded://assets/icon/images/alt.jpg",
                                    "name": "alt", "ext": "jpg"})
    data = charx(v3, {"assets/icon/images/main.png": icon, "assets/icon/images/alt.jpg": other})
    imported = parse_card(data, "sera.charx")
    assert (imported.source_format, imported.spec, imported.card.nickname) == ("charx", "v3", "Sera")
    assert imported.avatar == icon and imported.avatar_mime == "image/png"  # the "main" icon wins
    v3["data"]["assets"] = [v3["data"]["assets"][0]]  # only the alt icon, spelled embedded://
    imported = parse_card(charx(v3, {"assets/icon/images/alt.jpg": other}), "sera.charx")
    assert imported.avatar == other and imported.avatar_mime == "image/jpeg"


def test_charx_without_icon_has_no_avatar() -> None:
    v3 = copy.deepcopy(V3)
    del v3["data"]["assets"]
    imported = parse_card(charx(v3, {"assets/other/readme.txt": b"hi"}), "sera.charx")
    assert imported.avatar is None and imported.avatar_mime is None


def test_format_is_detected_by_content_not_extension() -> None:
    png = png_with([("tEXt", "chara", b64(V2))])
    assert parse_card(png, "sera.json").source_format == "png"
    assert parse_card(dump(V2), "sera.png").source_format == "json"
    assert parse_card(charx(V3), "sera.zip").source_format == "charx"
    assert parse_card(b"\xef\xbb\xbf\n " + dump(V1), "sera.txt").card.name == "Seraphina"
