"""Where a streamed reply goes while it is written: the frontend implements this."""

from __future__ import annotations

from typing import Protocol

from engine.views import CharacterView


class ReplySink(Protocol):
    """A frontend's target for one character reply as it streams in."""

    async def begin(self, character: CharacterView) -> None:
        """The model starts writing for `character` (show typing)."""

    async def update(self, character: CharacterView, text: str) -> None:
        """The whole text so far (called once per streamed chunk; throttle on your side)."""

    async def finish(self, character: CharacterView, text: str) -> list[str]:
        """The final text; post or settle it and return the frontend's message ids (may be empty)."""

    async def abort(self, character: CharacterView, error: Exception) -> None:
        """The model failed mid-reply: remove whatever partial text was shown."""
