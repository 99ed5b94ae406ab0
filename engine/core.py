"""The Engine's shared state, and the methods its parts call across files, declared once for the type checker.

The Engine (engine/app.py) is assembled from mixins: writes (engine/writes.py), narration
(engine/narrator/flows.py) and reads (engine/reads.py). Each mixin derives from EngineCore, so its methods
see the Engine's attributes and the few methods another part defines. The declarations below exist only
for the type checker; mypy checks each against the real definition (a mismatch is an error in app.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from engine.commands import Actor, Command
    from engine.events import Recorded
    from engine.llm.port import LanguageModel
    from engine.narrator.prompt import Budget
    from engine.narrator.sink import ReplySink
    from engine.serial import ChatSerializer
    from engine.storage.port import Conn, Storage
    from engine.views import CharacterView, ChatRef, ChatView, MessageView, PersonaView

T = TypeVar("T")


class EngineCore:
    """The attributes Engine.__init__ sets, and cross-file methods (declared, defined elsewhere)."""

    db: Storage
    model: LanguageModel | None
    budget: Budget
    serial: ChatSerializer
    max_queued_replies: int
    _new_id: Callable[[str], str]
    _generation_slots: asyncio.Semaphore

    if TYPE_CHECKING:
        # engine/app.py
        def _story(self, channel_id: str, job: Callable[[], Awaitable[T]], *,
                   generates: bool = False) -> asyncio.Future[T]: ...

        async def chat_ref(self, channel_id: str, guild_id: str) -> ChatRef: ...

        async def execute(self, cmd: Command, result: Callable[[Conn, list[Recorded[Any]]], T], *,
                          key: str | None = None, cause: str | None = None) -> T: ...

        async def rebuild(self) -> int: ...

        # engine/writes.py
        async def _in_chat(self, ref: ChatRef, cls: type[Command], result: Callable[[Conn, list[Recorded[Any]]], T],
                           *, key: str | None, cause: str | None, **fields: Any) -> T: ...

        def record_message(self, actor: Actor, channel_id: str, message_id: str, text: str, *,
                           cause: str | None = None) -> asyncio.Future[MessageView]: ...

        async def _record_line(self, actor: Actor, ref: ChatRef, message_id: str, text: str,
                               cause: str | None) -> MessageView: ...

        async def _do(self, cls: type[Command], result: Callable[[Conn, list[Recorded[Any]]], T], *,
                      key: str | None = None, cause: str | None = None, **fields: Any) -> T: ...

        def _chat_command(self, actor: Actor, channel_id: str, cls: type[Command],
                          result: Callable[[Conn, list[Recorded[Any]]], T], *, cause: str | None,
                          **fields: Any) -> asyncio.Future[T]: ...

        # engine/narrator/flows.py
        async def _post_text(self, card: CharacterView, sink: ReplySink, text: str) -> str: ...

        async def _shown(self, card: CharacterView, sink: ReplySink, produce: Awaitable[str],
                         record: Callable[[list[str]], Awaitable[MessageView]]) -> MessageView: ...

        async def _greet(self, actor: Actor, chat: ChatView, sink: ReplySink | None, cause: str | None,
                         number: int = 1) -> None: ...

        async def narrate_scene_summary(self, chat: ChatView) -> str: ...

        async def narrate_time_skip(self, chat: ChatView, minutes: int) -> str | None: ...

        # engine/reads.py
        async def get_chat(self, channel_id: str) -> ChatView: ...

        async def get_character(self, guild_id: str, name: str) -> CharacterView: ...

        async def character_by_id(self, character_id: str) -> CharacterView | None: ...

        async def find_persona(self, user_id: str, guild_id: str | None) -> PersonaView | None: ...
