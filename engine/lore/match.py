"""Key matching for lorebook entries: plain or regex keys, case, whole words and secondary-key logic."""

from __future__ import annotations

import re
from functools import lru_cache

from engine.lore.model import LoreEntry

# A key written as /pattern/flags is a regular expression (JavaScript flag letters, as SillyTavern takes them).
SLASHED = re.compile(r"^/([\w\W]+?)/([gimsuy]*)$")
FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}


def _regex(pattern: str, flags: int) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern, flags)
    except (re.error, OverflowError, RecursionError):
        return None  # an invalid pattern never matches (spec V3, `use_regex`)


def compile_key(key: str, *, use_regex: bool, case_sensitive: bool, whole_words: bool) -> re.Pattern[str] | None:
    """One key as a compiled pattern, or None for an empty key or an invalid regex."""
    if not key.strip():
        return None
    slashed = SLASHED.match(key.strip())
    if slashed:
        flags = 0
        for letter in slashed.group(2):
            flags |= FLAGS.get(letter, 0)
        return _regex(slashed.group(1), flags)
    case = 0 if case_sensitive else re.IGNORECASE
    if use_regex:
        return _regex(key, case)
    body = re.escape(key.strip())
    return _regex(rf"(?<!\w){body}(?!\w)" if whole_words else body, case)


@lru_cache(maxsize=4096)
def compile_keys(keys: tuple[str, ...], use_regex: bool, case_sensitive: bool,
                 whole_words: bool) -> tuple[re.Pattern[str], ...]:
    """Every usable key of a list, compiled (cached: entries are immutable)."""
    compiled = (compile_key(key, use_regex=use_regex, case_sensitive=case_sensitive, whole_words=whole_words)
                for key in keys)
    return tuple(pattern for pattern in compiled if pattern is not None)


def _patterns(entry: LoreEntry, keys: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return compile_keys(keys, entry.use_regex, bool(entry.case_sensitive), bool(entry.match_whole_words))


def secondary_ok(entry: LoreEntry, text: str) -> bool:
    """Whether the entry's secondary-key logic holds for `text` (always true when it doesn't apply)."""
    patterns = _patterns(entry, entry.secondary_keys)
    if not entry.selective or not patterns:
        return True
    hits = [bool(pattern.search(text)) for pattern in patterns]
    logic = entry.selective_logic
    if logic == "AND_ANY":
        return any(hits)
    if logic == "AND_ALL":
        return all(hits)
    if logic == "NOT_ANY":
        return not any(hits)
    return not all(hits)  # NOT_ALL


def keys_match(entry: LoreEntry, text: str) -> bool:
    """Whether a primary key occurs in `text` and the secondary logic holds."""
    if not text:
        return False
    if not any(pattern.search(text) for pattern in _patterns(entry, entry.keys)):
        return False
    return secondary_ok(entry, text)
