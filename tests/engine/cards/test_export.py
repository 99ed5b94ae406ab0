"""Card export (V3 JSON, PNG with ccv3 + chara) and import → export → import round trips."""

from __future__ import annotations

import base64
import io
import json

import pytest
from PIL import Image

from engine.cards import Card, CardError, export_card_json, export_card_png, parse_card
from engine.lore import Lorebook, LoreEntry
from tests.engine.cards.builders import V1, V2, V3, b64, charx, chunk_types, dump, image_bytes, png_with

SOURCES = {
    "v1-json": lambda: dump(V1),
    "v2-json": lambda: dump(V2),
    "v3-json": lambda: dump(V3),
    "v2-png-zTXt": lambda: png_with([("zTXt", "chara", b64(V2))]),
    "v3-png-iTXt": lambda: png_with([("iTXt-z", "ccv3", b64(V3))]),
    "v3-charx": lambda: charx(V3, {"assets/icon/images/main.png": image_bytes()}),
}


@pytest.mark.parametrize("source", SOURCES, ids=list(SOURCES))
@pytest.mark.parametrize("export", ["json", "png"])
def test_import_export_import_round_trips(source: str, export: str) -> None:
    first = parse_card(SOURCES[source](), "card")
    data = export_card_json(first.card) if export == "json" else export_card_png(first.card, first.avatar)
    second = parse_card(data, f"card.{export}")
    assert second.card == first.card
    assert second.spec == "v3" and second.source_format == export
    again = export_card_json(second.card) if export == "json" else export_card_png(second.card, second.avatar)
    assert parse_card(again, "card").card == first.card


def test_json_export_is_v3_with_every_field_and_unknown_field() -> None:
    card = parse_card(dump(V3), "sera.json").card
    exported = json.loads(export_card_json(card))
    assert (exported["spec"], exported["spec_version"], exported["x_root"]) == ("chara_card_v3", "3.0", "kept")
    data = exported["data"]
    assert data["extensions"] == V3["data"]["extensions"]
    assert data["x_data_field"] == [1, 2, 3] and data["nickname"] == "Sera"
    assert data["assets"][0] == V3["data"]["assets"][0]
    entry = data["character_book"]["entries"][0]
    assert entry["extensions"]["x_entry"] == "kept"
    assert entry["extensions"]["chronicle"] == {"characters": ["Seraphina"]}
    for key in ("first_mes", "mes_example", "system_prompt", "post_history_instructions", "alternate_greetings",
                "group_only_greetings", "creator_notes_multilingual", "source", "creation_date", "tags"):
        assert key in data


def _chunks(png: bytes) -> dict[str, dict]:
    with Image.open(io.BytesIO(png)) as image:
        return {key: json.loads(base64.b64decode(value)) for key, value in image.text.items()}


def test_png_export_carries_a_v3_and_a_v2_chunk() -> None:
    card = parse_card(dump(V3), "sera.json").card
    png = export_card_png(card, None)
    assert chunk_types(png).count(b"tEXt") == 2
    chunks = _chunks(png)
    assert chunks["ccv3"]["spec"] == "chara_card_v3" and chunks["ccv3"]["data"]["nickname"] == "Sera"
    assert chunks["chara"]["spec"] == "chara_card_v2"
    assert chunks["chara"]["data"]["name"] == "Seraphina" and "nickname" not in chunks["chara"]["data"]
    assert chunks["chara"]["data"]["extensions"] == V3["data"]["extensions"]
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (400, 600)


def test_png_export_onto_any_avatar_replaces_old_card_chunks() -> None:
    card = Card(name="Nyx", description="new")
    for avatar in (image_bytes("JPEG", (30, 20)), image_bytes("GIF", (30, 20)),
                   png_with([("tEXt", "chara", b64(V2))])):
        png = export_card_png(card, avatar)
        assert png.startswith(b"\x89PNG")
        imported = parse_card(png, "nyx.png")
        assert imported.card == card
        assert "chara" in _chunks(png) and _chunks(png)["chara"]["data"]["description"] == "new"


def test_png_export_with_unreadable_avatar_is_refused() -> None:
    with pytest.raises(CardError, match="The avatar image can't be read"):
        export_card_png(Card(name="Nyx"), b"not an image")


def test_placeholder_handles_any_name() -> None:
    for name in ("Élodie", "明", "  x"):
        assert parse_card(export_card_png(Card(name=name), None), "c.png").card.name == name


def test_card_built_in_code_round_trips() -> None:
    book = Lorebook(entries=(LoreEntry(id="a", keys=("k",), content="c", characters=("Nyx",), sticky=2),))
    card = Card(name="Nyx", character_book=book, extensions={"a": {"b": [1]}}, nickname="N", assets=None)
    assert parse_card(export_card_json(card), "n.json").card == card
    assert parse_card(export_card_png(card, None), "n.png").card == card
