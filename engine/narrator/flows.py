"""Story flows that involve the language model: reply, regenerate, continue, summaries, meanwhile.

Generated text goes into events; replaying the log never calls the model.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import structlog

from engine import queries
from engine.commands import Actor, RecordReply, ReviseReply
from engine.core import EngineCore
from engine.deciders.transcript import STALE_REPLY, latest_reply
from engine.errors import AlreadyHandled, DomainError, InvalidInput, NarratorUnavailable, SlowDown, StorageError
from engine.events import MESSAGE_MAX, REPLY_MAX, Recorded
from engine.llm.port import LanguageModel
from engine.narrator.context import PromptInputs, load_inputs, redact_inputs, with_lore
from engine.narrator.lore import lore_tokens
from engine.narrator.prompt import Budget, Prompt, build_reply_prompt, build_task_prompt
from engine.narrator.sink import ReplySink
from engine.serial import log_failure
from engine.storage.port import Conn
from engine.storytime import format_duration
from engine.views import CharacterView, ChatRef, ChatView, MeanwhileView, MessageView, RespondResult

log = structlog.get_logger(__name__)

SCENE_TASK = ("You are the narrator of a roleplay story. Summarise the scene below in two or three sentences, past "
              "tense, third person: who was there, what happened, what changed. Write only the summary.")
SKIP_TASK = ("You are the narrator of a roleplay story. In one sentence, past tense, say what happened during the "
             "{duration} that pass after the lines below{place}. Write only that sentence.")
MEANWHILE_TASK = ("You are the narrator of a roleplay story. Write a short off-screen scene (one or two paragraphs, "
                  "past tense, third person) in which {names}{place}: {premise}\n\n{cards}\n\nWrite only the scene.")


CUT_MARKER = "… (cut: too long)"


def fit(text: str, limit: int) -> str:
    """`text` within `limit` characters: when it is longer, cut (at a word when one ends near the limit) and
    ended with a visible CUT_MARKER, so what is shown and recorded never ends mid-thought without saying so."""
    if len(text) <= limit:
        return text
    head = text[:limit - len(CUT_MARKER)]
    space = head.rfind(" ", len(head) - 80)
    return (head[:space] if space > 0 else head).rstrip() + CUT_MARKER


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


class EngineNarration(EngineCore):
    """Model-backed flows; mixed into Engine."""

    model: LanguageModel | None
    budget: Budget

    def _model(self) -> LanguageModel:
        if self.model is None:
            raise NarratorUnavailable("no language model is configured")
        return self.model

    @contextlib.asynccontextmanager
    async def _generating(self) -> AsyncIterator[None]:
        """Hold one of the CHRONICLE_MAX_CONCURRENT_REPLIES generation slots (none while the disk is full)."""
        self._room_for_a_reply()
        async with self._generation_slots:
            yield

    def _room_for_a_reply(self) -> None:
        """Refuse (StorageError) before anything is generated or shown when the reply could not be recorded."""
        room = getattr(self.db, "room", None)  # SQLite: free space on the disk; a server database has none
        if room is not None:
            room()

    async def inspect_prompt(self, channel_id: str, character: str | None = None, *,
                             actor: Actor | None = None, line: str | None = None) -> Prompt:
        """The exact messages the next reply would be generated from, with each part's tokens.

        Members (an actor who is not an admin) see it without the cards' hidden instructions and other
        people's persona descriptions; admins and the console see everything. With `line`, it is the prompt
        the reply would get if that line were said now (by `actor`, else by the newest speaker); nothing is
        recorded.
        """
        if line is not None and not 0 < len(line.strip()) <= MESSAGE_MAX:
            raise InvalidInput(f"Give a line of 1 to {MESSAGE_MAX:,} characters to see the prompt it would get.")
        chat = await self.get_chat(channel_id)
        card = await self._speaker(chat, character)
        said = None if line is None else await self.db.read(lambda c: _hypothetical(c, chat, actor, line))
        inputs = await self._inputs(chat, card.character_id, line=said)
        if actor is not None and not actor.is_admin:
            inputs = redact_inputs(inputs, actor.user_id)
        return build_reply_prompt(inputs, self.budget)

    async def _inputs(self, chat: ChatView, character_id: str, *, before_seq: int | None = None,
                      line: MessageView | None = None) -> PromptInputs:
        """What a reply prompt is built from, read in one go (lore activated within its share of the budget)."""
        lore_budget = lore_tokens(self.budget.prompt_tokens)
        inputs = await self.db.read(lambda c: load_inputs(c, chat, character_id, before_seq=before_seq,
                                                          lore_budget=lore_budget, line=line))
        return await with_lore(inputs, self.budget.lore_seconds)

    def respond(self, actor: Actor, channel_id: str, message_id: str, text: str, sink: ReplySink, *,
                cause: str | None = None) -> asyncio.Future[RespondResult]:
        """Record a person's line, then stream and record the reply of whoever it addresses.

        A repeat of a line that is still unanswered is answered; a repeat of an answered or removed line
        does nothing. With too many replies already waiting in the channel, the line is recorded in its
        turn but not answered, and the returned future fails at once with SlowDown.
        """
        if self.serial.generations(channel_id) >= self.max_queued_replies:
            recorded = self.record_message(actor, channel_id, message_id, text, cause=cause)
            recorded.add_done_callback(log_failure)
            refused: asyncio.Future[RespondResult] = asyncio.get_running_loop().create_future()
            refused.set_exception(SlowDown(
                f"Slow down a little: {self.max_queued_replies} replies are already being written here. Your line "
                "is part of the story; the characters will answer what comes next."))
            return refused
        return self._story(channel_id, lambda: self._respond(actor, channel_id, message_id, text, sink, cause),
                           generates=True)

    async def _respond(self, actor: Actor, channel_id: str, message_id: str, text: str, sink: ReplySink,
                       cause: str | None) -> RespondResult:
        ref = await self.chat_ref(channel_id, actor.guild_id)
        self._room_for_a_reply()  # a line that could not be answered is refused whole: nothing of it recorded
        try:
            said = await self._record_line(actor, ref, message_id, text, cause)
        except AlreadyHandled:
            return RespondResult(None)
        newest = await self.db.read(lambda c: queries.nth_last_message(c, ref.chat_id, 1))
        if said.chat_id != ref.chat_id or (newest is not None and newest.seq > said.seq):
            log.info("respond_skipped_already_answered", message_id=message_id)
            return RespondResult(said)
        replies = []
        try:
            for character in await self._responders(ref.chat, said.text):
                ref = await self.chat_ref(channel_id, actor.guild_id)
                replies.append(await self._reply(actor, ref, character, sink, said.message_id,
                                                 key=f"reply:{said.message_id}:{character.character_id}", cause=cause))
        except StorageError as exc:  # the line is in the log: saying "nothing recorded" would have it typed twice
            if exc.kind == "gone":  # ... unless the file holding it is gone
                raise
            raise exc.after("your line is part of the story, but no reply was recorded") from exc
        return RespondResult(said, tuple(replies))

    async def _post_text(self, card: CharacterView, sink: ReplySink, text: str) -> str:
        """Show a fixed text (no model) through the sink."""
        await sink.update(card, text)
        return text

    def regenerate(self, actor: Actor, channel_id: str, sink: ReplySink, *, reply_id: str | None = None,
                   revision: int | None = None, cause: str | None = None) -> asyncio.Future[MessageView]:
        """Replace the latest reply with a new generation (the old one stays in the log). With `reply_id` and
        `revision` (a button on that reply), only that version of that reply is replaced."""
        return self._story(channel_id, lambda: self._revise(actor, channel_id, sink, "regenerate", reply_id,
                                                              revision, cause), generates=True)

    def continue_reply(self, actor: Actor, channel_id: str, sink: ReplySink, *, reply_id: str | None = None,
                       revision: int | None = None, cause: str | None = None) -> asyncio.Future[MessageView]:
        """Extend the latest reply."""
        return self._story(channel_id, lambda: self._revise(actor, channel_id, sink, "continue", reply_id,
                                                              revision, cause), generates=True)

    async def _revise(self, actor: Actor, channel_id: str, sink: ReplySink, mode: str, reply_id: str | None,
                      revision: int | None, cause: str | None) -> MessageView:
        ref = await self.chat_ref(channel_id, actor.guild_id)
        reply = latest_reply(await self.db.read(lambda c: queries.nth_last_message(c, ref.chat_id, 1)))
        if (reply_id is not None and reply.message_id != reply_id) or (revision is not None
                                                                        and reply.revision != revision):
            raise DomainError(STALE_REPLY)
        card = await self.character_by_id(reply.character_id or "")
        if card is None:
            raise DomainError("The character of that reply no longer exists.")
        before = reply.seq if mode == "regenerate" else None
        inputs = await self._inputs(ref.chat, card.character_id, before_seq=before)
        prompt = build_reply_prompt(inputs, self.budget, mode="continue" if mode == "continue" else "reply")
        prefix = reply.text if mode == "continue" else ""
        async with self._generating():
            return await self._revise_shown(actor, ref, card, sink, prompt, prefix, mode, reply, cause)

    async def _revise_shown(self, actor: Actor, ref: ChatRef, card: CharacterView, sink: ReplySink,
                            prompt: Prompt, prefix: str, mode: str, reply: MessageView,
                            cause: str | None) -> MessageView:
        async def record(text: str, ids: list[str]) -> MessageView:
            return await self._in_chat(ref, ReviseReply, _revised_view, key=cause, cause=cause, actor=actor,
                                       message_id=reply.message_id, expected_revision=reply.revision, text=text,
                                       mode=mode, discord_message_ids=ids)

        return await self._show_and_record(card, sink, self._stream(prompt, card, sink, prefix=prefix), record)

    def run_meanwhile(self, actor: Actor, channel_id: str, characters: list[str], premise: str,
                      place: str | None = None, *, cause: str | None = None) -> asyncio.Future[MeanwhileView]:
        """An off-screen scene: the model writes it; only its participants remember the digest."""

        async def job() -> MeanwhileView:
            from engine.commands import StartMeanwhile

            ref = await self.chat_ref(channel_id, actor.guild_id)
            cards = [await self.get_character(ref.chat.guild_id, name) for name in characters]
            task = MEANWHILE_TASK.format(
                names=" and ".join(c.name for c in cards), place=f" at {place}" if place else "",
                premise=premise.strip(), cards="\n".join(f"{c.name}: {c.description}" for c in cards))
            digest = await self._complete(build_task_prompt(task, [], self.budget))
            return await self._in_chat(ref, StartMeanwhile, _meanwhile_view, key=cause, cause=cause, actor=actor,
                                       characters=characters, premise=premise, place=place or None,
                                       digest=fit(digest, REPLY_MAX))

        return self._story(channel_id, job, generates=True)

    async def narrate_scene_summary(self, chat: ChatView) -> str:
        """The model's summary of the chat's open scene ('' when no scene is open or no model is set)."""
        if self.model is None or chat.active_scene_id is None:
            return ""
        scene_id = chat.active_scene_id
        lines = await self.db.read(lambda c: queries.list_scene_messages(c, chat.chat_id, scene_id))
        return fit(await self._complete(build_task_prompt(SCENE_TASK, lines, self.budget)), REPLY_MAX)

    async def narrate_time_skip(self, chat: ChatView, minutes: int) -> str | None:
        """The model's one-line account of a skip (None without a model: the default line is used)."""
        if self.model is None:
            return None
        lines = await self.db.read(lambda c: queries.list_messages(c, chat.chat_id, limit=30))
        place_id = chat.place_id
        place = await self.db.read(lambda c: queries.find_place_by_id(c, place_id)) if place_id else None
        task = SKIP_TASK.format(duration=format_duration(minutes), place=f" at {place.name}" if place else "")
        return fit(await self._complete(build_task_prompt(task, lines, self.budget)), MESSAGE_MAX)

    async def _speaker(self, chat: ChatView, name: str | None) -> CharacterView:
        if name is not None:
            return await self.get_character(chat.guild_id, name)
        card = await self.character_by_id(chat.host_id)
        if card is None:
            raise DomainError("This story's host character no longer exists.")
        return card

    async def _responders(self, chat: ChatView, text: str) -> list[CharacterView]:
        """The host, unless the line names the guest (or both, in the order they are named)."""
        cards = [c for c in [await self.character_by_id(i) for i in chat.character_ids] if c is not None]
        if len(cards) == 1:
            return cards
        folded = text.casefold()
        found = [(m.start(), c) for c in cards
                 if (m := re.search(rf"\b{re.escape(c.name.casefold())}\b", folded)) is not None]
        named = [c for _, c in sorted(found, key=lambda pair: pair[0])]
        return named if named and (len(named) == 2 or named[0].character_id != chat.host_id) else cards[:1]

    async def _reply(self, actor: Actor, ref: ChatRef, card: CharacterView, sink: ReplySink,
                     in_reply_to: str, *, key: str, cause: str | None) -> MessageView:
        """Generate a reply into the sink and record it against the version its prompt was read at."""
        inputs = await self._inputs(ref.chat, card.character_id)

        async def record(text: str, ids: list[str]) -> MessageView:
            return await self._in_chat(ref, RecordReply, _reply_view, key=key, cause=cause, actor=actor,
                                       character_id=card.character_id, text=text, in_reply_to=in_reply_to,
                                       discord_message_ids=ids)

        async with self._generating():
            return await self._show_and_record(card, sink, self._stream(build_reply_prompt(inputs, self.budget),
                                                                        card, sink), record)

    async def _shown(self, card: CharacterView, sink: ReplySink, produce: Awaitable[str],
                     record: Callable[[list[str]], Awaitable[MessageView]]) -> MessageView:
        """Show a fixed text through the sink and record it (see _show_and_record)."""
        return await self._show_and_record(card, sink, produce, lambda text, ids: record(ids))

    async def _show_and_record(self, card: CharacterView, sink: ReplySink, produce: Awaitable[str],
                               record: Callable[[str, list[str]], Awaitable[MessageView]]) -> MessageView:
        """What is posted and what is recorded never disagree: on any failure after the sink began (a model
        error, a Discord error, the record refused, cancellation), the shown text is withdrawn."""
        try:
            self._room_for_a_reply()
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

    async def _stream(self, prompt: Prompt, card: CharacterView, sink: ReplySink, *, prefix: str = "") -> str:
        """Stream a reply into the sink; returns the cleaned text (prefix + generated), as it will be stored.
        A reply past REPLY_MAX stops being read there and ends with CUT_MARKER."""
        model = self._model()
        pieces: list[str] = []
        stream = model.stream(prompt.messages, stop=prompt.stop, max_tokens=self.budget.reply_tokens)
        try:
            async for chunk in stream:
                if chunk.text:
                    pieces.append(chunk.text)
                    raw = "".join(pieces)
                    if not _maybe_name_prefix(raw, card.name):
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

    async def _complete(self, prompt: Prompt) -> str:
        """A whole generation with no frontend attached (summaries, skips, digests)."""
        model = self._model()
        async with self._generating():
            pieces = [chunk.text async for chunk in model.stream(prompt.messages, max_tokens=self.budget.reply_tokens)]
        text = "".join(pieces).strip()
        if not text:
            raise NarratorUnavailable("the model returned an empty text")
        return text


async def _withdraw(sink: ReplySink, card: CharacterView, error: BaseException) -> None:
    """Take back what the sink showed; runs to the end even while the flow is being cancelled."""
    try:
        await asyncio.shield(sink.abort(card, error if isinstance(error, Exception) else RuntimeError("cancelled")))
    except BaseException as exc:  # noqa: BLE001 — withdrawing must never hide the original failure
        log.warning("reply_withdraw_failed", character=card.character_id, error=repr(exc))


def _hypothetical(conn: Conn, chat: ChatView, actor: Actor | None, text: str) -> MessageView:
    """A person's line as if said now, under the name recording it would use (never recorded)."""
    if actor is not None:
        persona = queries.find_persona(conn, actor.user_id, actor.guild_id)
        author, name = actor.user_id, persona.name if persona else (actor.display_name or f"User {actor.user_id}")
    else:
        newest = queries.newest_person_line(conn, chat.chat_id)
        author, name = (newest.author_id, newest.speaker) if newest else ("", "You")
    return MessageView(message_id="hypothetical", chat_id=chat.chat_id, seq=0, role="person", author_id=author,
                       speaker=name, character_id=None, text=text, discord_ids=(), revision=0, retracted=False,
                       story_minute=chat.story_minute, scene_id=chat.active_scene_id)


def _reply_view(conn: Conn, recorded: list[Recorded[Any]]) -> MessageView:
    from engine.writes import _message

    return _message("bot_replied")(conn, recorded)


def _revised_view(conn: Conn, recorded: list[Recorded[Any]]) -> MessageView:
    from engine.writes import _message

    return _message("reply_regenerated")(conn, recorded)


def _meanwhile_view(conn: Conn, recorded: list[Recorded[Any]]) -> MeanwhileView:
    from engine.writes import _meanwhile

    return _meanwhile("meanwhile_scene_started")(conn, recorded)


def _maybe_name_prefix(raw: str, name: str) -> bool:
    """True while the text so far could still be the start of an echoed 'Name:' (hold it back)."""
    head = raw.lstrip().lstrip("*").casefold()
    return len(head) <= len(name) + 1 and f"{name.casefold()}:".startswith(head)


def _join(prefix: str, text: str) -> str:
    if not prefix:
        return text
    return prefix.rstrip() + (" " if text and text[0] not in ",.;:!?" else "") + text
