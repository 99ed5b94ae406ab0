"""Where a model's token counts come from (engine/narrator/tokens.py counts with them): an exact tokenizer in this
process when there is one (`tiktoken` for OpenAI models, the bundled model's own vocabulary), else measurements of
whole prompts by the server's tokenize endpoint (llama.cpp and vLLM: `POST /tokenize`; llama-cpp-python:
`POST /extras/tokenize/count`), taken in the background after a prompt is sent, one request per prompt at most.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import structlog

from engine.llm.port import ChatMessage
from engine.narrator.tokens import MESSAGE_OVERHEAD, TokenCounter

log = structlog.get_logger(__name__)

OPENAI_PREFIXES = ("gpt-", "o1", "o3", "o4", "chatgpt-")
TOKENIZE_PATHS = ("/tokenize", "/extras/tokenize/count")  # llama.cpp and vLLM; llama-cpp-python
MEASURE_FIRST, MEASURE_EVERY = 8, 25  # measure the first prompts, then one in this many


def openai_counter(model: str) -> TokenCounter | None:
    """An exact counter from `tiktoken` for an OpenAI model, or None (another model, tiktoken not installed, or
    its encoding file not to be had: tiktoken downloads it once, then reads its cache)."""
    if not model.lower().startswith(OPENAI_PREFIXES):
        return None
    try:
        import tiktoken

        encoding = tiktoken.encoding_for_model(model)
    except Exception as exc:  # noqa: BLE001 — any failure means: measure instead
        log.info("tiktoken_unavailable", model=model, error=type(exc).__name__)
        return None
    return tiktoken_counter(encoding)


def tiktoken_counter(encoding: Any) -> TokenCounter:
    """An exact counter over a tiktoken Encoding."""
    return TokenCounter(exact=lambda text: len(encoding.encode_ordinary(text)), source=f"tiktoken {encoding.name}")


def vocabulary_counter(model_path: str, name: str) -> TokenCounter:
    """An exact counter over a GGUF model's own vocabulary (llama.cpp, vocabulary only: no weights are loaded)."""
    import llama_cpp

    vocab = llama_cpp.Llama(model_path=model_path, vocab_only=True, verbose=False)

    def tokens(text: str) -> int:
        return len(vocab.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    return TokenCounter(exact=tokens, source=f"{name}'s own tokenizer")


def _count_of(body: Any) -> int | None:
    """The token count in a tokenize endpoint's answer ({"count": n} or {"tokens": [...]})."""
    if not isinstance(body, dict):
        return None
    if isinstance(body.get("count"), int):
        return int(body["count"])
    tokens = body.get("tokens")
    return len(tokens) if isinstance(tokens, list) else None


class ServerMeasure:
    """Measures whole prompts with the server's tokenize endpoint (the first that answers), feeding a counter."""

    def __init__(self, root_url: str, model: str, counter: TokenCounter,
                 post: Callable[[str, dict[str, Any]], Awaitable[Any]]) -> None:
        """`root_url` is the server's address without its `/v1`; `post(url, body)` returns the answer's JSON and
        raises on an error status or a failed connection."""
        self._root = root_url
        self._model = model
        self._counter = counter
        self._post = post
        self._path: str | None = None
        self._gave_up = False
        self._prompts = 0

    def wanted(self) -> bool:
        """Whether this prompt should be measured (the first few, then one in MEASURE_EVERY)."""
        self._prompts += 1
        return not self._gave_up and (self._prompts <= MEASURE_FIRST or self._prompts % MEASURE_EVERY == 0)

    async def measure(self, messages: Sequence[ChatMessage]) -> None:
        """Count `messages`' text in one request and teach the counter; never raises."""
        text = "\n".join(m.content for m in messages)
        body = {"content": text, "prompt": text, "input": text, "model": self._model, "add_special_tokens": False}
        for path in (self._path,) if self._path else TOKENIZE_PATHS:
            try:
                count = _count_of(await self._post(self._root + path, body))
            except Exception:  # noqa: BLE001 — a server without the endpoint, or one that failed: no measurement
                count = None
            if count is not None:
                self._path = path
                joins = len(messages) - 1
                self._counter.learn(len(text.encode("utf-8")) - joins, count - joins, f"server {path}")
                return
        if self._path is None:
            self._gave_up = True
            log.info("tokenize_endpoint_missing", server=self._root)


def learn_usage(counter: TokenCounter, messages: Sequence[ChatMessage], prompt_tokens: int) -> None:
    """Teach `counter` from a call's reported `usage.prompt_tokens` (the chat template's overhead taken out)."""
    text_bytes = sum(len(m.content.encode("utf-8")) for m in messages)
    counter.learn(text_bytes, prompt_tokens - MESSAGE_OVERHEAD * len(messages), "usage.prompt_tokens")
