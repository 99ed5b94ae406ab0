"""Lore keys under RE2: what is refused and how it is worded, SillyTavern's regex keys that keep working,
whole words and case in any script, the deadline, and the bounds on the text scanned."""

from __future__ import annotations

from typing import Any

import pytest

from engine.lore import Activation, LoreEntry, LoreState, activate
from engine.lore.activate import LINE_SCAN_CHARS, SCAN_CHARS
from engine.lore.keys import MAX_PROGRAM, entry_problem, key_problem
from engine.lore.match import Deadline


def run(entries: list[LoreEntry], messages: list[str], **kw: Any) -> Activation:
    options: dict[str, Any] = {"character": "Alice", "state": LoreState(), "seed": "seed", "budget_tokens": 1_000,
                               "estimate_tokens": lambda text: len(text.split())}
    options.update(kw)
    return activate(entries, messages=messages, **options)


def fires(key: str, text: str, **entry: Any) -> bool:
    """Whether an entry with this one key comes into the prompt after `text`."""
    return bool(run([LoreEntry(id=1, keys=(key,), content="x", **entry)], [text]).entries)


def refusal(key: str, *, use_regex: bool = False) -> str:
    problem = key_problem(key, use_regex=use_regex, case_sensitive=False)
    assert problem is not None, key
    return str(problem)


@pytest.mark.parametrize(("key", "words"), [
    (r"/(a)\1/", "key '/(a)\\1/': backreferences are not supported; write the key without them"),
    (r"/(?<n>a)\k<n>/", "backreferences are not supported"),
    ("/dragon(?=s)/i", "key '/dragon(?=s)/i': lookahead ((?=…) or (?!…)) is not supported; write the key without it"),
    ("/(?!sea)dragon/", "lookahead"),
    ("/(?<!old )king/", "lookbehind ((?<=…) or (?<!…)) is not supported; write the key without it"),
    ("/(?<=sir )knight/", "lookbehind"),
    ("/(?>ab|a)c/", "atomic groups ((?>…)) are not supported; use a plain group (?:…)"),
    ("/a++b/", "possessive repeats (++, *+, ?+) are not supported; drop the second +"),
    ("/x{1001}/", "a repeat count above 1,000 (counting repeats inside repeats) is not supported; use smaller counts"),
    ("/(x{100}){100}/", "a repeat count above 1,000"),
    (r"/(\w+\s?){200}z/", f"the pattern is too large to match quickly (1,605 steps; the limit is {MAX_PROGRAM:,}); "
                          "simplify it or split it into several keys"),
    (r"/\p{L}{1000}/", "the pattern is too large to match quickly; simplify it or split it into several keys"),
    ("/(?i)" + r"\pL" * 250 + "/", "it uses 250 Unicode classes (\\p…; the limit is 10); use fewer, or plain keywords"),
    ("/(unclosed/", "it is not a regular expression Chronicle can run (missing ): (unclosed); fix it, or write plain "
                    "keywords instead"),
    (r"/\cA/", "the escape \\c is not supported"),
])
def test_keys_re2_cannot_run_safely_are_refused_in_one_line_saying_what_to_do(key: str, words: str) -> None:
    assert words in refusal(key)
    assert "\n" not in refusal(key)


def test_use_regex_keys_are_checked_and_plain_keys_never_refused() -> None:
    assert "lookahead" in refusal("foo(?=bar)", use_regex=True)
    for plain in ("foo(?=bar)", r"(a)\1", "(((", "/not closed", "a/b/", "//"):
        assert key_problem(plain, use_regex=False, case_sensitive=False) is None
    long_key = "/" + "spam" * 240 + "(?=x)/"
    assert refusal(long_key).startswith("key '/spamspamspam") and "…'" in refusal(long_key)  # quoted, cut short
    entry = LoreEntry(keys=("ok",), secondary_keys=("/(?<!a)b/",), content="x")
    assert "lookbehind" in str(entry_problem(entry))


def test_catastrophic_patterns_for_backtracking_engines_run_in_linear_time() -> None:
    """The keys that hung the old matcher (Python's re) are plain work for RE2; no timing needed: they hung for ever."""
    line = "a" * 3_000 + "!"
    assert not fires("/(a+)+$/", line) and fires("/(a+)+!/", line)
    assert not fires("/(a|aa)*c/", line) and not fires("/(x+x+)+y/", "x" * 5_000)
    assert fires("/^(a+)+$/m", "hello\n" + "a" * 5_000)


@pytest.mark.parametrize(("key", "text", "expected"), [
    ("/dra(g|k)on/i", "A DRAKON!", True),
    (r"/\b(?:dragon|wyrm|drake)s?\b/i", "three Wyrms sleep", True),
    (r"/\b(?:dragon|wyrm|drake)s?\b/i", "dragonfly", False),
    (r"/\bking(?:dom)?\b/", "the kingdom falls", True),
    (r"/\bking(?:dom)?\b/", "the King", False),
    (r"/\d{1,3}(?:,\d{3})*\s*gold/", "it costs 12,500 gold", True),
    (r"/[A-Z][a-z]+ the (?:Great|Terrible)/", "Ivan the Terrible", True),
    (r"/^\s*\*[^*]+\*/", "  *she bows*", True),
    ("/^farewell$/m", "well then\nfarewell\nand more", True),
    ("/^farewell$/", "well then\nfarewell\nand more", False),
    ("/begin.*end/s", "begin\nthe end", True),
    ("/begin.*end/", "begin\nthe end", False),
    ("/sword|blade/gi", "a BLADE", True),
    (r"/(?<who>Aria|Bram) sings/u", "Bram sings", True),
    (r"/\u00e9lan/", "with élan", True),
    (r"/caf\u{E9}/u", "the café", True),
    (r"/[\/\\]path/", "a/path", True),
])
def test_ordinary_sillytavern_regex_keys_keep_working(key: str, text: str, expected: bool) -> None:
    assert fires(key, text) is expected


@pytest.mark.parametrize(("key", "text", "expected"), [
    ("cat", "a catalogue", False), ("cat", "the cat.", True), ("cat", "cat_food", False), ("cat", "(cat)", True),
    ("élan", "with élan!", True), ("élan", "des élans", False), ("élan", "sélan", False),
    ("Anna", "Annaé is here", False), ("Anna", "Anna, é", True),
    ("東京", "「東京」へ", True), ("東京", "去東京了", False),
    ("Москва", "в Москве", False), ("Москва", "Москва!", True),
    ("7", "room 7.", True), ("7", "x7", False), ("7", "٣7", False),  # an Arabic-Indic digit is a word character
    ("a a", "xa a a", True),  # the first occurrence is inside a word, the second is whole
    ("sir", "Sir, sir", True), ("sir", "Sirs, sirs", False),
])
def test_whole_words_use_unicode_word_characters(key: str, text: str, expected: bool) -> None:
    assert fires(key, text, match_whole_words=True) is expected


@pytest.mark.parametrize(("key", "text"), [
    ("élodie", "ÉLODIE waves"), ("ÉLODIE", "élodie waves"), ("Σοφία", "ΣΟΦΊΑ"), ("οδυσσευς", "ΟΔΥΣΣΕΥΣ"),
    ("ΟΔΥΣΣΕΥΣ", "ο οδυσσευς"), ("москва", "МОСКВА"), ("straße", "STRAẞE"), ("ǆ", "ǅ"),
])
def test_case_insensitive_keys_fold_any_script(key: str, text: str) -> None:
    assert fires(key, text)
    assert fires(key, text, match_whole_words=True)
    assert not fires(key, text, case_sensitive=True)


def test_an_unsupported_key_never_matches_and_is_reported() -> None:
    bad = LoreEntry(id=1, keys=("/(?<!x)dragon/",), content="x")
    mixed = LoreEntry(id=2, keys=("/(a)\\1/", "dragon"), content="x")
    secondary = LoreEntry(id=3, keys=("dragon",), secondary_keys=("/(?=fire)/",), selective=True,
                          selective_logic="AND_ANY", content="x")
    off = LoreEntry(id=4, keys=("/(a)\\1/",), enabled=False, content="x")
    result = run([bad, mixed, secondary, off], ["a dragon breathes fire"])
    assert [e.id for e in result.entries] == [2]
    assert {d.entry.id: d.reason for d in result.dropped} == {1: "unsupported key", 3: "unsupported key"}


def test_entries_not_decided_by_the_deadline_are_timed_out() -> None:
    keyed = LoreEntry(id=1, keys=("dragon",), content="x")
    constant = LoreEntry(id=2, constant=True, content="always")
    keyless = LoreEntry(id=3, content="never triggered")
    result = run([keyed, constant, keyless], ["a dragon"], deadline=Deadline(0))
    assert [e.id for e in result.entries] == [2]
    assert {d.entry.id: d.reason for d in result.dropped} == {1: "timed out"}
    assert [e.id for e in run([keyed, constant], ["a dragon"], deadline=Deadline(60)).entries] == [1, 2]
    starved = Deadline(60, wall_seconds=0)  # CPU time left, but no real time: a thread starved of CPU stops too
    assert {d.entry.id: d.reason for d in run([keyed], ["a dragon"], deadline=starved).dropped} == {1: "timed out"}


def test_the_text_scanned_is_bounded() -> None:
    key = LoreEntry(id=1, keys=("needle",), content="x", scan_depth=100)
    assert fires("needle", "n" * (LINE_SCAN_CHARS - 7) + " needle")
    assert not fires("needle", "n" * LINE_SCAN_CHARS + " needle")  # past a line's scanned part
    lines = ["the needle"] + ["hay " * 500] * (SCAN_CHARS // 2_000 + 1)
    assert not run([key], lines).entries  # the newest lines fill the scanned text first
    assert run([key], lines[:2]).entries
    recursive = LoreEntry(id=2, keys=("start",), content="x " * SCAN_CHARS + "needle")
    in_prompt = run([recursive, key], ["start"], budget_tokens=100_000).entries
    assert [e.id for e in in_prompt] == [2]  # recursion scans a bounded text too


def test_entries_with_plain_keys_are_decided_before_costly_regex_ones() -> None:
    """A book of costly regex keys listed first can't use up the time of an ordinary entry listed after it."""
    costly = LoreEntry(id="costly", keys=("/(a|b)*a(a|b){900}c/", "/(.?){100}z/", "/dragon/"), content="x")
    plain = LoreEntry(id="plain", keys=("dragon",), content="y")
    ticks = iter(range(1_000))
    one_search = Deadline(2, clock=lambda: next(ticks))  # the clock moves one tick each time it is read
    result = run([costly, plain], ["a dragon"], deadline=one_search)
    assert [e.id for e in result.entries] == ["plain"]
    assert {d.entry.id: d.reason for d in result.dropped} == {"costly": "timed out"}
