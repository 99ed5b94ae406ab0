"""Card JSON objects (V1 flat, V2 and V3 `{spec, spec_version, data}`) to and from the normalized Card."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from engine.cards.model import (
    CARD_NAME_MAX,
    MAX_ASSETS,
    MAX_GREETINGS,
    MAX_SOURCES,
    MAX_TAGS,
    TAG_MAX,
    Asset,
    Card,
    CardError,
    Spec,
)
from engine.lore import fields as f
from engine.lore.convert import book_from_dict, book_to_dict
from engine.lore.fields import FieldProblem
from engine.lore.keys import book_problem

V1_FIELDS = ("name", "description", "personality", "scenario", "first_mes", "mes_example")
TEXT_FIELDS = ("description", "personality", "scenario", "first_mes", "mes_example", "creator_notes",
               "system_prompt", "post_history_instructions", "creator", "character_version")
V2_FIELDS = frozenset(V1_FIELDS + TEXT_FIELDS + ("alternate_greetings", "character_book", "tags", "extensions"))
V3_FIELDS = V2_FIELDS | {"nickname", "creator_notes_multilingual", "source", "group_only_greetings",
                         "creation_date", "modification_date", "assets"}
ENVELOPE = frozenset({"spec", "spec_version", "data"})
# V2/V3 writers often copy V1 fields to the top level for old readers; `data` is authoritative.
LEGACY_COPIES = frozenset(V1_FIELDS + ("tags", "creatorcomment"))
SPECS: dict[str, Spec] = {"chara_card_v2": "v2", "chara_card_v3": "v3"}
NOT_A_CARD = ("This JSON is not a character card (no name, description or greeting found). "
              "Export the character from your app as a card (.png, .json or .charx) and import that.")


def _name(data: dict[str, Any]) -> str:
    name = f.text(data, "name", limit=CARD_NAME_MAX)
    if not name.strip():
        raise FieldProblem("'name'", "is missing or empty", "Give the character a name and import it again.")
    return name


def _book(data: dict[str, Any]) -> Any:
    raw = data.get("character_book")
    if raw is None:
        return None
    try:
        book = book_from_dict(raw)
    except FieldProblem as problem:
        raise problem.within("character_book") from None
    refused = book_problem(book)
    if refused is not None:
        raise CardError(f"Can't import the card: its lorebook's {refused}, then import it again.")
    return book


def _asset(raw: Any, number: int) -> Asset:
    if not isinstance(raw, dict):
        raise FieldProblem(f"assets item {number}", f"must be an object, not {f.type_name(raw)}")
    try:
        return Asset(type=f.text(raw, "type", limit=TAG_MAX), uri=f.text(raw, "uri"),
                     name=f.text(raw, "name", limit=TAG_MAX), ext=f.text(raw, "ext", limit=TAG_MAX),
                     extra=f.unknown(raw, {"type", "uri", "name", "ext"}))
    except FieldProblem as problem:
        raise problem.within(f"assets item {number}") from None


def _assets(data: dict[str, Any]) -> tuple[Asset, ...] | None:
    raw = data.get("assets")
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise FieldProblem("'assets'", f"must be a list, not {f.type_name(raw)}")
    if len(raw) > MAX_ASSETS:
        raise FieldProblem("'assets'", f"has {len(raw):,} entries (the limit is {MAX_ASSETS:,})")
    return tuple(_asset(item, number) for number, item in enumerate(raw, start=1))


def _multilingual(data: dict[str, Any]) -> dict[str, str] | None:
    if data.get("creator_notes_multilingual") is None:
        return None
    notes = f.obj(data, "creator_notes_multilingual")
    for language in notes:
        f.text(notes, language)
    return notes


def _v3_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "nickname": f.optional_text(data, "nickname", limit=CARD_NAME_MAX),
        "creator_notes_multilingual": _multilingual(data),
        "source": f.optional_text_list(data, "source", max_items=MAX_SOURCES),
        "group_only_greetings": f.text_list(data, "group_only_greetings", max_items=MAX_GREETINGS),
        "creation_date": f.number(data, "creation_date"),
        "modification_date": f.number(data, "modification_date"),
        "assets": _assets(data),
    }


def card_from_data(data: dict[str, Any], *, top_extra: dict[str, Any], flat: bool) -> Card:
    """A Card from a `data` object (or a flat V1 object, whose unknown fields go to `top_extra`)."""
    unknown = f.unknown(data, V3_FIELDS)
    return Card(
        name=_name(data), **{key: f.text(data, key) for key in TEXT_FIELDS},  # type: ignore[arg-type]  # text fields
        alternate_greetings=f.text_list(data, "alternate_greetings", max_items=MAX_GREETINGS),
        tags=f.text_list(data, "tags", max_items=MAX_TAGS, limit=TAG_MAX),
        character_book=_book(data), extensions=f.obj(data, "extensions"), **_v3_fields(data),
        extra={} if flat else unknown, top_extra={**top_extra, **unknown} if flat else top_extra)


def _envelope(obj: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], Spec, str]:
    """Split a card object into (data, unknown top-level fields, spec, spec_version)."""
    spec = obj.get("spec")
    if spec is None:
        if not any(key in obj for key in V1_FIELDS):
            raise CardError(NOT_A_CARD)
        if "creatorcomment" in obj and "creator_notes" not in obj:  # SillyTavern's V1 name for creator notes
            obj = {("creator_notes" if k == "creatorcomment" else k): v for k, v in obj.items()}
        return obj, {}, "v1", ""
    if spec not in SPECS:
        if isinstance(spec, str) and "lorebook" in spec:
            raise CardError("This file is a lorebook, not a character card: import it as a lorebook instead.")
        raise CardError(f"Unsupported card format {str(spec)[:40]!r}: import a V1, V2 or V3 character card.")
    if not isinstance(obj.get("data"), dict):
        raise CardError(f"This {spec} card has no 'data' object: export the card again and import that file.")
    version = obj.get("spec_version")
    top = {k: v for k, v in obj.items() if k not in ENVELOPE and k not in LEGACY_COPIES}
    return obj["data"], top, SPECS[spec], version if isinstance(version, str) else str(version or "")


def card_from_json(obj: Any) -> tuple[Card, Spec, str]:
    """A Card, its spec ("v1"/"v2"/"v3") and spec_version from a parsed card JSON value; CardError if it isn't one."""
    if not isinstance(obj, dict):
        raise CardError(NOT_A_CARD)
    data, top, spec, version = _envelope(obj)
    try:
        card = card_from_data(data, top_extra=top, flat=spec == "v1")
    except FieldProblem as problem:
        raise CardError.from_problem(problem) from None
    except ValidationError as exc:
        where = ".".join(str(part) for part in exc.errors()[0]["loc"])
        raise CardError(f"Can't import the card: '{where}' is not valid. Fix it in the file and import it again.") \
            from None
    return card, spec, version


def _v2_data(card: Card) -> dict[str, Any]:
    data: dict[str, Any] = {key: getattr(card, key) for key in V1_FIELDS + TEXT_FIELDS}
    data["alternate_greetings"] = list(card.alternate_greetings)
    data["tags"] = list(card.tags)
    data["extensions"] = dict(card.extensions)
    if card.character_book is not None:
        data["character_book"] = book_to_dict(card.character_book)
    return data


def _asset_dict(asset: Asset) -> dict[str, Any]:
    return {**asset.extra, "type": asset.type, "uri": asset.uri, "name": asset.name, "ext": asset.ext}


def card_to_v3(card: Card) -> dict[str, Any]:
    """The card as a V3 object, every field, extension and unknown field kept."""
    data = _v2_data(card)
    data["group_only_greetings"] = list(card.group_only_greetings)
    optional = {"nickname": card.nickname, "creator_notes_multilingual": card.creator_notes_multilingual,
                "source": None if card.source is None else list(card.source), "creation_date": card.creation_date,
                "modification_date": card.modification_date,
                "assets": None if card.assets is None else [_asset_dict(a) for a in card.assets]}
    data.update({key: value for key, value in optional.items() if value is not None})
    return {**card.top_extra, "spec": "chara_card_v3", "spec_version": "3.0", "data": {**card.extra, **data}}


def card_to_v2(card: Card) -> dict[str, Any]:
    """The card as a V2 object for older readers (V3-only fields are left out)."""
    extra = {k: v for k, v in card.extra.items() if k not in V3_FIELDS}
    return {**card.top_extra, "spec": "chara_card_v2", "spec_version": "2.0", "data": {**extra, **_v2_data(card)}}
