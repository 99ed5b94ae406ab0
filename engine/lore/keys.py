"""Lorebook keys compiled with RE2, a regex engine made for patterns people type: it runs in time linear in the
text, so no key can stall a prompt. Plain keys, `use_regex` keys and SillyTavern's `/pattern/flags` keys all go
through it. RE2 has no lookaround and no backreferences: whole-word matching checks the characters around a
match here instead (with Python's Unicode idea of a word character), and a regex key RE2 can't run, or whose
program is too large to run quickly, is refused when a book is written (`key_problem`) and never matches."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import re2

from engine.lore.model import Lorebook, LoreEntry
from engine.text import terminal_safe

MAX_PROGRAM = 1_000  # RE2 instructions a regex key may compile to (the cost of a search grows with it)
MAX_UNICODE_CLASSES = 10  # \p{…} classes in one key: each takes RE2 a while to build (the GIL held meanwhile)
KEY_MEMORY = 1 << 20  # RE2's memory budget for one compiled key (its program and its DFA cache)
REGEX_CACHE = 256  # compiled regex keys kept (each may hold up to KEY_MEMORY)
PLAIN_CACHE = 8_192  # compiled plain keys kept (literals: small)
JS_FLAGS = frozenset("gimsuy")  # SillyTavern takes JavaScript's flag letters; g, u and y change nothing here
SHOWN_KEY = 60  # characters of a key quoted in a refusal


class KeyProblem(ValueError):
    """A key that can't be matched safely: what is wrong with it and what to do (`str()` is one line)."""

    def __init__(self, key: str, problem: str, fix: str) -> None:
        super().__init__(f"key '{shown(key)}': {problem}; {fix}")
        self.key, self.problem, self.fix = key, problem, fix


@dataclass(frozen=True)
class CompiledKey:
    """A key ready to search UTF-8 text; `whole_words` keeps only matches with no word character beside them."""

    regex: Any  # re2._Regexp (the package has no public type for it)
    whole_words: bool
    pattern: bool = False  # a regular expression (else a literal, cheap to search)

    def search(self, text: bytes, start: int = 0) -> tuple[int, int] | None:
        """The byte span of the first match at or after `start` (whole words aside), or None."""
        found = self.regex.search(text, start)
        return None if found is None else found.span()


def shown(key: str) -> str:
    """A key as quoted back to a person: control characters escaped, long ones cut."""
    visible = terminal_safe(key).replace("\n", "\\n").replace("\t", "\\t")
    return visible if len(visible) <= SHOWN_KEY else visible[:SHOWN_KEY - 1] + "…"


def slashed(key: str) -> tuple[str, str] | None:
    """(pattern, flags) of a `/pattern/flags` key, as SillyTavern reads one, else None."""
    key = key.strip()
    end = key.rfind("/")
    if not key.startswith("/") or end < 2 or not set(key[end + 1:]) <= JS_FLAGS:
        return None
    return key[1:end], key[end + 1:]


def _options(*, case_sensitive: bool, literal: bool = False) -> re2.Options:
    options = re2.Options()
    options.max_mem = KEY_MEMORY
    options.log_errors = False
    options.never_capture = True
    options.case_sensitive = case_sensitive
    options.literal = literal
    return options


def _hex_run(text: str, start: int, count: int) -> bool:
    part = text[start:start + count]
    return len(part) == count and all(c in "0123456789abcdefABCDEF" for c in part)


def _escapes(pattern: str) -> list[str]:
    """The letter after each escaping backslash of a pattern."""
    letters, i = [], 0
    while i < len(pattern) - 1:
        if pattern[i] == "\\":
            letters.append(pattern[i + 1])
            i += 2
        else:
            i += 1
    return letters


def from_javascript(pattern: str) -> str:
    """JavaScript's `\\uXXXX` and `\\u{X…}` escapes as RE2's `\\x{…}` (everything else RE2 reads as written)."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern[i] != "\\" or i + 1 == len(pattern):
            out.append(pattern[i])
            i += 1
            continue
        if pattern[i + 1] == "u" and _hex_run(pattern, i + 2, 4):
            out.append(f"\\x{{{pattern[i + 2:i + 6]}}}")
            i += 6
            continue
        close = pattern.find("}", i + 3, i + 11)
        if pattern.startswith("\\u{", i) and close > i + 3 and _hex_run(pattern, i + 3, close - i - 3):
            out.append(f"\\x{{{pattern[i + 3:close]}}}")
            i = close + 1
            continue
        out.append(pattern[i:i + 2])
        i += 2
    return "".join(out)


def _why(error: str) -> tuple[str, str]:
    """RE2's complaint about a pattern, worded for the person who wrote it: (problem, what to do)."""
    escape = error.partition("invalid escape sequence: ")[2]
    operator = error.partition("invalid perl operator: ")[2]
    if escape[1:2].isdigit() and escape[1:2] != "0" or escape.startswith("\\k"):
        return "backreferences are not supported", "write the key without them"
    if operator.startswith(("(?=", "(?!")):
        return "lookahead ((?=…) or (?!…)) is not supported", "write the key without it"
    if operator.startswith(("(?<=", "(?<!")):
        return "lookbehind ((?<=…) or (?<!…)) is not supported", "write the key without it"
    if operator.startswith("(?>"):
        return "atomic groups ((?>…)) are not supported", "use a plain group (?:…)"
    if error.startswith("bad repetition operator: ") and error.endswith("+"):
        return "possessive repeats (++, *+, ?+) are not supported", "drop the second +"
    if error.startswith("invalid repetition size"):
        return ("a repeat count above 1,000 (counting repeats inside repeats) is not supported",
                "use smaller counts")
    if error.startswith("pattern too large"):
        return "the pattern is too large to match quickly", "simplify it or split it into several keys"
    if escape:
        return f"the escape {escape} is not supported", "write it another way (see the README's Lorebooks section)"
    return f"it is not a regular expression Chronicle can run ({error})", "fix it, or write plain keywords instead"


def _compile(pattern: str, options: re2.Options) -> Any:
    """RE2's compiled pattern, or KeyProblem (the key is filled in by the caller)."""
    classes = sum(1 for letter in _escapes(pattern) if letter in "pP")
    if classes > MAX_UNICODE_CLASSES:
        raise KeyProblem("", f"it uses {classes} Unicode classes (\\p…; the limit is {MAX_UNICODE_CLASSES})",
                         "use fewer, or plain keywords")
    try:
        regex = re2.compile(pattern, options)
    except re2.error as exc:
        raw = exc.args[0] if exc.args else ""
        raise KeyProblem("", *_why(raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw))) from None
    if regex.programsize > MAX_PROGRAM:
        raise KeyProblem("", f"the pattern is too large to match quickly ({regex.programsize:,} steps; the limit is "
                             f"{MAX_PROGRAM:,})", "simplify it or split it into several keys")
    return regex


@lru_cache(maxsize=REGEX_CACHE)
def _regex_key(key: str, case_sensitive: bool) -> CompiledKey | KeyProblem:
    pattern, flags = slashed(key) or (key, "" if case_sensitive else "i")
    prefix = "".join(flag for flag in "ms" if flag in flags)
    try:
        regex = _compile((f"(?{prefix})" if prefix else "") + from_javascript(pattern),
                         _options(case_sensitive="i" not in flags))
    except KeyProblem as problem:
        return KeyProblem(key, problem.problem, problem.fix)
    return CompiledKey(regex, whole_words=False, pattern=True)


@lru_cache(maxsize=PLAIN_CACHE)
def _plain_key(text: str, case_sensitive: bool, whole_words: bool) -> CompiledKey | KeyProblem:
    try:
        return CompiledKey(re2.compile(text, _options(case_sensitive=case_sensitive, literal=True)), whole_words)
    except re2.error:  # a literal always compiles within KEY_MAX; a longer one from an old event may not
        return KeyProblem(text, "the keyword is too long to match", "shorten it")


def prepared(key: str, use_regex: bool, case_sensitive: bool, whole_words: bool) -> CompiledKey | KeyProblem | None:
    """One key ready to search, the KeyProblem of a regex key RE2 can't run safely, or None for a blank key
    (each cached: REGEX_CACHE regex keys, PLAIN_CACHE plain ones).

    `/pattern/flags` keys follow only their own flags (i, m, s); `use_regex` keys follow the entry's case
    setting; plain keys also follow its whole-words setting."""
    if not key.strip():
        return None
    js = slashed(key)
    if use_regex or js is not None:
        return _regex_key(key, True if js is not None else case_sensitive)  # a /…/ key's flags decide its case
    return _plain_key(key.strip(), case_sensitive, whole_words)


def compile_key(key: str, *, use_regex: bool, case_sensitive: bool, whole_words: bool) -> CompiledKey | None:
    """One key ready to search (None for a blank key); raises KeyProblem for a regex key RE2 can't run safely."""
    ready = prepared(key, use_regex, case_sensitive, whole_words)
    if isinstance(ready, KeyProblem):
        raise ready
    return ready


def key_problem(key: str, *, use_regex: bool, case_sensitive: bool) -> KeyProblem | None:
    """Why a key would be refused, or None when it can be matched (plain keys always can)."""
    if not use_regex and slashed(key) is None:
        return None
    try:
        compile_key(key, use_regex=use_regex, case_sensitive=case_sensitive, whole_words=False)
    except KeyProblem as problem:
        return problem
    return None


def entry_problem(entry: LoreEntry) -> KeyProblem | None:
    """The first of an entry's keys and secondary keys that would be refused, or None."""
    for key in (*entry.keys, *entry.secondary_keys):
        problem = key_problem(key, use_regex=entry.use_regex, case_sensitive=bool(entry.case_sensitive))
        if problem is not None:
            return problem
    return None


def book_problem(book: Lorebook) -> str | None:
    """'entry N, key '…': what is wrong' for the first entry (numbered from 1) with a refused key, or None."""
    for number, entry in enumerate(book.entries, start=1):
        problem = entry_problem(entry)
        if problem is not None:
            return f"entry {number}, {problem}"
    return None
