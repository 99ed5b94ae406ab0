"""One budget, ranked: after the floor of newest lines, recalled lines, memories and lore entries compete for the
same room by relevance to the newest lines, and the prompt inspector lists every candidate, kept or dropped, with
its section, its score and why.

Relevance is measured the same way for every section: the share of the query's words a candidate holds (the
person's newest line, as recall builds it, engine/narrator/recall.py) and a boost for each name of the query it
holds. A recalled line's score is recall's own hybrid score (which weighs exactly these, with BM25, rare words and
recency) scaled to the same range; a memory's relevance is raised by its importance and rank (one the newest
line does not ask about comes last), a lore entry's is at least LORE_KEYED (its key matched the newest lines)
plus its activation order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from engine.events.memory import IMPORTANCE_MAX
from engine.narrator.context import PromptInputs
from engine.narrator.recall import _NAME, held_terms, query_lines, recalled_text
from engine.narrator.tokens import TokenCounter
from engine.words import search_terms, words_of

NAME_BOOST = 0.3  # per name of the query the candidate holds
SECTION_WEIGHT = 0.5  # how much a candidate's own section's ranking adds (at most)
LORE_KEYED = 0.6  # a lore entry's key matched the newest lines: that much relevance at least
UNASKED = 0.1  # a memory holding none of the query's words scores at most this (its importance and rank)
SECTIONS = ("recall", "memory", "lore")
LABEL_CHARS = 70


@dataclass(frozen=True, slots=True)
class Candidate:
    """One thing that competed for the prompt: its section, what it is, its score, its tokens and what became of
    it ('' when kept, else why it was dropped)."""

    section: str
    label: str
    score: float
    tokens: int
    why: str = ""

    @property
    def kept(self) -> bool:
        """Whether it is in the prompt."""
        return not self.why


@dataclass(frozen=True, slots=True)
class Item:
    """A candidate with its prompt text (a line of its section) and where it sorts in its section."""

    section: str
    label: str
    text: str
    score: float
    order: float  # position in its section when shown (recall: story order)
    tokens: int  # what it costs in the prompt
    key: str = ""  # a recalled line's message id


@dataclass(frozen=True, slots=True)
class Query:
    """What relevance is measured against: the query's words and the names among them."""

    terms: tuple[str, ...]
    names: frozenset[str]

    def relevance(self, text: str) -> float:
        """The share of the query's words `text` holds, plus NAME_BOOST per name it holds."""
        if not self.terms:
            return 0.0
        held = held_terms(text, self.terms)
        return len(held) / len(self.terms) + NAME_BOOST * sum(t in self.names for t in held)


def query_of(inputs: PromptInputs) -> Query:
    """The query the pool ranks by: the person's newest line's words (else the other newest lines')."""
    person, others = query_lines(inputs.history)
    ignore = _ignored(inputs)
    terms = search_terms(person, ignore=ignore) or search_terms(others, ignore=ignore)
    return Query(tuple(terms), frozenset(n.lower() for n in _NAME.findall(person)) - ignore)


def items(inputs: PromptInputs, query: Query, counter: TokenCounter) -> list[Item]:
    """Every candidate of the three sections, scored and counted (a line and the newline after it), best first."""
    out: list[Item] = []
    best = max((r.score for r in inputs.recalled), default=1.0) or 1.0
    for r in inputs.recalled:  # recall's own score already weighs the query's words, names and rare words held
        line = recalled_text(r.message)
        score = (1 + SECTION_WEIGHT) * r.score / best
        out.append(Item("recall", line, line, score, r.message.seq, counter.count(line) + 1, r.message.message_id))
    count = len(inputs.memories)
    for rank, m in enumerate(inputs.memories):
        native = (1 - rank / max(1, count)) * 0.5 + 0.5 * m.importance / IMPORTANCE_MAX
        line = f"- {m.text}"
        relevance = query.relevance(m.text)
        score = relevance * (1 + SECTION_WEIGHT * native) if relevance else UNASKED * native  # unasked: last
        out.append(Item("memory", m.text, line, score, rank, counter.count(line) + 1))
    lore = inputs.lore
    for rank, ((book, entry, _), content) in enumerate(zip(lore.active, lore.contents, strict=False)):
        if content:
            score = max(LORE_KEYED, query.relevance(content)) + SECTION_WEIGHT * (1 - rank / max(1, len(lore.active)))
            out.append(Item("lore", f"{book} {entry}", content, score, rank, counter.count(content) + 2))
    return sorted(out, key=lambda i: (-i.score, i.section, i.order))


def _ignored(inputs: PromptInputs) -> set[str]:
    names = (inputs.character.name, *(o.name for o in inputs.others), *(p for p, _ in inputs.personas))
    return {w for n in names for w in words_of(n)}


def headers(inputs: PromptInputs) -> dict[str, str]:
    """Each section's heading in the system message."""
    name = inputs.character.name
    return {"recall": f"# What {name} recalls (older lines, with when they were said)",
            "memory": f"# What {name} remembers", "lore": "# Lore"}


def choose(pool: Iterable[Item], room: int, counter: TokenCounter, heads: dict[str, str],
           skip: set[str], *, fates_too: bool = True) -> tuple[list[Item], list[Candidate], int]:
    """The best candidates of `pool` (best first, as `items` gives it) that fit in `room` tokens (none of `skip`'s
    lines), every candidate's fate (unless not `fates_too`: a trial fit), and the tokens the kept ones take (their
    sections' headings included)."""
    kept: list[Item] = []
    fates: list[Candidate] = []
    used = 0
    opened: set[str] = set()
    head_costs = {section: counter.count(head) + 2 for section, head in heads.items()}
    for item in pool:
        cost = item.tokens
        if item.key and item.key in skip:
            if fates_too:
                fates.append(Candidate(item.section, _short(item.label), round(item.score, 3), cost,
                                       "already among the newest lines"))
            continue
        head = 0 if item.section in opened else head_costs[item.section]
        if used + cost + head > room:
            if fates_too:
                fates.append(Candidate(item.section, _short(item.label), round(item.score, 3), cost,
                                       f"over budget ({room - used} of {room} tokens left)"))
            continue
        kept.append(item)
        opened.add(item.section)
        used += cost + head
        if fates_too:
            fates.append(Candidate(item.section, _short(item.label), round(item.score, 3), cost))
    return kept, fates, used


def sections(kept: list[Item], heads: dict[str, str]) -> dict[str, str]:
    """The kept candidates as their sections' text (recalled lines in story order, the others in rank order)."""
    out: dict[str, str] = {}
    for section in SECTIONS:
        mine = sorted((i for i in kept if i.section == section), key=lambda i: i.order)
        if mine:
            joiner = "\n\n" if section == "lore" else "\n"
            out[section] = heads[section] + "\n" + joiner.join(i.text for i in mine)
    return out


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[:LABEL_CHARS - 1].rstrip() + "…"
