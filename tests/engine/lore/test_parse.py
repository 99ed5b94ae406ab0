"""Lorebook import (lorebook_v3, character_book, SillyTavern world info), export and round trips."""

from __future__ import annotations

import json

import pytest

from engine.lore import (
    MAX_LORE_BYTES,
    MAX_LORE_ENTRIES,
    Lorebook,
    LoreEntry,
    LoreError,
    export_lorebook,
    parse_lorebook,
)


def _dump(obj: object) -> bytes:
    return json.dumps(obj).encode()


V3_BOOK = {
    "spec": "lorebook_v3",
    "data": {
        "name": "Eldoria", "description": "The kingdom", "scan_depth": 4, "token_budget": 500,
        "recursive_scanning": True, "extensions": {"x_tool": {"keep": [1, 2]}}, "x_book_field": "kept",
        "entries": [{
            "id": 7, "keys": ["castle", "/tow(er|n)/i"], "secondary_keys": ["night"], "selective": True,
            "content": "The castle is haunted.", "enabled": True, "insertion_order": 10, "priority": 5,
            "use_regex": False, "constant": False, "position": "after_char", "name": "Castle", "comment": "c",
            "case_sensitive": True, "x_entry_field": {"a": 1},
            "extensions": {"selectiveLogic": 3, "probability": 40, "useProbability": True, "sticky": 2,
                           "cooldown": 1, "delay": 3, "depth": 4, "scan_depth": 6, "match_whole_words": True,
                           "exclude_recursion": True, "prevent_recursion": True, "x_unknown": "kept",
                           "chronicle": {"characters": ["Alice", "c-42"], "note": "kept"}},
        }],
    },
}

ST_WORLD = {
    "entries": {
        "0": {"uid": 0, "key": ["dragon", "wyrm"], "keysecondary": ["fire"], "comment": "Dragons",
              "content": "Dragons sleep under the mountain.", "constant": False, "selective": True,
              "selectiveLogic": 2, "order": 50, "position": 4, "disable": False, "excludeRecursion": True,
              "preventRecursion": False, "probability": 75, "useProbability": True, "depth": 2, "scanDepth": 5,
              "caseSensitive": None, "matchWholeWords": True, "sticky": 1, "cooldown": 2, "delay": 0,
              "group": "beasts", "displayIndex": 0, "addMemo": True, "characterFilter": {"names": []}},
        "3": {"uid": 3, "key": ["queen"], "keysecondary": [], "comment": "", "content": "The queen is old.",
              "constant": True, "selective": False, "selectiveLogic": 1, "order": 100, "position": 0,
              "disable": True},
    },
}


def test_lorebook_v3_is_normalized() -> None:
    book = parse_lorebook(_dump(V3_BOOK), "whatever.json")
    assert (book.name, book.scan_depth, book.token_budget, book.recursive_scanning) == ("Eldoria", 4, 500, True)
    assert book.extra == {"x_book_field": "kept"}
    entry = book.entries[0]
    assert entry.id == 7 and entry.keys == ("castle", "/tow(er|n)/i") and entry.secondary_keys == ("night",)
    assert (entry.selective_logic, entry.probability, entry.use_probability) == ("AND_ALL", 40, True)
    assert (entry.sticky, entry.cooldown, entry.delay, entry.depth, entry.scan_depth) == (2, 1, 3, 4, 6)
    assert entry.match_whole_words and entry.case_sensitive and entry.exclude_recursion and entry.prevent_recursion
    assert entry.characters == ("Alice", "c-42")
    assert entry.extensions == {"x_unknown": "kept", "chronicle": {"note": "kept"}}
    assert entry.extra == {"x_entry_field": {"a": 1}}


def test_sillytavern_world_info_is_normalized_and_named_after_the_file() -> None:
    book = parse_lorebook(_dump(ST_WORLD), "worlds/Eldoria.json")
    assert book.name == "Eldoria"
    dragon, queen = book.entries
    assert dragon.id == 0 and dragon.keys == ("dragon", "wyrm") and dragon.secondary_keys == ("fire",)
    assert (dragon.selective_logic, dragon.insertion_order, dragon.probability) == ("NOT_ANY", 50, 75)
    assert (dragon.scan_depth, dragon.depth, dragon.sticky, dragon.cooldown) == (5, 2, 1, 2)
    assert dragon.exclude_recursion and not dragon.prevent_recursion and dragon.match_whole_words
    assert dragon.case_sensitive is None and dragon.position == "after_char"
    assert dragon.extensions == {"group": "beasts", "display_index": 0, "position": 4}
    assert dragon.extra == {"addMemo": True, "characterFilter": {"names": []}}
    assert queen.id == 3 and queen.constant and not queen.enabled and queen.selective_logic == "NOT_ALL"
    assert queen.position == "before_char"


def test_character_book_object_and_card_json_are_accepted() -> None:
    book_object = {"entries": [{"keys": ["moon"], "content": "Two moons.", "enabled": True,
                                "insertion_order": 1, "extensions": {}}], "extensions": {}}
    book = parse_lorebook(_dump(book_object), "Moons.json")
    assert book.name == "Moons" and book.entries[0].keys == ("moon",)
    card = {"spec": "chara_card_v2", "spec_version": "2.0", "data": {"name": "Seraphina",
                                                                      "character_book": book_object}}
    assert parse_lorebook(_dump(card), "sera.json").name == "Seraphina"


def test_comma_separated_keys_are_split() -> None:
    raw = {"entries": [{"keys": "sword, blade ,", "content": "x", "extensions": {}}]}
    assert parse_lorebook(_dump(raw), "b.json").entries[0].keys == ("sword", "blade")


@pytest.mark.parametrize("source", [V3_BOOK, ST_WORLD], ids=["lorebook_v3", "sillytavern"])
def test_import_export_import_round_trips(source: dict) -> None:
    first = parse_lorebook(_dump(source), "Eldoria.json")
    exported = export_lorebook(first)
    assert json.loads(exported)["spec"] == "lorebook_v3"
    assert parse_lorebook(exported, "other-name.json") == first


def test_export_keeps_characters_under_chronicle_extension() -> None:
    book = Lorebook(name="B", entries=(LoreEntry(id=1, keys=("k",), content="c", characters=("Alice",)),))
    data = json.loads(export_lorebook(book))["data"]
    assert data["entries"][0]["extensions"]["chronicle"] == {"characters": ["Alice"]}
    assert parse_lorebook(export_lorebook(book), "B.json") == book


ERRORS = [
    (b"\x89PNG\r\n\x1a\n....", "is not a JSON file"),
    (b"{broken", "Can't import the lorebook: the JSON is broken at line 1, column 2"),
    (b'{"foo": 1}', "This JSON is not a lorebook"),
    (b"[1, 2]", "This JSON is not a lorebook"),
    (_dump({"spec": "lorebook_v9", "data": {}}), "Unsupported lorebook format 'lorebook_v9'"),
    (_dump({"spec": "lorebook_v3"}), "has no 'data' object"),
    (_dump({"spec": "chara_card_v2", "data": {"name": "X"}}), "character card without a lorebook"),
    (_dump({"entries": [{"keys": 5, "content": "x"}]}), "entry 1 'keys' must be a list of text, not a number"),
    (_dump({"entries": [{"keys": [], "content": "x", "extensions": {"probability": 150}}]}),
     "entry 1 extensions 'probability' must be between 0 and 100"),
    (_dump({"entries": {"0": {"key": ["a"], "content": "x", "selectiveLogic": 9}}}), "entry 1 'selectiveLogic'"),
    (_dump({"entries": [{"keys": [], "content": "x" * 32_001}]}), "entry 1 'content' is 32,001 characters long"),
    (_dump({"entries": [{"keys": []}] * (MAX_LORE_ENTRIES + 1)}), "'entries' has 1,001 items (the limit is 1,000)"),
    (_dump({"entries": "nope"}), "'entries' must be a list, not text"),
    (_dump({"entries": {"0": {"key": ["a"], "content": "x"}, "7": {"key": ["/(?=a)b/i"], "content": "y"}}}),
     "Can't import the lorebook: entry 2, key '/(?=a)b/i': lookahead ((?=…) or (?!…)) is not supported; write the "
     "key without it, then import it again."),
    (_dump({"spec": "lorebook_v3", "data": {"entries": [{"keys": ["(a)\\1"], "use_regex": True, "content": "x"}]}}),
     "entry 1, key '(a)\\1': backreferences are not supported"),
    (_dump({"entries": [{"keys": ["a"], "secondary_keys": ["/x{5000}/"], "content": "x"}]}),
     "entry 1, key '/x{5000}/': a repeat count above 1,000"),
]


@pytest.mark.parametrize(("data", "message"), ERRORS)
def test_bad_files_give_one_clear_line(data: bytes, message: str) -> None:
    with pytest.raises(LoreError) as caught:
        parse_lorebook(data, "book.json")
    text = str(caught.value)
    assert message in text and "\n" not in text


def test_oversize_file_is_refused() -> None:
    with pytest.raises(LoreError, match="the limit is 10 MB"):
        parse_lorebook(b" " * (MAX_LORE_BYTES + 1), "big.json")
