"""Recall: the older lines a character witnessed that the newest lines ask about, ranked, for the prompt.

The query is built from the newest lines: the person's own newest line (the other newest lines only when it has
no words to search). The index gives candidates by text relevance (BM25 on SQLite, ts_rank on PostgreSQL, words
stemmed); they are ranked again here by
a hybrid score: relevance (as a share of the best candidate's), how many of the person's words a line holds,
a boost for the names and rare words it shares with the query (words written with a capital inside a sentence,
and words few candidates hold), and recency (so a newer line beats the one it updates). The prompt builder then
quotes the best whole, in their own section, with speaker and in-story time (engine/narrator/prompt.py).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from engine.queries_recall import search_witnessed_lines
from engine.storage.port import Conn
from engine.storytime import default_anchor
from engine.views import MessageView
from engine.words import search_terms, words_of

CANDIDATES = 200  # lines the index hands over for ranking
QUERY_LINES = 3  # the newest lines the query is built from
LINE_CHARS = 600  # a recalled line is quoted whole up to this many characters
PERSON_WEIGHT, NAME_BOOST, RARE_BOOST, RECENCY_WEIGHT = 0.8, 0.35, 0.15, 0.1
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-z]{2,})\b")


@dataclass(frozen=True, slots=True)
class Recalled:
    """A recalled line and its hybrid score."""

    message: MessageView
    score: float


def query_lines(history: tuple[MessageView, ...]) -> tuple[str, str]:
    """(the person's newest line, the other newest lines) as the query reads them."""
    recent = [m for m in history[-QUERY_LINES:] if m.role != "narrator"]
    person = next((m for m in reversed(recent) if m.role == "person"), None)
    others = " ".join(m.text for m in recent if m is not person)
    return (person.text if person else ""), others


def recall(conn: Conn, chat_id: str, character_id: str, history: tuple[MessageView, ...], *, before_seq: int,
           ignore_names: tuple[str, ...] = ()) -> tuple[Recalled, ...]:
    """The lines `character_id` witnessed before `before_seq` that the newest lines of `history` ask about, best
    first (never a line it did not witness: only lines whose stored witnesses hold it are searched)."""
    person, others = query_lines(history)
    ignore = {w for name in ignore_names for w in words_of(name)}
    primary = search_terms(person, ignore=ignore)
    terms = primary or search_terms(others, ignore=ignore)  # the other lines' words only when the person's has none
    hits = search_witnessed_lines(conn, chat_id, character_id, terms, before_seq=before_seq, limit=CANDIDATES)
    if not hits:
        return ()
    names = {n.lower() for n in _NAME.findall(person)} - ignore
    return rank(hits, primary, names)


def rank(hits: list[tuple[MessageView, float]], primary: list[str], names: set[str]) -> tuple[Recalled, ...]:
    """The hybrid ranking of the index's candidates (relevance, the person's words, names and rare words,
    recency), best first; when the person's line has words, only lines holding one of them."""
    best = max(score for _, score in hits) or 1.0
    newest = max(m.seq for m, _ in hits) or 1
    held = [(message, relevance, held_terms(message.text, primary)) for message, relevance in hits]
    counts = Counter(w for _, _, mine in held for w in mine)  # how many candidates hold each word
    boost = {w: NAME_BOOST * (w in names) + RARE_BOOST * (counts[w] <= 2) for w in counts}
    person = PERSON_WEIGHT / max(1, len(primary))
    scored = [Recalled(message, round(relevance / best + RECENCY_WEIGHT * message.seq / newest
                                      + person * len(mine) + sum(boost[w] for w in mine), 4))
              for message, relevance, mine in held
              if mine or not primary]  # without the person's words: an echo of the talk, not what is asked
    return tuple(sorted(scored, key=lambda r: (-r.score, -r.message.seq)))


def held_terms(text: str, terms: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The terms a line holds, each or a word of its family, about as the index's stemmer finds them ('cleaner'
    and 'cleaners', 'paint' and 'painted'): its first five letters, anywhere (a cheap test: it only weighs lines
    the index already found)."""
    low = text.lower()
    return tuple(t for t in terms if t[:5] in low)


def recalled_text(message: MessageView) -> str:
    """One recalled line as the prompt quotes it: 'Day 12, evening — Melanie: …' (whole, up to LINE_CHARS)."""
    text = message.text if len(message.text) <= LINE_CHARS else message.text[:LINE_CHARS].rstrip() + "…"
    speaker = "Narrator" if message.role == "narrator" else message.speaker
    return f"{default_anchor(message.story_minute)} — {speaker}: {text}"
