"""Real card files for the tests: JSON of each version, PNGs with each kind of text chunk, CHARX zips."""

from __future__ import annotations

import base64
import copy
import io
import json
import struct
import zipfile
import zlib
from typing import Any

from PIL import Image, PngImagePlugin

EXTENSIONS = {"depth_prompt": {"prompt": "Stay in character.", "depth": 4, "role": "system"},
              "x_tool": {"nested": [1, {"deep": None}], "flag": True}, "fav": False, "world": "Eldoria"}

BOOK = {"name": "Sera's book", "scan_depth": 3, "extensions": {"x_book": 1}, "entries": [
    {"id": 1, "keys": ["forest"], "content": "The forest is enchanted.", "enabled": True, "insertion_order": 10,
     "use_regex": False, "extensions": {"position": 0, "probability": 80, "useProbability": True,
                                        "x_entry": "kept", "chronicle": {"characters": ["Seraphina"]}}}]}

V1 = {"name": "Seraphina", "description": "A guardian of the forest.", "personality": "kind",
      "scenario": "{{user}} wakes in a glade.", "first_mes": "Hello, {{user}}.", "mes_example": "<START>",
      "creatorcomment": "legacy field", "talkativeness": "0.5"}

V2 = {"spec": "chara_card_v2", "spec_version": "2.0", "name": "Seraphina", "description": "legacy copy",
      "avatar": "none", "x_root": {"kept": True},
      "data": {"name": "Seraphina", "description": "A guardian of the forest.", "personality": "kind",
               "scenario": "A glade.", "first_mes": "Hello, {{user}}.", "mes_example": "<START>",
               "creator_notes": "Be nice.", "system_prompt": "{{original}} Write vividly.",
               "post_history_instructions": "", "alternate_greetings": ["Hi!", "Welcome."],
               "character_book": BOOK, "tags": ["fantasy", "guardian"], "creator": "someone",
               "character_version": "1.2", "extensions": EXTENSIONS, "x_data_field": [1, 2, 3]}}

V3 = {"spec": "chara_card_v3", "spec_version": "3.0", "x_root": "kept",
      "data": {**copy.deepcopy(V2["data"]), "nickname": "Sera", "creator_notes_multilingual": {"en": "Be nice."},
               "source": ["https://example.org/sera"], "group_only_greetings": ["Hello, everyone."],
               "creation_date": 1_700_000_000, "modification_date": 1_700_000_100,
               "assets": [{"type": "icon", "uri": "embeded://assets/icon/images/main.png", "name": "main",
                           "ext": "png", "x_asset": 1},
                          {"type": "background", "uri": "https://example.org/bg.png", "name": "main", "ext": "png"}]}}


def dump(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def b64(obj: Any) -> str:
    return base64.b64encode(dump(obj)).decode()


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (8, 12), colour: str = "teal") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format=fmt)
    return out.getvalue()


def png_with(chunks: list[tuple[str, str, str]]) -> bytes:
    """A PNG whose text chunks are (kind, keyword, value), kind one of tEXt, zTXt, iTXt, iTXt-z."""
    info = PngImagePlugin.PngInfo()
    for kind, key, value in chunks:
        if kind == "tEXt":
            info.add_text(key, value)
        elif kind == "zTXt":
            info.add_text(key, value, zip=True)
        else:
            info.add_itxt(key, value, zip=kind == "iTXt-z")
    out = io.BytesIO()
    Image.new("RGB", (8, 12), "teal").save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def chunk_types(png: bytes) -> list[bytes]:
    """The chunk types of a PNG, in file order."""
    types, pos = [], 8
    while pos + 8 <= len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        types.append(kind)
        pos += 12 + length
    return types


def with_trailing_text(png: bytes, key: str, value: str) -> bytes:
    """Insert a tEXt chunk just before IEND (after the image data), as SillyTavern writes cards."""
    body = key.encode("latin-1") + b"\0" + value.encode("latin-1")
    chunk = struct.pack(">I", len(body)) + b"tEXt" + body + struct.pack(">I", zlib.crc32(b"tEXt" + body))
    end = png.rindex(b"IEND") - 4
    return png[:end] + chunk + png[end:]


def charx(card: Any, files: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("card.json", dump(card))
        for name, data in (files or {}).items():
            archive.writestr(name, data)
    return out.getvalue()
