"""Writing with the language model: a reply streamed into a frontend's sink and recorded (or withdrawn), and a
whole text with no frontend attached (a summary, a skip's line, an off-screen scene).

What is posted and what is recorded never disagree: on any failure after the sink began showing a reply (a model
error, a frontend error, the record refused, cancellation), the shown text is withdrawn.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable

import structlog

from engine.errors import NarratorUnavailable
from engine.events import REPLY_MAX
from engine.llm.port import LanguageModel
from engine.narrator.prompt import Budget, Prompt
from engine.narrator.sink import ReplySink
from engine.storage.port import Storage
from engine.views import CharacterView, MessageView

log = structlog.get_logger(__name__)
CUT_MARKER = "… (cut: too long)"
Record = Callable[[str, list[str]], Awaitable[MessageView]]  # (text, frontend message ids) → the recorded line


def fit(text: str, limit: int) -> str:
    """`text` within `limit` characters: when it is longer, cut (at a word when one ends near the limit) and
    ended with a visible CUT_MARKER, so what is shown and recorded never ends mid-thought without saying so."""
    if len(text) <= limit:
        return text
    head = text[:limit - len(CUT_MARKER)]
    space = head.rfind(" ", len(head) - 80)
    return (head[:space] if space > 0 else head).rstrip() + CUT_MARKER


def clean_reply(text: str, name: str) -> str:
    """Trim whitespace and the speaker's own 'Name:' the model may echo at the start of the reply or of any of its
    lines (a small model often goes on with '\nAria: …' in Aria's own reply)."""
    own = re.compile(rf"^[ \t]*\**{re.escape(name)}\**[ \t]*:[ \t]*", flags=re.IGNORECASE | re.MULTILINE)
    return own.sub("", text.strip()).strip()


class NullSink:
    """A sink that shows nothing (for callers that only want the result)."""

    async def begin(self, character: CharacterView) -> None:
        """Nothing to show."""

    async def update(self, character: CharacterView, text: str) -> None:
        """Nothing to show."""

    async def finish(self, character: CharacterView, text: str) -> list[str]:
        """No frontend message ids."""
        return []

    async def abort(self, character: CharacterView, error: Exception) -> None:
        """Nothing to remove."""


class Writing:
    """The model, the generation slots shared by every channel, and the one way text reaches a sink."""

    def __init__(self, db: Storage, model: LanguageModel | None, budget: Budget, *, slots: int) -> None:
        self.db = db
        self.model = model
        self.budget = budget
        self._slots = asyncio.Semaphore(slots)

    def require_model(self) -> LanguageModel:
        """The model, or NarratorUnavailable when none is configured."""
        if self.model is None:
            raise NarratorUnavailable("no language model is configured")
        return self.model

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the CHRONICLE_MAX_CONCURRENT_REPLIES generation slots (none while the disk is full)."""
        self.room_for_a_reply()
        async with self._slots:
            yield

    def room_for_a_reply(self) -> None:
        """Refuse (StorageError) before anything is generated or shown when the reply could not be recorded."""
        room = getattr(self.db, "room", None)  # SQLite: free space on the disk; a server database has none
        if room is not None:
            room()

    async def show_and_record(self, card: CharacterView, sink: ReplySink, produce: Awaitable[str],
                              record: Record) -> MessageView:
        """Show what `produce` writes through the sink, then record it; withdraw it on any failure."""
        try:
            self.room_for_a_reply()
            await sink.begin(card)
        except BaseException:
            close = getattr(produce, "close", None)  # a coroutine that will never run: not left "never awaited"
            if close is not None:
                close()
            raise
        try:
            text = await produce
            ids = await sink.finish(card, text)
            return await record(text, ids)
        except BaseException as exc:
            await _withdraw(sink, card, exc)
            raise

    async def post(self, card: CharacterView, sink: ReplySink, text: str) -> str:
        """Show a fixed text (no model) through the sink."""
        await sink.update(card, text)
        return text

    async def stream(self, prompt: Prompt, card: CharacterView, sink: ReplySink, *, prefix: str = "") -> str:
        """Stream a reply into the sink; returns the cleaned text (prefix + generated), as it will be stored.
        A reply past REPLY_MAX stops being read there and ends with CUT_MARKER."""
        model = self.require_model()
        pieces: list[str] = []
        stream = model.stream(prompt.messages, stop=prompt.stop, max_tokens=self.budget.reply_tokens)
        try:
            async for chunk in stream:
                if chunk.text:
                    pieces.append(chunk.text)
                    raw = "".join(pieces)
                    if not _maybe_name_prefix(raw.rsplit("\n", 1)[-1], card.name):  # its last line
                        shown = _join(prefix, clean_reply(raw, card.name))
                        await sink.update(card, fit(shown, REPLY_MAX))
                        if len(shown) > REPLY_MAX:
                            break
        finally:
            if (close := getattr(stream, "aclose", None)) is not None:
                await close()  # a reply cut short stops the model's stream now
        generated = clean_reply("".join(pieces), card.name)
        if not generated:
            raise NarratorUnavailable("the model returned an empty reply")
        return fit(_join(prefix, generated), REPLY_MAX)

    async def complete(self, prompt: Prompt, limit: int) -> str:
        """A whole generation with no frontend attached (summaries, skips, digests), within `limit` characters."""
        model = self.require_model()
        async with self.slot():
            pieces = [chunk.text async for chunk in model.stream(prompt.messages, max_tokens=self.budget.reply_tokens)]
        text = "".join(pieces).strip()
        if not text:
            raise NarratorUnavailable("the model returned an empty text")
        return fit(text, limit)


async def _withdraw(sink: ReplySink, card: CharacterView, error: BaseException) -> None:
    """Take back what the sink showed; runs to the end even while the flow is being cancelled."""
    try:
        await asyncio.shield(sink.abort(card, error if isinstance(error, Exception) else RuntimeError("cancelled")))
    except BaseException as exc:  # noqa: BLE001 — withdrawing must never hide the original failure
        log.warning("reply_withdraw_failed", character=card.character_id, error=repr(exc))


def _maybe_name_prefix(raw: str, name: str) -> bool:
    """True while a line so far could still be the start of an echoed 'Name:' (hold it back)."""
    head = raw.lstrip().lstrip("*").casefold()
    return len(head) <= len(name) + 1 and f"{name.casefold()}:".startswith(head)


def _join(prefix: str, text: str) -> str:
    if not prefix:
        return text
    return prefix.rstrip() + (" " if text and text[0] not in ",.;:!?" else "") + text

