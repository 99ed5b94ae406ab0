"""Lorebooks to and from the spec's JSON objects (a V2/V3 `character_book`, the `data` of `lorebook_v3`).

SillyTavern keeps its extra entry settings (probability, timing, secondary-key logic…) in each entry's
`extensions`; they are lifted into LoreEntry fields on import and written back under the same names on
export, so SillyTavern reads our exports and the remaining `extensions` hold only keys we don't know.
"""

from __future__ import annotations

from typing import Any

from engine.lore import fields as f
from engine.lore.fields import FieldProblem
from engine.lore.model import (
    BOOK_NAME_MAX,
    DEFAULT_INSERTION_ORDER,
    KEY_MAX,
    MAX_ENTRY_CHARACTERS,
    MAX_KEYS,
    MAX_LORE_ENTRIES,
    NAME_LIMIT,
    ST_SELECTIVE_LOGIC,
    Lorebook,
    LoreEntry,
    SelectiveLogic,
)

ENTRY_FIELDS = frozenset({"id", "keys", "secondary_keys", "selective", "constant", "enabled", "insertion_order",
                          "priority", "position", "content", "name", "comment", "case_sensitive", "use_regex",
                          "extensions"})
BOOK_FIELDS = frozenset({"name", "description", "scan_depth", "token_budget", "recursive_scanning", "extensions",
                         "entries"})
LIFTED = ("probability", "useProbability", "depth", "selectiveLogic", "scan_depth", "match_whole_words",
          "case_sensitive", "sticky", "cooldown", "delay", "exclude_recursion", "prevent_recursion")
CHRONICLE = "chronicle"
LOGIC_TO_ST = {name: number for number, name in ST_SELECTIVE_LOGIC.items()}


def optional_whole(raw: dict[str, Any], key: str) -> int | None:
    """A whole number that may be absent (None)."""
    return None if raw.get(key) is None else f.whole(raw, key)


def selective_logic(value: Any) -> SelectiveLogic:
    """SillyTavern's number (0-3) or one of our names; missing means AND_ANY."""
    if value is None:
        return "AND_ANY"
    if isinstance(value, str) and value.upper() in LOGIC_TO_ST:
        return value.upper()  # type: ignore[return-value]
    if isinstance(value, int) and not isinstance(value, bool) and value in ST_SELECTIVE_LOGIC:
        return ST_SELECTIVE_LOGIC[value]
    raise FieldProblem("'selectiveLogic'", f"must be 0-3 or AND_ANY/AND_ALL/NOT_ANY/NOT_ALL, not {value!r}")


def entry_id(raw: dict[str, Any], key: str = "id") -> int | str | None:
    """An entry id: a number or text, or absent."""
    value = raw.get(key)
    if value is None or (isinstance(value, (int, str)) and not isinstance(value, bool)):
        return value
    raise FieldProblem(f"'{key}'", f"must be a number or text, not {f.type_name(value)}")


def pop_characters(extensions: dict[str, Any]) -> tuple[str, ...]:
    """Take `chronicle.characters` out of an entry's extensions (dropping an emptied `chronicle`)."""
    chronicle = extensions.get(CHRONICLE)
    if not isinstance(chronicle, dict) or "characters" not in chronicle:
        return ()
    chronicle = dict(chronicle)
    try:
        characters = f.text_list(chronicle, "characters", max_items=MAX_ENTRY_CHARACTERS, limit=NAME_LIMIT)
    except FieldProblem as problem:
        raise problem.within("extensions.chronicle") from None
    del chronicle["characters"]
    if chronicle:
        extensions[CHRONICLE] = chronicle
    else:
        del extensions[CHRONICLE]
    return characters


def lifted_settings(extensions: dict[str, Any]) -> dict[str, Any]:
    """Remove SillyTavern's entry settings from `extensions` and return them as LoreEntry keyword arguments."""
    st = {key: extensions.pop(key) for key in LIFTED if key in extensions}
    try:
        settings = {
            "selective_logic": selective_logic(st.get("selectiveLogic")),
            "match_whole_words": f.optional_flag(st, "match_whole_words"),
            "probability": f.number(st, "probability", low=0, high=100),
            "use_probability": f.flag(st, "useProbability", False),
            "depth": optional_whole(st, "depth"),
            "scan_depth": optional_whole(st, "scan_depth"),
            "sticky": f.whole(st, "sticky"), "cooldown": f.whole(st, "cooldown"), "delay": f.whole(st, "delay"),
            "exclude_recursion": f.flag(st, "exclude_recursion", False),
            "prevent_recursion": f.flag(st, "prevent_recursion", False),
            "case_sensitive": f.optional_flag(st, "case_sensitive"),
        }
    except FieldProblem as problem:
        raise problem.within("extensions") from None
    if settings["probability"] is None:
        settings["probability"] = 100
    return settings


def entry_from_dict(raw: Any, number: int) -> LoreEntry:
    """A V2/V3 lorebook entry; `number` (1-based) locates errors."""
    if not isinstance(raw, dict):
        raise FieldProblem(f"entry {number}", f"must be an object, not {f.type_name(raw)}")
    try:
        extensions = f.obj(raw, "extensions")
        settings = lifted_settings(extensions)
        if raw.get("case_sensitive") is not None:
            settings["case_sensitive"] = f.optional_flag(raw, "case_sensitive")
        order = f.number(raw, "insertion_order")
        return LoreEntry(
            id=entry_id(raw), content=f.text(raw, "content"),
            keys=f.text_list(raw, "keys", max_items=MAX_KEYS, limit=KEY_MAX, split_text=True),
            secondary_keys=f.text_list(raw, "secondary_keys", max_items=MAX_KEYS, limit=KEY_MAX, split_text=True),
            selective=f.flag(raw, "selective", False), constant=f.flag(raw, "constant", False),
            enabled=f.flag(raw, "enabled", True), use_regex=f.flag(raw, "use_regex", False),
            insertion_order=DEFAULT_INSERTION_ORDER if order is None else order,
            priority=f.number(raw, "priority"), position=f.optional_text(raw, "position", limit=NAME_LIMIT),
            name=f.optional_text(raw, "name", limit=KEY_MAX), comment=f.optional_text(raw, "comment"),
            characters=pop_characters(extensions), extensions=extensions,
            extra=f.unknown(raw, ENTRY_FIELDS), **settings)
    except FieldProblem as problem:
        raise problem.within(f"entry {number}") from None


def entries_from_list(raw: Any, convert: Any = entry_from_dict) -> tuple[LoreEntry, ...]:
    """The `entries` list of a book, within MAX_LORE_ENTRIES."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise FieldProblem("'entries'", f"must be a list, not {f.type_name(raw)}")
    if len(raw) > MAX_LORE_ENTRIES:
        raise FieldProblem("'entries'", f"has {len(raw):,} items (the limit is {MAX_LORE_ENTRIES:,})",
                           "Split it into smaller books and import them one by one.")
    return tuple(convert(item, number) for number, item in enumerate(raw, start=1))


def book_from_dict(raw: Any, *, default_name: str | None = None) -> Lorebook:
    """A lorebook from a V2/V3 `character_book` object or the `data` of a `lorebook_v3` file."""
    if not isinstance(raw, dict):
        raise FieldProblem("the lorebook", f"must be an object, not {f.type_name(raw)}")
    name = f.optional_text(raw, "name", limit=BOOK_NAME_MAX)
    return Lorebook(
        name=name if name else (default_name or name), description=f.optional_text(raw, "description"),
        scan_depth=optional_whole(raw, "scan_depth"), token_budget=optional_whole(raw, "token_budget"),
        recursive_scanning=f.optional_flag(raw, "recursive_scanning"), extensions=f.obj(raw, "extensions"),
        entries=entries_from_list(raw.get("entries")), extra=f.unknown(raw, BOOK_FIELDS))


def _entry_extensions(entry: LoreEntry) -> dict[str, Any]:
    extensions = dict(entry.extensions)
    extensions.update({
        "probability": entry.probability, "useProbability": entry.use_probability,
        "selectiveLogic": LOGIC_TO_ST[entry.selective_logic], "sticky": entry.sticky,
        "cooldown": entry.cooldown, "delay": entry.delay,
        "exclude_recursion": entry.exclude_recursion, "prevent_recursion": entry.prevent_recursion})
    for key, value in (("depth", entry.depth), ("scan_depth", entry.scan_depth),
                       ("match_whole_words", entry.match_whole_words), ("case_sensitive", entry.case_sensitive)):
        if value is not None:
            extensions[key] = value
    if entry.characters:
        chronicle = extensions.get(CHRONICLE)
        extensions[CHRONICLE] = {**(chronicle if isinstance(chronicle, dict) else {}),
                                 "characters": list(entry.characters)}
    return extensions


def entry_to_dict(entry: LoreEntry) -> dict[str, Any]:
    """A V3 lorebook entry object (SillyTavern's settings in `extensions`, unknown fields kept)."""
    out: dict[str, Any] = {
        "keys": list(entry.keys), "content": entry.content, "extensions": _entry_extensions(entry),
        "enabled": entry.enabled, "insertion_order": entry.insertion_order, "use_regex": entry.use_regex,
        "constant": entry.constant, "selective": entry.selective, "secondary_keys": list(entry.secondary_keys)}
    for key in ("id", "name", "comment", "priority", "position", "case_sensitive"):
        value = getattr(entry, key)
        if value is not None:
            out[key] = value
    return {**entry.extra, **out}


def book_to_dict(book: Lorebook) -> dict[str, Any]:
    """A V3 Lorebook object (usable as a card's `character_book` or a `lorebook_v3` file's `data`)."""
    out: dict[str, Any] = {}
    for key in ("name", "description", "scan_depth", "token_budget", "recursive_scanning"):
        value = getattr(book, key)
        if value is not None:
            out[key] = value
    out["extensions"] = dict(book.extensions)
    out["entries"] = [entry_to_dict(entry) for entry in book.entries]
    return {**book.extra, **out}
