"""SillyTavern's world-info export (`{"entries": {"0": {...}}}`) converted to a Lorebook."""

from __future__ import annotations

from typing import Any

from engine.lore import fields as f
from engine.lore.convert import entry_id, optional_whole, pop_characters, selective_logic
from engine.lore.fields import FieldProblem
from engine.lore.model import (
    BOOK_NAME_MAX,
    DEFAULT_INSERTION_ORDER,
    KEY_MAX,
    MAX_KEYS,
    MAX_LORE_ENTRIES,
    Lorebook,
    LoreEntry,
)

ST_FIELDS = frozenset({"uid", "key", "keysecondary", "comment", "content", "constant", "selective", "selectiveLogic",
                       "order", "position", "disable", "excludeRecursion", "preventRecursion", "probability",
                       "useProbability", "depth", "scanDepth", "caseSensitive", "matchWholeWords", "sticky",
                       "cooldown", "delay", "extensions"})
# SillyTavern settings we don't interpret, stored in `extensions` under the names its card export uses.
ST_TO_EXTENSIONS = {"group": "group", "groupOverride": "group_override", "groupWeight": "group_weight",
                    "useGroupScoring": "use_group_scoring", "displayIndex": "display_index",
                    "automationId": "automation_id", "role": "role", "vectorized": "vectorized",
                    "delayUntilRecursion": "delay_until_recursion"}
BEFORE_CHAR = 0


def is_world_info(raw: dict[str, Any]) -> bool:
    """True for SillyTavern's own world-info shape (entries keyed by uid, or entries using `key`)."""
    entries = raw.get("entries")
    if isinstance(entries, dict):
        return True
    return isinstance(entries, list) and any(isinstance(e, dict) and "key" in e and "keys" not in e
                                             for e in entries)


def _position(raw: dict[str, Any], extensions: dict[str, Any]) -> str | None:
    value = raw.get("position")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldProblem("'position'", f"must be a number, not {f.type_name(value)}")
    extensions["position"] = value
    return "before_char" if value == BEFORE_CHAR else "after_char"


def _extensions(raw: dict[str, Any]) -> dict[str, Any]:
    extensions = f.obj(raw, "extensions")
    for st_name, name in ST_TO_EXTENSIONS.items():
        if st_name in raw:
            extensions[name] = raw[st_name]
    return extensions


def _timing(raw: dict[str, Any]) -> dict[str, Any]:
    probability = f.number(raw, "probability", low=0, high=100)
    return {"probability": 100 if probability is None else probability,
            "use_probability": f.flag(raw, "useProbability", False), "depth": optional_whole(raw, "depth"),
            "scan_depth": optional_whole(raw, "scanDepth"), "sticky": f.whole(raw, "sticky"),
            "cooldown": f.whole(raw, "cooldown"), "delay": f.whole(raw, "delay")}


def entry_from_st(raw: Any, number: int, fallback_id: int | str | None = None) -> LoreEntry:
    """One SillyTavern world-info entry; `number` (1-based) locates errors."""
    if not isinstance(raw, dict):
        raise FieldProblem(f"entry {number}", f"must be an object, not {f.type_name(raw)}")
    try:
        extensions = _extensions(raw)
        position = _position(raw, extensions)
        order = f.number(raw, "order")
        uid = entry_id(raw, "uid")
        return LoreEntry(
            id=fallback_id if uid is None else uid, content=f.text(raw, "content"),
            keys=f.text_list(raw, "key", max_items=MAX_KEYS, limit=KEY_MAX, split_text=True),
            secondary_keys=f.text_list(raw, "keysecondary", max_items=MAX_KEYS, limit=KEY_MAX, split_text=True),
            comment=f.optional_text(raw, "comment"), constant=f.flag(raw, "constant", False),
            selective=f.flag(raw, "selective", False), selective_logic=selective_logic(raw.get("selectiveLogic")),
            enabled=not f.flag(raw, "disable", False), position=position,
            insertion_order=DEFAULT_INSERTION_ORDER if order is None else order,
            exclude_recursion=f.flag(raw, "excludeRecursion", False),
            prevent_recursion=f.flag(raw, "preventRecursion", False),
            case_sensitive=f.optional_flag(raw, "caseSensitive"),
            match_whole_words=f.optional_flag(raw, "matchWholeWords"),
            characters=pop_characters(extensions), extensions=extensions,
            extra=f.unknown(raw, ST_FIELDS | set(ST_TO_EXTENSIONS)), **_timing(raw))
    except FieldProblem as problem:
        raise problem.within(f"entry {number}") from None


def _uid(key: str) -> int | str:
    return int(key) if key.isdigit() else key


def book_from_st(raw: dict[str, Any], *, default_name: str | None) -> Lorebook:
    """A Lorebook from SillyTavern's world-info export; it has no name, so the file's stem names it."""
    entries = raw.get("entries")
    items = list(entries.items()) if isinstance(entries, dict) else list(enumerate(entries or []))
    if len(items) > MAX_LORE_ENTRIES:
        raise FieldProblem("'entries'", f"has {len(items):,} items (the limit is {MAX_LORE_ENTRIES:,})",
                           "Split it into smaller books and import them one by one.")
    converted = tuple(entry_from_st(item, number, _uid(str(key)))
                      for number, (key, item) in enumerate(items, start=1))
    name = f.optional_text(raw, "name", limit=BOOK_NAME_MAX) or default_name
    return Lorebook(name=name, description=f.optional_text(raw, "description"), entries=converted,
                    extra=f.unknown(raw, {"entries", "name", "description"}))
