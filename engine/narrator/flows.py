"""Story flows that involve the language model: reply, regenerate, continue, summaries, meanwhile.

Generated text goes into events; replaying the log never calls the model.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import structlog

from engine import queries
from engine.commands import Actor
from engine.deciders.story import latest_reply
from engine.errors import NarratorUnavailable
from engine.events import REPLY_MAX
from engine.llm.port import LanguageModel
from engine.narrator.context import load_inputs
from engine.narrator.prompt import Budget, Prompt, build_reply_prompt, build_task_prompt
from engine.narrator.sink import ReplySink
from engine.storytime import format_duration
from engine.views import CharacterView, ChatView, MeanwhileView, MessageView

if TYPE_CHECKING:
    from engine.app import Engine

log = structlog.get_logger(__name__)

SCENE_TASK = ("You are the narrator of a roleplay story. Summarise the scene below in two or three sentences, past "
              "tense, third person: who was there, what happened, what changed. Write only the summary.")
SKIP_TASK = ("You are the narrator of a roleplay story. In one sentence, past tense, say what happened during the "
             "{duration} that pass after the lines below{place}. Write only that sentence.")
MEANWHILE_TASK = ("You are the narrator of a roleplay story. Write a short off-screen scene (one or two paragraphs, "
                  "past tense, third person) in which {names}{place}: {premise}\n\n{cards}\n\nWrite only the scene.")


def clean_reply(text: str, name: str) -> str:
    """Trim whitespace and a leading 'Name:' the model may echo."""
    text = text.strip()
    return re.sub(rf"^\s*\**{re.escape(name)}\**\s*:\s*", "", text, flags=re.IGNORECASE).strip()


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


class EngineNarration:
    """Model-backed flows; mixed into Engine."""

    model: LanguageModel | None
    budget: Budget

    def _model(self) -> LanguageModel:
        if self.model is None:
            raise NarratorUnavailable("no language model is configured")
        return self.model

    async def inspect_prompt(self: Engine, channel_id: str, character: str | None = None) -> Prompt:
        """The exact messages the next reply would be generated from, with each part's tokens."""
        chat = await self.get_chat(channel_id)
        card = await self._speaker(chat, character)
        inputs = await self.db.read(lambda c: load_inputs(c, chat, card.character_id))
        return build_reply_prompt(inputs, self.budget)

    async def respond(self: Engine, actor: Actor, channel_id: str, message_id: str, text: str,
                      sink: ReplySink) -> list[MessageView]:
        """Record a person's line, then stream and record the reply of whoever it addresses."""
        async with self.chat_locks.hold(channel_id):
            said = await self.record_message(actor, channel_id, message_id, text)
            chat = await self.get_chat(channel_id)
            newest = await self.db.read(lambda c: queries.nth_last_message(c, chat.chat_id, 1))
            if said.chat_id != chat.chat_id or (newest is not None and newest.seq > said.seq):
                log.info("respond_skipped_already_answered", message_id=message_id)
                return []
            replies = []
            for character in await self._responders(chat, said.text):
                replies.append(await self._reply(actor, chat, character, sink))
            return replies

    async def regenerate(self: Engine, actor: Actor, channel_id: str, sink: ReplySink) -> MessageView:
        """Replace the latest reply with a new generation (the old one stays in the log)."""
        async with self.chat_locks.hold(channel_id):
            chat = await self.get_chat(channel_id)
            reply = await self.db.read(lambda c: latest_reply(c, chat))
            card = await self.character_by_id(reply.character_id)
            inputs = await self.db.read(lambda c: load_inputs(c, chat, card.character_id, before_seq=reply.seq))
            text = await self._stream(build_reply_prompt(inputs, self.budget), card, sink)
            ids = await sink.finish(card, text)
            return await self.revise_reply(actor, channel_id, text, mode="regenerate", discord_message_ids=ids)

    async def continue_reply(self: Engine, actor: Actor, channel_id: str, sink: ReplySink) -> MessageView:
        """Extend the latest reply."""
        async with self.chat_locks.hold(channel_id):
            chat = await self.get_chat(channel_id)
            reply = await self.db.read(lambda c: latest_reply(c, chat))
            card = await self.character_by_id(reply.character_id)
            inputs = await self.db.read(lambda c: load_inputs(c, chat, card.character_id))
            prompt = build_reply_prompt(inputs, self.budget, mode="continue")
            text = await self._stream(prompt, card, sink, prefix=reply.text)
            ids = await sink.finish(card, text)
            return await self.revise_reply(actor, channel_id, text, mode="continue", discord_message_ids=ids)

    async def run_meanwhile(self: Engine, actor: Actor, channel_id: str, characters: list[str], premise: str,
                            place: str | None = None) -> MeanwhileView:
        """An off-screen scene: the model writes it; only its participants remember the digest."""
        chat = await self.get_chat(channel_id)
        cards = [await self.get_character(chat.guild_id, name) for name in characters]
        task = MEANWHILE_TASK.format(
            names=" and ".join(c.name for c in cards), place=f" at {place}" if place else "",
            premise=premise.strip(), cards="\n".join(f"{c.name}: {c.description}" for c in cards))
        digest = await self._complete(build_task_prompt(task, [], self.budget))
        return await self.start_meanwhile(actor, channel_id, characters, premise, place=place, digest=digest)

    async def narrate_scene_summary(self: Engine, chat: ChatView) -> str:
        """The model's summary of the chat's open scene ('' when no scene is open or no model is set)."""
        if self.model is None or chat.active_scene_id is None:
            return ""
        lines = await self.db.read(lambda c: queries.list_scene_messages(c, chat.chat_id, chat.active_scene_id))
        return await self._complete(build_task_prompt(SCENE_TASK, lines, self.budget))

    async def narrate_time_skip(self: Engine, chat: ChatView, minutes: int) -> str | None:
        """The model's one-line account of a skip (None without a model: the default line is used)."""
        if self.model is None:
            return None
        lines = await self.db.read(lambda c: queries.list_messages(c, chat.chat_id, limit=30))
        place = await self.db.read(lambda c: queries.find_place_by_id(c, chat.place_id)) if chat.place_id else None
        task = SKIP_TASK.format(duration=format_duration(minutes), place=f" at {place.name}" if place else "")
        return (await self._complete(build_task_prompt(task, lines, self.budget)))[:4000]

    async def _speaker(self: Engine, chat: ChatView, name: str | None) -> CharacterView:
        if name is None:
            card = await self.character_by_id(chat.host_id)
        else:
            card = await self.get_character(chat.guild_id, name)
        assert card is not None
        return card

    async def _responders(self: Engine, chat: ChatView, text: str) -> list[CharacterView]:
        """The host, unless the line names the guest (or both, in the order they are named)."""
        cards = [c for c in [await self.character_by_id(i) for i in chat.character_ids] if c is not None]
        if len(cards) == 1:
            return cards
        folded = text.casefold()
        found = [(m.start(), c) for c in cards
                 if (m := re.search(rf"\b{re.escape(c.name.casefold())}\b", folded)) is not None]
        named = [c for _, c in sorted(found, key=lambda pair: pair[0])]
        return named if named and (len(named) == 2 or named[0].character_id != chat.host_id) else cards[:1]

    async def _reply(self: Engine, actor: Actor, chat: ChatView, card: CharacterView,
                     sink: ReplySink) -> MessageView:
        inputs = await self.db.read(lambda c: load_inputs(c, chat, card.character_id))
        text = await self._stream(build_reply_prompt(inputs, self.budget), card, sink)
        ids = await sink.finish(card, text)
        return await self.record_reply(actor, chat.channel_id, card.character_id, text, ids)

    async def _stream(self: Engine, prompt: Prompt, card: CharacterView, sink: ReplySink, *, prefix: str = "") -> str:
        """Stream a reply into the sink; returns the cleaned text (prefix + generated)."""
        model = self._model()
        await sink.begin(card)
        pieces: list[str] = []
        try:
            async for chunk in model.stream(prompt.messages, stop=prompt.stop, max_tokens=self.budget.reply_tokens):
                if chunk.text:
                    pieces.append(chunk.text)
                    raw = "".join(pieces)
                    if not _maybe_name_prefix(raw, card.name):
                        await sink.update(card, _join(prefix, clean_reply(raw, card.name)))
            generated = clean_reply("".join(pieces), card.name)
            if not generated:
                raise NarratorUnavailable("the model returned an empty reply")
        except NarratorUnavailable as exc:
            await sink.abort(card, exc)
            raise
        return _join(prefix, generated)[:REPLY_MAX]

    async def _complete(self: Engine, prompt: Prompt) -> str:
        """A whole generation with no frontend attached (summaries, skips, digests)."""
        model = self._model()
        pieces = [chunk.text async for chunk in model.stream(prompt.messages, max_tokens=self.budget.reply_tokens)]
        text = "".join(pieces).strip()
        if not text:
            raise NarratorUnavailable("the model returned an empty text")
        return text


def _maybe_name_prefix(raw: str, name: str) -> bool:
    """True while the text so far could still be the start of an echoed 'Name:' (hold it back)."""
    head = raw.lstrip().lstrip("*").casefold()
    return len(head) <= len(name) + 1 and f"{name.casefold()}:".startswith(head)


def _join(prefix: str, text: str) -> str:
    if not prefix:
        return text
    return prefix.rstrip() + (" " if text and not text[0] in ",.;:!?" else "") + text
