"""Counting tokens as the model does.

A prompt's parts are counted by one TokenCounter per model, the best it has:
- **exact**: the model's own tokenizer in this process (the bundled model's vocabulary, `tiktoken` for OpenAI
  models), each text counted once (a cache);
- **measured**: bytes a token, measured on whole prompts by the server's tokenize endpoint (llama.cpp, vLLM) or
  from the `usage.prompt_tokens` it reports after each call (engine/llm/openai_compat.py does both, off the
  prompt's path: a prompt is never waiting on the network to be counted);
- **estimate**: about 3 bytes a token, an upper bound for ordinary text (until something is measured).
Every counter remembers what it counted (the texts, each with its tokens or its bytes): a story's prompts count the
same newest lines over and over.
A prompt keeps a safety margin below the context (`margin`): small for an exact count (the chat template's own
tokens vary), larger for a measured rate (a given prompt may be denser than the average).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

MESSAGE_OVERHEAD = 6  # role markers and separators a chat template adds per message
ESTIMATE_BYTES = 3.0  # the estimate's bytes a token (an over-count: English chat is about 4.3 to SmolLM2)
EXACT_MARGIN, MEASURED_MARGIN = 0.02, 0.08  # shares of the prompt budget kept free, by how the count is made
SAMPLES = 16  # measured prompts remembered; the densest of them (fewest bytes a token) sets the rate
MIN_SAMPLE_BYTES = 200  # a measurement on less text than this says little about the rate
CACHE_MAX = 100_000  # texts an exact counter remembers before it starts again


def estimate_tokens(text: str) -> int:
    """An upper-bound estimate of `text`'s token count (about 3 bytes per token, never fewer than words)."""
    if not text:
        return 0
    by_bytes = -(-len(text.encode("utf-8")) // 3)
    by_words = len(text.split()) * 2
    return max(by_bytes, by_words)


def message_tokens(content: str) -> int:
    """Tokens one chat message costs by the estimate, overhead included."""
    return estimate_tokens(content) + MESSAGE_OVERHEAD


class TokenCounter:
    """Counts tokens for one model: exactly (`exact`), by a measured rate, or by the estimate; says which."""

    def __init__(self, *, exact: Callable[[str], int] | None = None, source: str = "") -> None:
        """With `exact` (a text's tokens by the model's tokenizer, `source` naming it), every count is exact."""
        self._exact = exact
        self._source = source if exact is not None else ""
        self._cache: dict[str, int] = {}  # exact: a text's tokens; else its estimate's tokens
        self._bytes: dict[str, int] = {}  # a measured rate's texts: their bytes
        self._samples: deque[float] = deque(maxlen=SAMPLES)
        self._rate = ESTIMATE_BYTES

    @property
    def kind(self) -> str:
        """'exact', 'measured' or 'estimate'."""
        return "exact" if self._exact is not None else ("measured" if self._samples else "estimate")

    @property
    def margin(self) -> float:
        """The share of the prompt budget kept free for what the count may miss."""
        return {"exact": EXACT_MARGIN, "measured": MEASURED_MARGIN}.get(self.kind, 0.0)

    def label(self) -> str:
        """Which counter this is, as the prompt inspector shows it."""
        if self.kind == "exact":
            return f"{self._source} (exact), margin {self.margin:.0%}"
        if self.kind == "measured":
            return (f"{self._source}: {self._rate:.2f} bytes a token over {len(self._samples)} prompts, "
                    f"margin {self.margin:.0%}")
        return f"estimate ({ESTIMATE_BYTES:g} bytes a token, an over-count; nothing measured yet)"

    def count(self, text: str) -> int:
        """`text`'s tokens."""
        if not text:
            return 0
        if self._samples and self._exact is None:
            size = self._bytes.get(text)
            if size is None:
                size = _remember(self._bytes, text, len(text.encode("utf-8")))
            return math.ceil(size / self._rate)
        found = self._cache.get(text)
        if found is None:
            found = _remember(self._cache, text, estimate_tokens(text) if self._exact is None else self._exact(text))
        return found

    def message(self, content: str) -> int:
        """Tokens one chat message costs, overhead included."""
        return self.count(content) + MESSAGE_OVERHEAD

    def learn(self, text_bytes: int, tokens: int, source: str) -> None:
        """Take a measurement: `tokens` the model counted for `text_bytes` bytes of text (chat overhead taken
        out). An exact counter ignores it."""
        if self._exact is not None or tokens <= 0 or text_bytes < MIN_SAMPLE_BYTES:
            return
        self._samples.append(text_bytes / tokens)
        self._rate = min(self._samples)
        self._source = source

    def truncate(self, text: str, tokens: int) -> str:
        """The longest prefix of `text` (cut at a word) that counts at most `tokens`."""
        if self.count(text) <= tokens:
            return text
        low, high = 0, len(text)
        while low < high:
            mid = (low + high + 1) // 2
            if self.count(text[:mid] + "…") <= tokens:
                low = mid
            else:
                high = mid - 1
        cut = text[:low]
        space = cut.rfind(" ")
        return (cut[:space] if space > len(cut) // 2 else cut).rstrip() + "…" if low else ""


def _remember(cache: dict[str, int], text: str, value: int) -> int:
    """`value` kept for `text` (the cache starts again once it holds CACHE_MAX texts)."""
    if len(cache) >= CACHE_MAX:
        cache.clear()
    cache[text] = value
    return value


ESTIMATE = TokenCounter()  # a counter that never learns: nothing calls learn() on it


def counter_of(model: object) -> TokenCounter:
    """The token counter a model client carries (its `counter`), else the estimate."""
    counter = getattr(model, "counter", None)
    return counter if isinstance(counter, TokenCounter) else ESTIMATE


def truncate_to(text: str, tokens: int) -> str:
    """The longest prefix of `text` (cut at a word) whose estimate is at most `tokens`."""
    return ESTIMATE.truncate(text, tokens)
