"""The language-model port: what the narrator needs from any model server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message of a chat prompt."""

    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class TextChunk:
    """A piece of streamed text; only the last chunk carries a finish_reason.

    The last chunk's text may be empty: it then only reports why the stream ended
    ("stop" for a natural end or a stop string, "length" for the token limit).
    """

    text: str
    finish_reason: str | None = None


@runtime_checkable
class LanguageModel(Protocol):
    """A chat model that streams its reply as text chunks."""

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        stop: Sequence[str] = (),
        max_tokens: int | None = None,
    ) -> AsyncIterator[TextChunk]:
        """Stream the reply to ``messages``; raise NarratorUnavailable when the model can't answer."""
        ...

    async def aclose(self) -> None:
        """Release the connections held by the model client."""
        ...
