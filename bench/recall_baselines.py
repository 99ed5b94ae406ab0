"""The recall benchmark's yardsticks: token counters, a plain window of the newest lines, and BM25 over older ones.

Both baselines fill the same room as Chronicle's prompt (the tokens it spent on history and memories, counted
by the same counter), with the question as the newest line, exactly as the engine's history would have it.
"""

from __future__ import annotations

import bisect
import math
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from engine.llm.bundled import find_bundled_model
from engine.narrator.tokens import message_tokens

# NLTK's English stopword list (the usual one for BM25 baselines).
STOPWORDS = frozenset("""
i me my myself we our ours ourselves you you're you've you'll you'd your yours yourself yourselves he him his
himself she she's her hers herself it it's its itself they them their theirs themselves what which who whom this
that that'll these those am is are was were be been being have has had having do does did doing a an the and but
if or because as until while of at by for with about against between into through during before after above below
to from up down in out on off over under again further then once here there when where why how all any both each
few more most other some such no nor not only own same so than too very s t can will just don don't should
should've now d ll m o re ve y ain aren aren't couldn couldn't didn didn't doesn doesn't hadn hadn't hasn hasn't
haven haven't isn isn't ma mightn mightn't mustn mustn't needn needn't shan shan't shouldn shouldn't wasn wasn't
weren weren't won won't wouldn wouldn't
""".split())
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
SMOLLM2_MESSAGE_OVERHEAD = 5  # <|im_start|>, role, newline, <|im_end|>, newline in SmolLM2's chat template

Count = Callable[[str], int]  # tokens of one chat message's content, its overhead included


def terms(text: str) -> list[str]:
    """Lower-cased words and numbers, possessive 's dropped, English stopwords removed (no stemming)."""
    words = (w[:-2] if w.endswith("'s") else w for w in _WORD.findall(text.lower()))
    return [w for w in words if w not in STOPWORDS]


def estimator() -> Count:
    """The engine's own estimate of a chat message (engine/narrator/tokens.py)."""
    return message_tokens


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """llama.cpp writes to file descriptor 2 directly; silence it while the vocabulary loads."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def smollm2() -> tuple[Count, Count] | None:
    """(message counter, plain text counter) with the bundled SmolLM2 tokenizer, or None when not installed."""
    path = find_bundled_model()
    if path is None:
        return None
    import llama_cpp

    with _quiet_stderr():
        vocab = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
    cache: dict[str, int] = {}

    def text_tokens(text: str) -> int:
        if text not in cache:
            cache[text] = len(vocab.tokenize(text.encode("utf-8"), add_bos=False, special=False))
        return cache[text]

    return (lambda text: text_tokens(text) + SMOLLM2_MESSAGE_OVERHEAD), text_tokens


class BM25:
    """Okapi BM25 (k1 = 1.2, b = 0.75, Lucene's idf) over a list of texts, with an inverted index."""

    def __init__(self, texts: Sequence[str], k1: float = 1.2, b: float = 0.75) -> None:
        self.postings: dict[str, list[tuple[int, int]]] = {}
        lengths = []
        for doc, text in enumerate(texts):
            counts = Counter(terms(text))
            lengths.append(sum(counts.values()))
            for term, tf in counts.items():
                self.postings.setdefault(term, []).append((doc, tf))
        self.n = len(texts)
        average = sum(lengths) / max(1, self.n)
        self.norm = [k1 * (1 - b + b * length / max(average, 1e-9)) for length in lengths]
        self.k1 = k1

    def top(self, query: str, *, before: int, limit: int = 200) -> list[int]:
        """Documents below index `before`, best first (only those sharing a term with the query)."""
        scores: dict[int, float] = {}
        for term in set(terms(query)):
            postings = self.postings.get(term, ())
            if not postings:
                continue
            idf = math.log(1 + (self.n - len(postings) + 0.5) / (len(postings) + 0.5))
            for doc, tf in postings:
                if doc < before:
                    scores[doc] = scores.get(doc, 0.0) + idf * tf * (self.k1 + 1) / (tf + self.norm[doc])
        return sorted(scores, key=lambda d: (-scores[d], -d))[:limit]


@dataclass(frozen=True)
class Lines:
    """The transcript as chat-message texts, with each one's cost under one counter (cumulative from the end)."""

    texts: tuple[str, ...]
    costs: tuple[int, ...]
    from_end: tuple[int, ...]  # from_end[k] = cost of the newest k lines

    @classmethod
    def of(cls, texts: Sequence[str], count: Count) -> Lines:
        """Cost every line once."""
        costs = tuple(count(t) for t in texts)
        running, sums = 0, [0]
        for cost in reversed(costs):
            running += cost
            sums.append(running)
        return cls(tuple(texts), costs, tuple(sums))

    def newest(self, room: int) -> int:
        """The index of the oldest line in the newest run of lines that fits in `room`."""
        fits = bisect.bisect_right(self.from_end, room) - 1
        return len(self.texts) - fits


def window(lines: Lines, question: str, room: int, count: Count) -> list[str]:
    """(a): the question and the newest lines before it that fit in `room`."""
    start = lines.newest(room - count(question))
    return [*lines.texts[start:], question]


def window_and_bm25(lines: Lines, index: BM25, query: str, question: str, room: int,
                    count: Count) -> list[str]:
    """(b): half the room for the question and the newest lines, half for the older lines BM25 ranks best."""
    recent_room = room // 2
    start = lines.newest(recent_room - count(question))
    left = room - sum(lines.costs[start:]) - count(question)
    picked = []
    for doc in index.top(query, before=start):
        if lines.costs[doc] <= left:
            picked.append(doc)
            left -= lines.costs[doc]
    return [*(lines.texts[d] for d in sorted(picked)), *lines.texts[start:], question]
