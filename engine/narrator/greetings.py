"""The story's opening line: the host's chosen greeting, and swiping between its greetings before anyone speaks.

Any random macro in a greeting ({{random}}, {{pick}}, {{roll}}) is decided here, when its event is written
(seeded from the chat's id, or a fresh id for a swipe), so replaying the log shows the same text.
"""

from __future__ import annotations

import asyncio
import random
from typing import TYPE_CHECKING

from engine import queries
from engine.cards.macros import expand_macros
from engine.commands import Actor, RecordReply
from engine.commands_cards import SwipeGreeting
from engine.core import EngineCore
from engine.deciders.characters import greeting_choices
from engine.deciders.transcript import SPOKEN, STALE_REPLY, latest_reply
from engine.errors import DomainError, InvalidInput
from engine.events import REPLY_MAX
from engine.narrator.sink import ReplySink
from engine.views import CharacterView, ChatView, MessageView

if TYPE_CHECKING:
    pass


def greeting_text(card: CharacterView, number: int, *, user: str, seed: str, group: bool = False) -> str:
    """Greeting `number` with its macros expanded ({{char}} is the nickname when set)."""
    choices = greeting_choices(card, group=group)
    if not 1 <= number <= len(choices):
        raise InvalidInput(f"greeting: {card.name} has {len(choices)} greeting(s); pick 1 to {len(choices)}.")
    text = expand_macros(choices[number - 1], char=card.nickname or card.name, user=user, rng=random.Random(seed))
    return text.strip()[:REPLY_MAX]


class EngineGreetings(EngineCore):
    """The opening greeting; mixed into Engine."""

    async def _user_name(self, actor: Actor) -> str:
        persona = await self.find_persona(actor.user_id, actor.guild_id)
        return persona.name if persona else (actor.display_name or "you")

    async def _greet(self, actor: Actor, chat: ChatView, sink: ReplySink | None, cause: str | None,
                     number: int = 1) -> None:
        """Post the host's greeting `number` and record it (with its Discord ids) as the story's first reply."""
        from engine.narrator.flows import NullSink, _reply_view

        host = await self.character_by_id(chat.host_id)
        if host is None:
            return
        text = greeting_text(host, number, user=await self._user_name(actor), seed=f"{chat.chat_id}:greeting",
                             group=chat.guest_id is not None)
        if not text:
            return
        ref = await self.chat_ref(chat.channel_id, actor.guild_id)
        target = sink or NullSink()
        await self._shown(host, target, self._post_text(host, target, text), lambda ids: self._in_chat(
            ref, RecordReply, _reply_view, key=f"{cause}:greeting" if cause else None, cause=cause, actor=actor,
            character_id=host.character_id, text=text, in_reply_to=None, discord_message_ids=ids))

    def swipe_greeting(self, actor: Actor, channel_id: str, number: int, sink: ReplySink, *,
                       reply_id: str | None = None, revision: int | None = None,
                       cause: str | None = None) -> asyncio.Future[MessageView]:
        """Show greeting `number` of the host instead of the opening line (a reply_regenerated), while nobody has
        spoken yet. With `reply_id` and `revision` (a button), only that version of that line is replaced."""

        async def job() -> MessageView:
            from engine.narrator.flows import _revised_view

            ref = await self.chat_ref(channel_id, actor.guild_id)
            if await self.db.read(lambda c: queries.newest_person_line(c, ref.chat_id)) is not None:
                raise DomainError(SPOKEN)
            reply = latest_reply(await self.db.read(lambda c: queries.nth_last_message(c, ref.chat_id, 1)))
            if (reply_id is not None and reply.message_id != reply_id) or (
                    revision is not None and reply.revision != revision):
                raise DomainError(STALE_REPLY)
            host = await self.character_by_id(reply.character_id or "")
            if host is None:
                raise DomainError("The character of that greeting no longer exists.")
            text = greeting_text(host, number, user=await self._user_name(actor), seed=self._new_id("greeting"),
                                 group=ref.chat.guest_id is not None)
            if not text:
                raise DomainError(f"Greeting {number} of {host.name} is empty.")
            return await self._shown(host, sink, self._post_text(host, sink, text), lambda ids: self._in_chat(
                ref, SwipeGreeting, _revised_view, key=cause, cause=cause, actor=actor, message_id=reply.message_id,
                expected_revision=reply.revision, text=text, discord_message_ids=ids))

        return self._story(channel_id, job)
