"""A scriptable, OpenAI-compatible model server on loopback, for tests.

It speaks just enough of the OpenAI HTTP API for Chronicle's client:
``POST /v1/chat/completions`` (streamed as server-sent events, or as one JSON
completion, with ``usage`` when asked for) and ``GET /v1/models``, and llama.cpp's
``POST /tokenize`` (when ``tokenizes`` is on). Every chat request body is kept in
``.requests``, every tokenize body in ``.tokenized``.

Its tokenizer is ``fake_tokens``: a word or a punctuation mark a token; a chat
message costs FAKE_OVERHEAD more.

Each queued script answers exactly one chat request, in order; when the queue
is empty the server answers with ``default_reply(request_json)``. The server
never applies ``stop`` or ``max_tokens`` itself, so tests can check the
client's own handling of them.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiohttp import web

MODEL_ID = "fake-model"
FAKE_OVERHEAD = 4  # tokens the fake chat template adds per message
_TOKEN = re.compile(r"\w+|[^\w\s]")


def fake_tokens(text: str) -> int:
    """The fake model's tokens for `text`: one a word, one a punctuation mark."""
    return len(_TOKEN.findall(text))


@dataclass(frozen=True, slots=True)
class _Text:
    """Answer with ``text`` in ``chunks`` pieces; optionally drop the connection early, wait for a gate after
    ``gate_after`` pieces, or send a malformed event after ``garbage_after`` pieces."""

    text: str
    chunks: int
    finish_reason: str
    break_after: int | None
    gate: asyncio.Event | None = None
    gate_after: int = 1
    garbage_after: int | None = None


@dataclass(frozen=True, slots=True)
class _Error:
    """Answer with an HTTP error in OpenAI's error format."""

    status: int
    message: str


@dataclass(frozen=True, slots=True)
class _Delay:
    """Wait before the first byte, then answer with ``text`` or the default reply."""

    seconds: float
    text: str | None


_Script = _Text | _Error | _Delay


def split_text(text: str, parts: int) -> list[str]:
    """Split ``text`` into ``parts`` consecutive, non-empty pieces (fewer if it is short)."""
    parts = max(1, min(parts, len(text)))
    bounds = [len(text) * i // parts for i in range(parts + 1)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


def _last_user_text(body: dict[str, Any]) -> str:
    """The content of the last user message in a chat request, or ''."""
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            return str(message.get("content") or "")
    return ""


class FakeLLMServer:
    """An aiohttp server on 127.0.0.1 that imitates an OpenAI-compatible model server."""

    def __init__(self, *, model: str = MODEL_ID) -> None:
        """Build the server; nothing listens until ``start()``."""
        self.model = model
        self.context_tokens: int | None = None  # when set, served as llama.cpp's GET /props n_ctx
        self.tokenizes = False  # when on, POST /tokenize answers as llama.cpp's does (else 404, like OpenAI)
        self.reports_usage = True  # a stream asked for usage gets it in a last chunk, as OpenAI sends it
        self.tokenized: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.default_reply: Callable[[dict[str, Any]], str] = self._numbered_reply
        self.default_delay: tuple[float, float] | None = None  # (low, high) seconds before a default reply
        self._script: deque[_Script] = deque()
        self._routes: list[tuple[Callable[[dict[str, Any]], bool], Callable[[dict[str, Any]], _Script]]] = []
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._closing = asyncio.Event()

    # -- scripting -------------------------------------------------------

    def enqueue_text(
        self,
        text: str,
        chunks: int = 3,
        *,
        finish_reason: str = "stop",
        break_after: int | None = None,
    ) -> None:
        """Answer the next request with ``text`` streamed in ``chunks`` pieces.

        With ``break_after=n`` the connection is dropped after n text chunks.
        """
        self._script.append(_Text(text, chunks, finish_reason, break_after))

    def enqueue_gated(self, text: str, gate: asyncio.Event, chunks: int = 2, *, after: int = 1) -> None:
        """Answer the next request with ``text``, but hold the stream after ``after`` pieces until ``gate`` is set."""
        self._script.append(_Text(text, chunks, "stop", None, gate=gate, gate_after=after))

    def enqueue_malformed(self, text: str, chunks: int = 4, *, after: int = 1) -> None:
        """Stream ``after`` pieces of ``text``, then an event that is not JSON (the client fails while parsing)."""
        self._script.append(_Text(text, chunks, "stop", None, garbage_after=after))

    def enqueue_error(self, status: int, message: str | None = None) -> None:
        """Answer the next request with HTTP ``status`` and an OpenAI-style error body."""
        self._script.append(_Error(status, message or f"fake error {status}"))

    def enqueue_delay(self, seconds: float, text: str | None = None) -> None:
        """Make the next request wait ``seconds`` before its first byte, then answer."""
        self._script.append(_Delay(seconds, text))

    def route(self, match: Callable[[dict[str, Any]], bool], *, text: Callable[[dict[str, Any]], str] | None = None,
              error: int | None = None, stall: bool = False) -> None:
        """Answer every request `match` accepts apart from the queue: with `text(body)`, an HTTP `error`, or (`stall`)
        a stream that stops after its first piece until the server closes. A newer route for the same requests
        wins."""
        def answer(body: dict[str, Any]) -> _Script:
            if error is not None:
                return _Error(error, f"fake error {error}")
            reply = text(body) if text is not None else self._numbered_reply(body)
            return _Text(reply, 3, "stop", None, gate=asyncio.Event() if stall else None)

        self._routes.insert(0, (match, answer))

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        """The recorded bodies of chat-completion requests."""
        return [body for body in self.requests if "messages" in body]

    def _numbered_reply(self, body: dict[str, Any]) -> str:
        """The default answer: 'Reply N to <first 40 chars of the last user message>.'"""
        return f"Reply {len(self.chat_requests)} to {_last_user_text(body)[:40]}."

    # -- lifecycle -------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The OpenAI base URL of the running server, ``http://127.0.0.1:PORT/v1``."""
        if self._port is None:
            raise RuntimeError("FakeLLMServer is not started")
        return f"http://127.0.0.1:{self._port}/v1"

    async def start(self) -> None:
        """Listen on a free loopback port."""
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/props", self._props)
        app.router.add_post("/tokenize", self._tokenize)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])

    async def close(self) -> None:
        """Stop listening and cut short any delayed answers."""
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeLLMServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- handlers --------------------------------------------------------

    async def _models(self, request: web.Request) -> web.Response:
        """GET /v1/models."""
        return web.json_response(
            {"object": "list", "data": [{"id": self.model, "object": "model", "owned_by": "fake"}]}
        )

    async def _props(self, request: web.Request) -> web.Response:
        """GET /props, as llama.cpp's server answers it (404 unless `context_tokens` is set, like other servers)."""
        if self.context_tokens is None:
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response({"default_generation_settings": {"n_ctx": self.context_tokens}, "total_slots": 1})

    async def _tokenize(self, request: web.Request) -> web.Response:
        """POST /tokenize, as llama.cpp's server answers it: {"tokens": [...]} for {"content": text}."""
        if not self.tokenizes:
            return web.json_response({"error": "not found"}, status=404)
        body = await request.json()
        self.tokenized.append(body)
        return web.json_response({"tokens": list(range(fake_tokens(str(body.get("content", "")))))})

    def prompt_tokens(self, body: dict[str, Any]) -> int:
        """A chat request's prompt tokens, as its usage reports them."""
        return sum(fake_tokens(str(m.get("content", ""))) + FAKE_OVERHEAD for m in body.get("messages", []))

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        """POST /v1/chat/completions: play the next script, or the default reply."""
        body = await request.json()
        self.requests.append(body)
        routed = next((answer for match, answer in self._routes if match(body)), None)
        script = routed(body) if routed is not None else self._script.popleft() if self._script else None
        if isinstance(script, _Delay):
            await self._sleep(script.seconds)
            script = _Text(script.text, 3, "stop", None) if script.text is not None else None
        if isinstance(script, _Error):
            return self._error(script)
        if script is None:
            if self.default_delay is not None:
                await self._sleep(random.uniform(*self.default_delay))
            script = _Text(self.default_reply(body), 4, "stop", None)
        if body.get("stream"):
            usage = (body.get("stream_options") or {}).get("include_usage") and self.reports_usage
            return await self._stream(request, script, self.prompt_tokens(body) if usage else None)
        return web.json_response(self._completion(script))

    async def _sleep(self, seconds: float) -> None:
        """Wait ``seconds``, or less if the server is closing."""
        try:
            await asyncio.wait_for(self._closing.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    async def _wait_gate(self, gate: asyncio.Event) -> None:
        """Wait until the test opens ``gate`` (or the server closes)."""
        waits = [asyncio.ensure_future(gate.wait()), asyncio.ensure_future(self._closing.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits:
                waiter.cancel()

    @staticmethod
    def _error(script: _Error) -> web.Response:
        """An OpenAI-style error response."""
        kind = "rate_limit_exceeded" if script.status == 429 else "fake_error"
        payload = {"error": {"message": script.message, "type": kind, "param": None, "code": kind}}
        return web.json_response(payload, status=script.status)

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None) -> bytes:
        """One SSE event holding a chat.completion.chunk."""
        payload = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        }
        return f"data: {json.dumps(payload)}\n\n".encode()

    async def _stream(self, request: web.Request, script: _Text, prompt_tokens: int | None) -> web.StreamResponse:
        """Send ``script`` as server-sent events, like OpenAI's streaming API."""
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        await response.write(self._chunk({"role": "assistant", "content": ""}, None))
        for index, piece in enumerate(split_text(script.text, script.chunks)):
            if script.break_after is not None and index >= script.break_after:
                if request.transport is not None:
                    request.transport.abort()
                return response
            if script.garbage_after is not None and index >= script.garbage_after:
                await response.write(b"data: {this is not json\n\n")
                await response.write_eof()
                return response
            if script.gate is not None and index == script.gate_after:
                await self._wait_gate(script.gate)
            await response.write(self._chunk({"content": piece}, None))
        await response.write(self._chunk({}, script.finish_reason))
        if prompt_tokens is not None:
            usage = {"prompt_tokens": prompt_tokens, "completion_tokens": 1, "total_tokens": prompt_tokens + 1}
            payload = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
                       "model": self.model, "choices": [], "usage": usage}
            await response.write(f"data: {json.dumps(payload)}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    def _completion(self, script: _Text) -> dict[str, Any]:
        """A non-streamed chat.completion answer."""
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": script.text},
                    "finish_reason": script.finish_reason,
                }
            ],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        }
