"""Lore at prompt time (read side only; replay never calls it): which entries of the books in play enter a
character's prompt, and why the others did not.

Books in play: those attached to the story, those attached to the answering character, and the book inside
its card. Entries are matched against the newest lines of the transcript. Probability is seeded from the chat
and the newest line, so the same prompt always gets the same entries. Sticky and cooldown need to know when
an entry fired before; that is derived from the transcript itself, by activating again at each of the
preceding lines (a bounded window), so there is no hidden state to keep or lose.

Activation runs on a lore thread (engine.narrator.context.with_lore), never on the event loop or the
database's reader thread, within LORE_SECONDS of that thread's CPU time for a whole prompt (and WALL_FACTOR
times that in real time): the replay for sticky/cooldown gets REPLAY_SHARE of it and the newest line at least
the rest (a search already running when time is up finishes first, so the replay may overrun its share), and
entries not decided in time are dropped as "timed out".
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from engine import queries_lore
from engine.cards.macros import expand_macros
from engine.lore.activate import Activation, LoreState, activate, next_state
from engine.lore.match import Deadline
from engine.lore.model import Lorebook
from engine.narrator.tokens import estimate_tokens
from engine.storage.port import Conn
from engine.views import CharacterView, MessageView

LORE_SHARE = 0.2  # lore gets at most this share of the prompt budget
MAX_RECURSION = 3
REPLAY_MAX = 64  # lines looked back to derive sticky/cooldown
LORE_SECONDS = 0.05  # CPU time to match a whole prompt's lore; entries not decided by then are "timed out"
WALL_FACTOR = 10  # and real time: this many times that, for a lore thread starved of CPU
REPLAY_SHARE = 0.5  # of that time, what deriving sticky/cooldown from the earlier lines may use


def lore_tokens(prompt_tokens: int) -> int:
    """The lore's share of a prompt budget."""
    return int(prompt_tokens * LORE_SHARE)


@dataclass(frozen=True)
class LoreSource:
    """A book in play: a unique key (activation's book name), the title people see, and the book (entry ids
    are the entry numbers people use in /lore commands)."""

    key: str
    title: str
    book: Lorebook


@dataclass(frozen=True)
class LoreReport:
    """What lore a prompt got: the section's text, the entries in it and every entry that was dropped."""

    text: str
    active: tuple[tuple[str, str, int], ...] = ()  # (book, entry, tokens)
    dropped: tuple[tuple[str, str, str], ...] = ()  # (book, entry, reason)
    tokens: int = 0
    budget: int = 0
    contents: tuple[str, ...] = ()  # each active entry's text, in the order of `active`


NO_LORE = LoreReport("")


def load_sources(conn: Conn, chat_id: str, card: CharacterView) -> tuple[LoreSource, ...]:
    """The books of the story, of the character, and the character's own book (entries numbered)."""
    sources: list[LoreSource] = []
    ids = queries_lore.chat_book_ids(conn, chat_id)
    ids += [i for i in queries_lore.character_book_ids(conn, card.character_id) if i not in ids]
    for book_id in ids:
        book = queries_lore.load_book(conn, book_id)
        entries = tuple(e.model_copy(update={"id": n}) for n, e in queries_lore.numbered_entries(conn, book_id))
        sources.append(LoreSource(book_id, book.name or book_id, book.model_copy(update={"name": book_id,
                                                                                         "entries": entries})))
    own = queries_lore.find_character_book(conn, card.character_id)
    if own is not None and own.entries:
        key = f"card:{card.character_id}"
        entries = tuple(e.model_copy(update={"id": n}) for n, e in enumerate(own.entries, start=1))
        title = own.name or f"{card.name}'s card"
        sources.append(LoreSource(key, title, own.model_copy(update={"name": key, "entries": entries})))
    return tuple(sources)


def _scan_text(line: MessageView) -> str:
    return line.text if line.role == "narrator" else f"{line.speaker}: {line.text}"


def _seed(chat_id: str, line: MessageView | None) -> str:
    return f"{chat_id}:{line.message_id}" if line is not None else chat_id


def _stateful(books: Sequence[Lorebook]) -> list[Lorebook]:
    """The books cut down to the entries whose activation depends on earlier ones (sticky, cooldown)."""
    cut = [b.model_copy(update={"entries": tuple(e for e in b.entries if e.sticky or e.cooldown)}) for b in books]
    return [b for b in cut if b.entries]


def _prior_state(books: list[Lorebook], texts: list[str], history: Sequence[MessageView], chat_id: str,
                 names: frozenset[str], offset: int, budget: int, deadline: Deadline) -> LoreState:
    """When each sticky/cooldown entry last fired, from activating again at the lines before the newest."""
    stateful = _stateful(books)
    if not stateful or len(history) < 2:
        return LoreState()
    span = max(e.sticky + e.cooldown for b in stateful for e in b.entries)
    start = max(0, len(history) - 1 - min(REPLAY_MAX, 2 * span + 2))
    state = LoreState()
    for i in range(start, len(history) - 1):
        result = activate(stateful, messages=texts[:i + 1], character=names, state=state.at(offset + i + 1),
                          seed=_seed(chat_id, history[i]), budget_tokens=budget, estimate_tokens=estimate_tokens,
                          max_recursion=MAX_RECURSION, deadline=deadline)
        state = next_state(state, result)
    return state


def _deadlines(seconds: float | None) -> tuple[Deadline, Callable[[], Deadline]]:
    """The replay's deadline (REPLAY_SHARE of the time), and a maker of the newest line's: what is left of the
    whole time then, but at least the rest of it. None: no limit."""
    if seconds is None:
        return Deadline.never(), Deadline.never
    whole = Deadline(seconds, wall_seconds=seconds * WALL_FACTOR)
    replay = Deadline(seconds * REPLAY_SHARE, wall_seconds=seconds * WALL_FACTOR * REPLAY_SHARE)

    def newest() -> Deadline:
        cpu, wall = whole.left()
        rest = 1 - REPLAY_SHARE
        return Deadline(max(cpu, seconds * rest), wall_seconds=max(wall, seconds * WALL_FACTOR * rest))

    return replay, newest


def activate_lore(sources: Sequence[LoreSource], history: Sequence[MessageView], *, chat_id: str,
                  card: CharacterView, line_count: int, budget: int, user: str,
                  seconds: float | None = LORE_SECONDS) -> LoreReport:
    """The lore for `card`'s next prompt after `history` (the newest lines; `line_count` lines in all), decided
    within `seconds` (None: no limit)."""
    if not sources:
        return NO_LORE
    replay, newest = _deadlines(seconds)
    books = [s.book for s in sources]
    names = frozenset(n for n in (card.name, card.nickname, card.character_id) if n)
    texts = [_scan_text(line) for line in history]
    offset = line_count - len(history)
    state = _prior_state(books, texts, history, chat_id, names, offset, budget, replay)
    seed = _seed(chat_id, history[-1] if history else None)
    result = activate(books, messages=texts, character=names, state=state.at(line_count), seed=seed,
                      budget_tokens=budget, estimate_tokens=estimate_tokens, max_recursion=MAX_RECURSION,
                      deadline=newest())
    return _report(sources, result, card, user, seed, budget)


def _report(sources: Sequence[LoreSource], result: Activation, card: CharacterView, user: str, seed: str,
            budget: int) -> LoreReport:
    titles = {s.key: s.title for s in sources}

    def where(key: str) -> str:
        return titles.get(key.rsplit(":", 1)[0], key)

    rng = random.Random(seed)
    char = card.nickname or card.name
    contents = [expand_macros(e.content, char=char, user=user, rng=rng).strip() for e in result.entries]
    active = tuple((where(k), f"#{e.id} {e.label}", estimate_tokens(e.content))
                   for k, e in zip(result.keys, result.entries, strict=True))
    dropped = tuple((where(d.key), f"#{d.entry.id} {d.entry.label}", d.reason) for d in result.dropped)
    text = "# Lore\n" + "\n\n".join(c for c in contents if c) if any(contents) else ""
    return LoreReport(text, active, dropped, result.tokens, budget, tuple(contents))
