"""Lore activation: which entries enter a prompt, and why the others did not. Pure and deterministic.

Time is counted in messages. `LoreState.fired_at[key]` is the message count at which an entry last fired;
an entry with `sticky` S stays active for the S messages after that, then `cooldown` C blocks it for the
C messages after that; `delay` D keeps it out until the chat has D messages. Probability rolls come from a
hash of (seed, entry key), so the same seed always gives the same entries. The state is derived only from
earlier activations (see `next_state` and `LoreState.from_history`), so replaying a chat rebuilds it.

Matching has a deadline (engine.lore.match.Deadline): entries not decided when it passes are dropped as
"timed out" (with no deadline, activation is pure). The text scanned is bounded: each line's first
LINE_SCAN_CHARS characters, the newest lines up to SCAN_CHARS in all, and as much of the entries' text for
recursion.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Literal

from engine.lore.keys import slashed
from engine.lore.match import Deadline, TimedOut, match_entry
from engine.lore.model import DEFAULT_SCAN_DEPTH, Lorebook, LoreEntry

DropReason = Literal["over budget", "cooldown", "delay", "probability", "not present", "disabled", "timed out",
                     "unsupported key"]
ACTIVE = "active"
TIMED_OUT: DropReason = "timed out"
UNSUPPORTED: DropReason = "unsupported key"
LINE_SCAN_CHARS = 4_000  # a line is scanned up to this many characters (a person's message is at most 4,000)
SCAN_CHARS = 8_000  # the text one scan searches, at most (the newest lines; the entries' text for recursion)


@dataclass(frozen=True)
class LoreState:
    """What activation remembers between messages: when each entry last fired, and the chat's length."""

    message_count: int = 0
    fired_at: Mapping[str, int] = field(default_factory=dict)

    def at(self, message_count: int) -> LoreState:
        """The same memory, for a chat that now has `message_count` messages."""
        return replace(self, message_count=message_count)

    @classmethod
    def from_history(cls, history: Iterable[tuple[int, Iterable[str]]], message_count: int) -> LoreState:
        """Rebuild the state from recorded firings: (message count, keys that fired then), oldest first."""
        fired: dict[str, int] = {}
        for count, keys in history:
            fired.update(dict.fromkeys(keys, count))
        return cls(message_count=message_count, fired_at=fired)


@dataclass(frozen=True)
class Dropped:
    """An entry that would have entered the prompt, and why it did not."""

    entry: LoreEntry
    reason: DropReason
    key: str


@dataclass(frozen=True)
class Activation:
    """The entries for the prompt (in insertion order), what was dropped, and what newly fired."""

    entries: tuple[LoreEntry, ...]
    keys: tuple[str, ...]
    dropped: tuple[Dropped, ...]
    fired: tuple[str, ...]
    message_count: int
    tokens: int


@dataclass(frozen=True)
class _Candidate:
    key: str
    entry: LoreEntry
    index: int
    scan_depth: int
    recursive: bool
    book: int | None
    book_budget: int | None


def _book_candidates(book: Lorebook, book_index: int, start: int, taken: set[str]) -> list[_Candidate]:
    out = []
    for offset, entry in enumerate(book.entries):
        base = f"{book.name or f'book{book_index}'}:{entry.id if entry.id is not None else offset}"
        key, n = base, 1
        while key in taken:
            n += 1
            key = f"{base}#{n}"
        taken.add(key)
        depth = entry.scan_depth if entry.scan_depth is not None else book.scan_depth
        out.append(_Candidate(key, entry, start + offset, DEFAULT_SCAN_DEPTH if depth is None else depth,
                              book.recursive_scanning is not False, book_index, book.token_budget))
    return out


def candidates(books_or_entries: Sequence[Lorebook | LoreEntry]) -> list[tuple[str, LoreEntry]]:
    """Every entry with the key that activation and LoreState use for it (`<book name>:<entry id>`)."""
    return [(c.key, c.entry) for c in _candidates(books_or_entries)]


def _candidates(books_or_entries: Sequence[Lorebook | LoreEntry]) -> list[_Candidate]:
    taken: set[str] = set()
    loose = Lorebook(name="entries", entries=tuple(x for x in books_or_entries if isinstance(x, LoreEntry)))
    books = [x for x in books_or_entries if isinstance(x, Lorebook)] + ([loose] if loose.entries else [])
    out: list[_Candidate] = []
    for book_index, book in enumerate(books):
        out += _book_candidates(book, book_index, len(out), taken)
    return out


def _roll(seed: str, key: str) -> int:
    digest = hashlib.sha256(f"{seed}\x1f{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


def _names(character: str | Collection[str] | None) -> frozenset[str]:
    given = [character] if isinstance(character, str) else list(character or ())
    return frozenset(name.strip().casefold() for name in given if name.strip())


@dataclass(frozen=True)
class _Judge:
    now: int
    state: LoreState
    seed: str
    present: frozenset[str]

    def sticky(self, c: _Candidate) -> bool:
        """Whether the entry is within the `sticky` messages after it last fired."""
        fired = self.state.fired_at.get(c.key)
        return fired is not None and 0 < self.now - fired <= c.entry.sticky

    def cooling(self, c: _Candidate) -> bool:
        """Whether the entry is within the `cooldown` messages after its sticky time ended."""
        fired = self.state.fired_at.get(c.key)
        end_of_sticky = None if fired is None else fired + c.entry.sticky
        return end_of_sticky is not None and end_of_sticky < self.now <= end_of_sticky + c.entry.cooldown

    def needs_search(self, c: _Candidate, first_scan: bool) -> bool:
        """Whether the entry's keys decide it (a constant or sticky entry comes in on the first scan anyway)."""
        return bool(c.entry.keys) and not (first_scan and (c.entry.constant or self.sticky(c)))

    def verdict(self, c: _Candidate, triggered: bool, first_scan: bool) -> str | None:
        """ACTIVE, a drop reason, or None when the entry was not triggered at all."""
        e, sticky = c.entry, first_scan and self.sticky(c)
        if not (triggered or sticky or (first_scan and e.constant)):
            return None
        if not e.enabled:
            return "disabled"
        if e.characters and not self.present & _names(e.characters):
            return "not present"
        if sticky:
            return ACTIVE
        if self.now < e.delay:
            return "delay"
        if self.cooling(c):
            return "cooldown"
        if e.use_probability and e.probability < 100 and _roll(self.seed, c.key) >= e.probability:
            return "probability"
        return ACTIVE


@dataclass
class _Scan:
    """What the scans found so far: each decided entry's verdict, and the entries with an unsupported key."""

    judge: _Judge
    deadline: Deadline
    decided: dict[str, str] = field(default_factory=dict)
    unsupported: set[str] = field(default_factory=set)


@lru_cache(maxsize=8_192)
def _count_regex(keys: tuple[str, ...], use_regex: bool) -> int:
    return len(keys) if use_regex else sum(1 for key in keys if slashed(key))


def _regex_keys(c: _Candidate) -> int:
    """How many of the entry's keys are regular expressions (plain keys cost least to search)."""
    return _count_regex(c.entry.keys + c.entry.secondary_keys, c.entry.use_regex)


def _scan(pending: list[_Candidate], text_for: Callable[[_Candidate], bytes], scan: _Scan,
          first: bool) -> list[_Candidate]:
    """Decide every pending entry against its text, those with fewer regex keys first (a book of costly keys
    can't use up the time of the others); return those that became active, in their order."""
    active = []
    judge, decided = scan.judge, scan.decided
    for c in sorted(pending, key=_regex_keys):
        try:
            matched = match_entry(c.entry, text_for(c), scan.deadline) if judge.needs_search(c, first) else False
        except TimedOut:
            decided[c.key] = TIMED_OUT
            continue
        if matched is None:
            scan.unsupported.add(c.key)
        verdict = judge.verdict(c, bool(matched), first)
        if verdict is not None:
            decided[c.key] = verdict
            if verdict == ACTIVE:
                active.append(c)
    return sorted(active, key=lambda c: c.index)


def scan_window(messages: Sequence[str], depth: int) -> bytes:
    """The newest `depth` lines as the UTF-8 text keys are searched in: each line cut to LINE_SCAN_CHARS, and
    the newest lines kept while they fit in SCAN_CHARS."""
    kept: list[str] = []
    room = SCAN_CHARS
    for line in reversed(messages[-depth:] if depth > 0 else ()):
        if room <= 0:
            break
        kept.append(line[:min(LINE_SCAN_CHARS, room)])
        room -= len(kept[-1]) + 1
    return "\n".join(reversed(kept)).encode()


def _age_of_match(c: _Candidate, messages: Sequence[str], deadline: Deadline) -> int:
    """How many lines back the newest line matching the entry's keys is (0: the newest line). Entries in without
    a line of their own (constant, sticky, or brought in by another entry's text) count as the oldest line scanned."""
    lines = messages[-c.scan_depth:] if c.scan_depth > 0 else ()
    for age, line in enumerate(reversed(lines)):
        try:
            if match_entry(c.entry, line[:LINE_SCAN_CHARS].encode(), deadline):
                return age
        except TimedOut:
            break
    return len(lines)


def _fit(active: list[_Candidate], budget_tokens: int, estimate_tokens: Callable[[str], int],
         ages: dict[str, int]) -> tuple[list[_Candidate], list[_Candidate], int]:
    """Admit entries by priority (else insertion order), highest first, while they fit the budgets; of entries
    of equal order, the one whose key matched a newer line first (what the newest lines ask for)."""
    ranked = sorted(active, key=lambda c: (-(c.entry.priority if c.entry.priority is not None
                                             else c.entry.insertion_order), -c.entry.insertion_order,
                                           ages.get(c.key, 0), c.index))
    kept: list[_Candidate] = []
    over: list[_Candidate] = []
    used = 0
    per_book: dict[int | None, int] = {}
    for c in ranked:
        cost = max(0, estimate_tokens(c.entry.content))
        book_used = per_book.get(c.book, 0)
        if used + cost > budget_tokens or (c.book_budget is not None and book_used + cost > c.book_budget):
            over.append(c)
            continue
        kept.append(c)
        used += cost
        per_book[c.book] = book_used + cost
    kept.sort(key=lambda c: (c.entry.insertion_order, c.index))
    return kept, over, used


def _ages(active: list[_Candidate], messages: Sequence[str], scan: _Scan, budget_tokens: int,
          estimate_tokens: Callable[[str], int]) -> dict[str, int]:
    """How old each active entry's matching line is, found only when the entries don't all fit (else no order
    among them matters)."""
    if sum(max(0, estimate_tokens(c.entry.content)) for c in active) <= budget_tokens and not any(
            c.book_budget is not None for c in active):
        return {}
    return {c.key: _age_of_match(c, messages, scan.deadline) for c in active if c.entry.keys}


def activate(books_or_entries: Sequence[Lorebook | LoreEntry], *, messages: Sequence[str],
             character: str | Collection[str] | None, state: LoreState, seed: str, budget_tokens: int,
             estimate_tokens: Callable[[str], int], max_recursion: int = 3,
             deadline: Deadline | None = None) -> Activation:
    """Decide which lore entries enter the prompt for the newest of `messages` (oldest first); entries not
    decided by `deadline` are dropped as "timed out"."""
    pool = _candidates(books_or_entries)
    now = max(state.message_count, len(messages))
    judge = _Judge(now, state, seed, _names(character))
    scan = _Scan(judge, deadline or Deadline.never())
    windows: dict[int, bytes] = {}

    def window(c: _Candidate) -> bytes:
        if c.scan_depth not in windows:
            windows[c.scan_depth] = scan_window(messages, c.scan_depth)
        return windows[c.scan_depth]

    decided = scan.decided
    active = newly = _scan(pool, window, scan, True)
    for _ in range(max(0, max_recursion)):
        text = "\n".join(c.entry.content for c in newly if not c.entry.prevent_recursion and c.entry.content)
        pending = [c for c in pool if c.key not in decided and c.recursive and not c.entry.exclude_recursion]
        if not text or not pending:
            break
        found = text[:SCAN_CHARS].encode()
        newly = _scan(pending, lambda c: found, scan, False)  # noqa: B023 (called here)
        active = active + newly
    ages = _ages(active, messages, scan, budget_tokens, estimate_tokens)
    kept, over, used = _fit(active, budget_tokens, estimate_tokens, ages)
    dropped = [Dropped(c.entry, decided[c.key], c.key) for c in pool  # type: ignore[arg-type]
               if decided.get(c.key, ACTIVE) != ACTIVE]
    dropped += [Dropped(c.entry, "over budget", c.key) for c in over]
    dropped += [Dropped(c.entry, UNSUPPORTED, c.key) for c in pool
                if c.key in scan.unsupported and c.key not in decided and c.entry.enabled]
    fired = tuple(c.key for c in kept if not judge.sticky(c))
    return Activation(tuple(c.entry for c in kept), tuple(c.key for c in kept), tuple(dropped), fired, now, used)


def next_state(state: LoreState, activation: Activation) -> LoreState:
    """The state after `activation`: entries that newly fired remember this message count."""
    fired = {**state.fired_at, **dict.fromkeys(activation.fired, activation.message_count)}
    return LoreState(message_count=activation.message_count, fired_at=fired)
