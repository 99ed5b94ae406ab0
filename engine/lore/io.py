"""Lorebook files: import (lorebook_v3, a V2/V3 character_book, SillyTavern world info) and lorebook_v3 export."""

from __future__ import annotations

import json
import math
from pathlib import PurePath
from typing import Any

from engine.lore import fields as f
from engine.lore.convert import book_from_dict, book_to_dict
from engine.lore.fields import FieldProblem
from engine.lore.keys import book_problem
from engine.lore.model import BOOK_NAME_MAX, MAX_LORE_BYTES, Lorebook, LoreError
from engine.lore.sillytavern import book_from_st, is_world_info

CARD_SPECS = ("chara_card_v2", "chara_card_v3")
NOT_A_BOOK = ("This JSON is not a lorebook: expected a lorebook_v3 file, a character_book object or a "
              "SillyTavern world info export. Export the lorebook again and import that file.")


def book_name_from(filename: str) -> str | None:
    """The file's stem as a book name (`Eldoria.json` → `Eldoria`), or None when there is none."""
    stem = PurePath(filename.replace("\\", "/")).stem.strip()
    return stem[:BOOK_NAME_MAX] or None


def _card_book(raw: dict[str, Any], default_name: str | None) -> Lorebook:
    data = raw.get("data")
    book = data.get("character_book") if isinstance(data, dict) else None
    if not isinstance(book, dict):
        raise LoreError("This is a character card without a lorebook: import it as a character instead.")
    name = data.get("name") if isinstance(data, dict) else None
    card_name = name if isinstance(name, str) else None
    return book_from_dict(book, default_name=card_name or default_name)


def _book(raw: Any, default_name: str | None) -> Lorebook:
    if not isinstance(raw, dict):
        raise LoreError(NOT_A_BOOK)
    spec = raw.get("spec")
    if spec == "lorebook_v3":
        if not isinstance(raw.get("data"), dict):
            raise LoreError("This lorebook_v3 file has no 'data' object: export the lorebook again.")
        return book_from_dict(raw["data"], default_name=default_name)
    if spec in CARD_SPECS:
        return _card_book(raw, default_name)
    if spec is not None:
        raise LoreError(f"Unsupported lorebook format {str(spec)[:40]!r}: import a lorebook_v3 file, a "
                        "character_book or a SillyTavern world info export.")
    if "entries" not in raw:
        raise LoreError(NOT_A_BOOK)
    if is_world_info(raw):
        return book_from_st(raw, default_name=default_name)
    return book_from_dict(raw, default_name=default_name)


def check_lorebook_size(size: int) -> None:
    """Refuse a lorebook file over MAX_LORE_BYTES (frontends call it before downloading one)."""
    if size > MAX_LORE_BYTES:
        raise LoreError(f"The lorebook file is {math.ceil(size / 1024 / 1024 * 10) / 10:.1f} MB; the limit is "
                        f"{MAX_LORE_BYTES // 1024 // 1024} MB. Split it into smaller books.")


def parse_lorebook(data: bytes, filename: str) -> Lorebook:
    """Import a lorebook file; raise LoreError with one user-facing line when it can't be imported (a regex key
    that can't be matched safely included). Compiles its regex keys: call it off the event loop."""
    check_lorebook_size(len(data))
    if not data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith((b"{", b"[")):
        raise LoreError(f"'{filename[:80]}' is not a JSON file: a lorebook must be JSON "
                        "(lorebook_v3, character_book or SillyTavern world info).")
    try:
        book = _book(f.read_json(data), book_name_from(filename))
    except FieldProblem as problem:
        raise LoreError.from_problem(problem) from None
    refused = book_problem(book)
    if refused is not None:
        raise LoreError(f"Can't import the lorebook: {refused}, then import it again.")
    return book


def export_lorebook(book: Lorebook) -> bytes:
    """The book as a lorebook_v3 JSON file (UTF-8), unknown fields and extensions kept."""
    return json.dumps({"spec": "lorebook_v3", "data": book_to_dict(book)}, ensure_ascii=False, indent=2).encode()
