"""Key matching for lorebook entries: plain or regex keys (RE2, see engine.lore.keys), case, whole words and
secondary-key logic, against UTF-8 text, within a deadline."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from engine.lore.keys import CompiledKey, KeyProblem, prepared
from engine.lore.model import LoreEntry


class TimedOut(Exception):
    """Matching passed its deadline before the entry was decided."""


class Deadline:
    """When matching must stop: after `seconds` of the matching thread's own CPU time (the cost it puts on the
    machine, whatever else runs), or after `wall_seconds` of real time (a thread starved of CPU stops too). A
    search already running finishes; nothing new starts after. Read it on the thread that matches."""

    def __init__(self, seconds: float | None, *, wall_seconds: float | None = None,
                 clock: Callable[[], float] = time.thread_time,
                 wall_clock: Callable[[], float] = time.monotonic) -> None:
        self._clock, self._wall_clock = clock, wall_clock
        self._at = math.inf if seconds is None else clock() + seconds
        self._wall_at = math.inf if wall_seconds is None else wall_clock() + wall_seconds

    @classmethod
    def never(cls) -> Deadline:
        """A deadline that never passes (pure activation, as in the unit tests)."""
        return cls(None)

    def passed(self) -> bool:
        """Whether the time is up."""
        return self._clock() >= self._at or self._wall_clock() >= self._wall_at

    def check(self) -> None:
        """Raise TimedOut when the time is up."""
        if self.passed():
            raise TimedOut

    def left(self) -> tuple[float, float]:
        """(CPU seconds, real seconds) left, at least 0 (infinite without a limit)."""
        return max(0.0, self._at - self._clock()), max(0.0, self._wall_at - self._wall_clock())


def _is_word(char: str) -> bool:
    """A word character as Python's `\\w` has it: a letter, a digit or a number of any script, or `_`."""
    return char.isalnum() or char == "_"


def _char_before(text: bytes, at: int) -> str:
    start = at - 1
    while start > 0 and text[start] & 0xC0 == 0x80:
        start -= 1
    return text[start:at].decode("utf-8", "replace") if at > 0 else ""


def _char_after(text: bytes, at: int) -> str:
    if at >= len(text):
        return ""
    lead = text[at]
    width = 1 if lead < 0xC0 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
    return text[at:at + width].decode("utf-8", "replace")


def _next_char(text: bytes, at: int) -> int:
    at += 1
    while at < len(text) and text[at] & 0xC0 == 0x80:
        at += 1
    return at


def found(key: CompiledKey, text: bytes, deadline: Deadline) -> bool:
    """Whether `key` occurs in `text`; for whole words, with no word character right before or after it."""
    span = key.search(text)
    if not key.whole_words:
        return span is not None
    while span is not None:
        start, end = span
        if not _is_word(_char_before(text, start)[:1] or " ") and not _is_word(_char_after(text, end)[:1] or " "):
            return True
        deadline.check()
        span = key.search(text, _next_char(text, start))
    return False


def _search(entry: LoreEntry, keys: tuple[str, ...], text: bytes, deadline: Deadline, *,
            first_hit: bool) -> tuple[list[bool], bool]:
    """(a hit or miss for each usable key, whether any key was unsupported); with `first_hit`, stop at a hit."""
    hits: list[bool] = []
    refused = False
    for key in keys:
        ready = prepared(key, entry.use_regex, bool(entry.case_sensitive), bool(entry.match_whole_words))
        if isinstance(ready, KeyProblem):
            refused = True  # a key recorded before keys were checked: it never matches
            continue
        if ready is not None:
            if ready.pattern or ready.whole_words:
                deadline.check()  # a literal is searched in microseconds: no need to read the clock for it
            hits.append(found(ready, text, deadline))
            if first_hit and hits[-1]:
                break
    return hits, refused


def _secondary_ok(entry: LoreEntry, text: bytes, deadline: Deadline) -> tuple[bool, bool]:
    """(whether the secondary-key logic holds, whether a secondary key was unsupported)."""
    if not entry.selective or not any(k.strip() for k in entry.secondary_keys):
        return True, False
    hits, refused = _search(entry, entry.secondary_keys, text, deadline, first_hit=False)
    hits += [False] * refused
    logic = entry.selective_logic
    if logic == "AND_ANY":
        return any(hits), refused
    if logic == "AND_ALL":
        return all(hits), refused
    if logic == "NOT_ANY":
        return not any(hits), refused
    return not all(hits), refused  # NOT_ALL


def match_entry(entry: LoreEntry, text: bytes, deadline: Deadline | None = None) -> bool | None:
    """True when a primary key occurs in `text` and the secondary logic holds; False when not; None when not
    and one of the keys that decided it is unsupported. TimedOut when the deadline passes first."""
    if not text or not entry.keys:
        return False
    deadline = deadline or Deadline.never()
    deadline.check()
    hits, refused = _search(entry, entry.keys, text, deadline, first_hit=True)
    if not any(hits):
        return None if refused else False
    holds, refused = _secondary_ok(entry, text, deadline)
    return True if holds else (None if refused else False)
