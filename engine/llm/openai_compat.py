"""A LanguageModel for any OpenAI-compatible server (llama.cpp, Ollama, vLLM, OpenAI).

This is the only module that imports the ``openai`` SDK. The SDK's own retries
are off; ours retry rate limits, server errors, connection errors and timeouts
with exponential backoff, but only until the first piece of text has gone out,
so a caller never sees text twice. A whole reply, retries, backoff and stalls
included, ends by its deadline. The server's URL is only ever shown redacted.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Sequence
from contextlib import aclosing
from types import TracebackType
from typing import Any, NoReturn, TypeVar

import openai
import structlog

from engine.errors import NarratorUnavailable
from engine.llm.counting import ServerMeasure, learn_usage, openai_counter
from engine.llm.port import ChatMessage, TextChunk
from engine.narrator.tokens import TokenCounter
from engine.storage import redact, redact_text

log = structlog.get_logger(__name__)

MAX_SERVER_STOPS = 4  # OpenAI rejects more than four stop strings
MAX_RETRY_AFTER = 30.0  # never wait longer than this for a server's Retry-After
DEFAULT_REPLY_DEADLINE = 90.0  # seconds for a whole reply, retries and waits included
_DETAIL_LIMIT = 200
T = TypeVar("T")


class _EmptyResponse(Exception):
    """The server answered 200 but sent no completion events at all."""


class _MalformedChunk(Exception):
    """A server-sent event of the stream was not valid JSON (or not a completion chunk)."""


class _DeadlinePassed(Exception):
    """The whole reply took longer than its deadline."""


class _StopCutter:
    """Cuts streamed text at the first stop string, even one split across chunks."""

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = tuple(stops)
        self._hold = max((len(s) for s in self._stops), default=1) - 1
        self._pending = ""

    def feed(self, text: str) -> tuple[str, bool]:
        """Take new text; return what is safe to emit and whether a stop string was hit."""
        self._pending += text
        hits = [pos for stop in self._stops if (pos := self._pending.find(stop)) >= 0]
        if hits:
            out, self._pending = self._pending[: min(hits)], ""
            return out, True
        safe = len(self._pending) - min(self._hold, len(self._pending))
        out, self._pending = self._pending[:safe], self._pending[safe:]
        return out, False

    def flush(self) -> str:
        """Return the held-back tail once the stream has ended."""
        out, self._pending = self._pending, ""
        return out


def clean_stops(stop: Sequence[str]) -> tuple[str, ...]:
    """Drop empty and repeated stop strings, keeping the caller's order."""
    return tuple(dict.fromkeys(s for s in stop if s))


def _server_detail(exc: openai.APIStatusError) -> str:
    """The server's own error message, shortened to one line."""
    body: Any = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        body = inner.get("message", inner) if isinstance(inner, dict) else inner
    text = redact_text(" ".join(str(body if body is not None else exc.message).split()))  # it may echo the URL
    return text[:_DETAIL_LIMIT] + ("…" if len(text) > _DETAIL_LIMIT else "")


def _retry_after(exc: openai.APIError) -> float | None:
    """The server's Retry-After in seconds, when it sent a usable one."""
    response = getattr(exc, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return min(seconds, MAX_RETRY_AFTER) if seconds is not None and seconds >= 0 else None


class OpenAICompatibleModel:
    """A LanguageModel that streams chat completions from an OpenAI-compatible server."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        model: str,
        *,
        temperature: float = 0.8,
        max_tokens: int = 300,
        timeout: float = 60.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        reply_deadline: float | None = DEFAULT_REPLY_DEADLINE,
        counter: TokenCounter | None = None,
    ) -> None:
        """Configure the client; no connection is made until the first request. ``reply_deadline`` (seconds)
        bounds a whole reply, every retry and wait included (None: only the per-request ``timeout``). ``counter``
        counts tokens as the model does (default: tiktoken's for an OpenAI model, else one measured from the
        server's tokenize endpoint and the usage it reports)."""
        self.base_url = base_url.rstrip("/")
        self.shown_url = redact(self.base_url)  # the URL as printed and logged: no password, no secret parameter
        self.model = model
        self._deadline = reply_deadline
        self._temperature = temperature
        self._max_tokens = max_tokens
        self._timeout = timeout
        self._max_retries = max(0, max_retries)
        self._backoff = backoff
        self._client = openai.AsyncOpenAI(
            base_url=self.base_url, api_key=api_key or "not-needed", timeout=timeout, max_retries=0
        )
        self.counter = counter or openai_counter(model) or TokenCounter()
        root = self.base_url.removesuffix("/v1")
        self._measure = ServerMeasure(root, model, self.counter, self._post_json)
        self._measuring: set[asyncio.Task[None]] = set()
        self._ask_usage = True  # until the server refuses `stream_options`

    async def _post_json(self, url: str, body: dict[str, Any]) -> Any:
        """POST `body` to `url` (outside the /v1 API) and return the answer's JSON."""
        return await self._client.post(url, cast_to=object, body=body, options={"timeout": 10.0})

    def _count_in_background(self, messages: Sequence[ChatMessage]) -> None:
        """Have the server count this prompt once its reply is done (the first prompts, then now and then)."""
        if self.counter.kind != "exact" and self._measure.wanted():
            task = asyncio.get_running_loop().create_task(self._measure.measure(messages))
            self._measuring.add(task)
            task.add_done_callback(self._measuring.discard)

    def __repr__(self) -> str:
        return f"OpenAICompatibleModel(base_url={self.shown_url!r}, model={self.model!r})"

    async def __aenter__(self) -> OpenAICompatibleModel:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP connections of the client (after any measurement still running)."""
        for task in list(self._measuring):
            task.cancel()
        await self._client.close()

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        stop: Sequence[str] = (),
        max_tokens: int | None = None,
    ) -> AsyncIterator[TextChunk]:
        """Stream the reply; raise NarratorUnavailable when the server can't give one within the deadline."""
        stops = clean_stops(stop)
        request = self._request(messages, stops, max_tokens)
        ends = None if self._deadline is None else asyncio.get_running_loop().time() + self._deadline
        attempt = 0
        while True:
            attempt += 1
            sent = False
            try:
                async with aclosing(self._attempt(request, stops)) as chunks:
                    while (chunk := await _before(ends, anext(chunks, None))) is not None:
                        sent = True
                        yield chunk
                self._count_in_background(messages)  # after the reply: some servers serve one request at a time
                return
            except _DeadlinePassed as exc:
                reason = f"the model server at {self.shown_url} did not finish its reply within {self._deadline:g} s"
                self._give_up(reason, attempt, exc)
            except (openai.APIError, _EmptyResponse, _MalformedChunk) as exc:
                if sent:
                    reason = f"the model server at {self.shown_url} stopped in the middle of a reply"
                    self._give_up(reason, attempt, exc)
                if self._refused_usage(exc, request):
                    attempt -= 1  # the same request without asking for usage: not a retry
                    continue
                await self._wait_or_give_up(exc, attempt, ends)

    def _refused_usage(self, exc: Exception, request: dict[str, Any]) -> bool:
        """Whether the server refused the request for its `stream_options` (it was then taken out, for good)."""
        if not (isinstance(exc, openai.APIStatusError) and exc.status_code in (400, 422)
                and "stream_options" in request and "stream_options" in _server_detail(exc)):
            return False
        request.pop("stream_options")
        self._ask_usage = False
        log.info("llm_usage_refused", base_url=self.shown_url, model=self.model)
        return True

    def _request(self, messages: Sequence[ChatMessage], stops: Sequence[str], max_tokens: int | None) -> dict[str, Any]:
        """The keyword arguments of one chat.completions.create call."""
        request: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "temperature": self._temperature,
            "max_tokens": max_tokens if max_tokens is not None else self._max_tokens,
            "stream": True,
        }
        if self._ask_usage:
            request["stream_options"] = {"include_usage": True}  # the prompt's tokens: the counter learns from them
        if stops:
            request["stop"] = list(stops[:MAX_SERVER_STOPS])
        return request

    async def _attempt(self, request: dict[str, Any], stops: Sequence[str]) -> AsyncGenerator[TextChunk, None]:
        """One request: yield its text, cut at the stop strings, then the finish reason."""
        response = await self._client.chat.completions.create(**request)
        cutter = _StopCutter(stops)
        finish: str | None = None
        events = 0
        try:
            async for event in _readable(response):
                events += 1
                usage = getattr(event, "usage", None)
                if usage is not None and getattr(usage, "prompt_tokens", None):
                    learn_usage(self.counter, _sent(request), int(usage.prompt_tokens))
                if not event.choices:
                    continue
                choice = event.choices[0]
                delta = choice.delta.content if choice.delta is not None else None
                if delta:
                    text, stopped = cutter.feed(delta)
                    if stopped:
                        yield TextChunk(text, "stop")
                        return
                    if text:
                        yield TextChunk(text)
                finish = choice.finish_reason or finish
        finally:
            await response.close()
        if events == 0:
            raise _EmptyResponse("no completion events")
        yield TextChunk(cutter.flush(), finish or "stop")

    def _describe(self, exc: Exception) -> tuple[str, bool]:
        """A short human reason for ``exc``, and whether trying again may help."""
        where = f"the model server at {self.shown_url}"
        if isinstance(exc, openai.APITimeoutError):
            return f"{where} timed out after {self._timeout:g} s", True
        if isinstance(exc, openai.APIConnectionError):
            return f"could not connect to {where}", True
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            retry = status in (408, 429) or status >= 500
            return f"{where} returned {status}: {_server_detail(exc)}", retry
        if isinstance(exc, _MalformedChunk):
            return f"{where} sent a malformed piece of its reply ({exc})", True
        if isinstance(exc, _EmptyResponse):
            return f"{where} sent no completion (is it an OpenAI-compatible /v1 endpoint?)", False
        return f"{where} sent a response that could not be read ({type(exc).__name__})", False

    async def _wait_or_give_up(self, exc: Exception, attempt: int, ends: float | None) -> None:
        """Sleep before the next try, or raise NarratorUnavailable if there is none (or no time left for it)."""
        reason, retryable = self._describe(exc)
        if not retryable or attempt > self._max_retries:
            self._give_up(reason, attempt, exc)
        delay = self._backoff * 2 ** (attempt - 1)
        delay += random.uniform(0, delay / 4)
        if isinstance(exc, openai.APIError) and (server_wait := _retry_after(exc)) is not None:
            delay = max(delay, server_wait)
        if ends is not None and asyncio.get_running_loop().time() + delay >= ends:
            self._give_up(f"{reason}; no time was left to try again within {self._deadline:g} s", attempt, exc)
        log.warning(
            "llm_retry",
            base_url=self.shown_url,
            model=self.model,
            attempt=attempt,
            max_attempts=self._max_retries + 1,
            delay=round(delay, 3),
            reason=reason,
        )
        await asyncio.sleep(delay)

    def _give_up(self, reason: str, attempts: int, exc: Exception) -> NoReturn:
        """Log and raise NarratorUnavailable for ``reason``."""
        log.warning("llm_unavailable", base_url=self.shown_url, model=self.model, attempts=attempts, reason=reason)
        raise NarratorUnavailable(reason, attempts=attempts) from exc


def _sent(request: dict[str, Any]) -> list[ChatMessage]:
    """The messages of a request, as sent."""
    return [ChatMessage(m["role"], m["content"]) for m in request["messages"]]


async def _before(ends: float | None, step: Awaitable[T]) -> T:
    """Await ``step``, but no later than the event loop's time ``ends`` (then raise _DeadlinePassed)."""
    if ends is None:
        return await step
    limit = asyncio.timeout_at(ends)
    try:
        async with limit:
            return await step
    except TimeoutError:
        if limit.expired():
            raise _DeadlinePassed() from None
        raise


async def _readable(response: Any) -> AsyncIterator[Any]:
    """The stream's chunks; one that is not valid JSON (or not a chunk) becomes _MalformedChunk."""
    chunks = response.__aiter__()
    while True:
        try:
            chunk = await chunks.__anext__()
        except StopAsyncIteration:
            return
        except ValueError as exc:  # json.JSONDecodeError and pydantic's ValidationError are ValueErrors
            raise _MalformedChunk(str(exc).splitlines()[0][:80]) from exc
        yield chunk
