"""Narration: the story flows that involve the language model (or a card's greeting), each run in its channel's
turn — a person's line answered, a reply rewritten or continued, the opening greeting posted or swiped, the texts
a command leaves to the narrator (a scene's summary, a time skip's line, an off-screen scene), and the prompt
inspector.

Generated text goes into events; replaying the log never calls the model. A reply records itself through the
story writer it is given (its one port to the log).
"""

from __future__ import annotations

import asyncio
import random
import typing
from collections.abc import Callable
from typing import Any

import structlog

from engine import queries
from engine.commands import (
    Actor,
    AnswerLine,
    ContinueReply,
    InChat,
    InspectPrompt,
    Narrated,
    NudgeCharacter,
    RecordReply,
    RegenerateReply,
    SayLine,
    SomeoneElse,
    StartChat,
    SwipeGreeting,
)
from engine.deciders.cast import refuse_silent
from engine.deciders.transcript import ANSWERED, SPOKEN, STALE_REPLY, latest_reply
from engine.errors import AlreadyHandled, DomainError, NarratorUnavailable, SlowDown, StorageError
from engine.events import Turn
from engine.narrator.cast import other_members, turn_inputs
from engine.narrator.context import PromptInputs, hypothetical_line, load_inputs, redact_inputs, with_lore
from engine.narrator.director import ask_director
from engine.narrator.generation import NullSink, Writing
from engine.narrator.greetings import greeting_text
from engine.narrator.lore import lore_tokens
from engine.narrator.prompt import Prompt, build_reply_prompt, build_task_prompt
from engine.narrator.sink import ReplySink
from engine.serial import log_failure
from engine.services.writer import StoryWriter
from engine.storage.port import Conn
from engine.turns import DEFAULT_MAX_CHAIN, another, choose, director_candidates
from engine.views import CharacterView, ChatRef, ChatView, MessageView, RespondResult

log = structlog.get_logger(__name__)


def narrated_fields(model: type[Any]) -> list[tuple[str, Narrated]]:
    """The fields of a command the narrator writes when they are left out."""
    out = []
    for name, info in model.model_fields.items():
        for item in (*info.metadata, *_metadata(info.annotation)):
            if isinstance(item, Narrated):
                out.append((name, item))
    return out


def _metadata(annotation: Any) -> list[Any]:
    found: list[Any] = []
    for arg in (annotation, *typing.get_args(annotation)):
        if typing.get_origin(arg) is typing.Annotated:
            found += list(typing.get_args(arg)[1:])
    return found


class Narrator:
    """The model-backed story flows, each submitted to its channel's queue."""

    def __init__(self, writer: StoryWriter, writing: Writing, *, new_id: Callable[[str], str],
                 max_queued_replies: int, max_chain: int = DEFAULT_MAX_CHAIN,
                 draw: Callable[[], float] = random.random) -> None:
        self.writer = writer
        self.writing = writing
        self.db = writer.db
        self._new_id = new_id
        self.max_queued_replies = max_queued_replies
        self.max_chain = max_chain  # characters answering one person's line, at most
        self._draw = draw  # the random numbers of turn rules (stored in the replies they chose)

    async def fill(self, cmd: InChat[Any], chat: ChatView) -> InChat[Any]:
        """The command with every narrated field it left out written by the narrator (left out without a model,
        unless the command can't do without)."""
        updates: dict[str, str] = {}
        for name, narrated in narrated_fields(type(cmd)):
            if getattr(cmd, name) is not None:
                continue
            if self.writing.model is None:
                if narrated.required:
                    raise NarratorUnavailable("no language model is configured")
                continue
            task = await self.db.read(lambda conn: narrated.task(cmd, chat, conn))  # noqa: B023 (awaited here)
            if task is not None:
                prompt = build_task_prompt(task.instruction, list(task.lines), self.writing.budget)
                updates[name] = await self.writing.complete(prompt, task.limit)
        return cmd.model_copy(update=updates) if updates else cmd

    def start_chat(self, cmd: StartChat, sink: ReplySink | None, cause: str | None) -> asyncio.Future[ChatView]:
        """Start the story, then post and record the host's greeting as its first reply (a command of its own)."""

        async def job() -> ChatView:
            chat: ChatView = await self.writer.record(cmd, key=cause, cause=cause)
            try:
                await self._greet(cmd.actor, chat, sink, cause, cmd.greeting or 1)
            except StorageError as exc:  # the story is in the log: "nothing recorded" would have it started twice
                if exc.kind == "gone":
                    raise
                raise exc.after("the story has started, but its greeting was not recorded") from exc
            return chat

        return self.writer.queue(cmd.channel_id, job)

    async def _greet(self, actor: Actor, chat: ChatView, sink: ReplySink | None, cause: str | None,
                     number: int) -> None:
        """Post the host's greeting `number` and record it (with its frontend ids) as the story's first reply."""
        host = await self.db.read(lambda c: queries.find_character_by_id(c, chat.host_id))
        if host is None:
            return
        user = await self._user_name(actor)
        text = greeting_text(host, number, user=user, seed=f"{chat.chat_id}:greeting", group=chat.guest_id is not None)
        if not text:
            return
        target = sink or NullSink()

        async def record(shown: str, ids: list[str]) -> MessageView:
            reply = RecordReply(actor=actor, channel_id=chat.channel_id, character_id=host.character_id, text=text,
                                opening=True, discord_message_ids=ids)
            return await self.writer.record(reply, key=f"{cause}:greeting" if cause else None, cause=cause)

        await self.writing.show_and_record(host, target, self.writing.post(host, target, text), record)

    async def _user_name(self, actor: Actor) -> str:
        persona = await self.db.read(lambda c: queries.find_persona(c, actor.user_id, actor.guild_id))
        return persona.name if persona else (actor.display_name or "you")

    def answer_line(self, cmd: AnswerLine, sink: ReplySink, cause: str | None) -> asyncio.Future[RespondResult]:
        """Record a person's line, then stream and record the reply of whoever it addresses. With too many
        replies already waiting in the channel, the line is recorded in its turn but not answered, and the
        returned future fails at once with SlowDown."""
        if self.writer.serial.generations(cmd.channel_id) >= self.max_queued_replies:
            line = SayLine(actor=cmd.actor, channel_id=cmd.channel_id, message_id=cmd.message_id, text=cmd.text)
            recorded = self.writer.queue(cmd.channel_id, lambda: self.say(line, cause))
            recorded.add_done_callback(log_failure)
            refused: asyncio.Future[RespondResult] = asyncio.get_running_loop().create_future()
            refused.set_exception(SlowDown(
                f"Slow down a little: {self.max_queued_replies} replies are already being written here. Your line "
                "is part of the story; the characters will answer what comes next."))
            return refused
        return self.writer.queue(cmd.channel_id, lambda: self._answer(cmd, sink, cause), generates=True)

    async def say(self, cmd: SayLine | AnswerLine, cause: str | None) -> MessageView:
        """Record a person's line; a repeat delivery answers with the line (AlreadyHandled once it is gone)."""
        line = cmd if type(cmd) is SayLine else SayLine(actor=cmd.actor, channel_id=cmd.channel_id,  # an AnswerLine
                                                        message_id=cmd.message_id, text=cmd.text)  # records as said
        said: MessageView = await self.writer.record(line, key=f"message:{cmd.message_id}",
                                                     cause=cause or f"message:{cmd.message_id}")
        return said

    async def _answer(self, cmd: AnswerLine, sink: ReplySink, cause: str | None) -> RespondResult:
        ref = await self.writer.chat_ref(cmd.channel_id, cmd.actor.guild_id)
        self.writing.room_for_a_reply()  # a line that could not be answered is refused whole: nothing recorded
        try:
            said = await self.say(cmd, cause)
        except AlreadyHandled:
            return RespondResult(None)
        newest = await self.db.read(lambda c: queries.nth_last_message(c, ref.chat_id, 1))
        if said.chat_id != ref.chat_id or (newest is not None and newest.seq > said.seq):
            log.info("respond_skipped_already_answered", message_id=cmd.message_id)
            return RespondResult(said)
        replies = []
        try:
            for character, turn in await self._responders(ref.chat, said, cmd.reply_to):
                ref = await self.writer.chat_ref(cmd.channel_id, cmd.actor.guild_id)
                replies.append(await self._reply(cmd.actor, ref, character, sink, said.message_id, turn=turn,
                                                 key=f"reply:{said.message_id}:{character.character_id}", cause=cause))
        except StorageError as exc:  # the line is in the log: saying "nothing recorded" would have it typed twice
            if exc.kind == "gone":  # ... unless the file holding it is gone
                raise
            raise exc.after("your line is part of the story, but no reply was recorded") from exc
        return RespondResult(said, tuple(replies))

    async def _responders(self, chat: ChatView, said: MessageView,
                          reply_to: str | None) -> list[tuple[CharacterView, Turn]]:
        """Who answers the line, in order (engine/turns.py), each with the turn that chose it; every random number
        is drawn now and recorded with the reply it chose."""
        members, named, recent = await self.db.read(lambda c: turn_inputs(c, chat, said, reply_to))
        directed = None
        if chat.turn_rule == "director" and members and not named:  # the model's answer, asked before recording
            directed = await ask_director(self.writing, chat, said, director_candidates(members, recent))
        picks = choose(chat.turn_rule, members, named, recent, self._draw, self.max_chain, directed)
        cards = await self.db.read(lambda c: [queries.find_character_by_id(c, m.character_id) for m, _ in picks])
        return [(card, turn) for card, (_, turn) in zip(cards, picks, strict=True) if card is not None]

    def nudge(self, cmd: NudgeCharacter, sink: ReplySink, cause: str | None) -> asyncio.Future[MessageView]:
        """One speaking cast member says something now, answering the newest person's line (if any)."""

        async def job() -> MessageView:
            ref = await self.writer.chat_ref(cmd.channel_id, cmd.actor.guild_id)
            card = await self.db.read(lambda c: queries.get_character(c, ref.chat.guild_id, cmd.character))
            if card.character_id not in ref.chat.character_ids:
                raise DomainError(f"{card.name} is not in this story's cast. Add it with /chat cast add.")
            refuse_silent(ref.chat, card)
            return await self._speak(cmd, ref, card, sink, cause)

        return self.writer.queue(cmd.channel_id, job, generates=True)

    def someone_else(self, cmd: SomeoneElse, sink: ReplySink, cause: str | None) -> asyncio.Future[MessageView]:
        """Another speaking member, chosen by the chat's rule (never who just spoke), answers after the latest
        reply; the choice (any draw, any director's answer) is recorded with its reply."""

        async def job() -> MessageView:
            ref = await self.writer.chat_ref(cmd.channel_id, cmd.actor.guild_id)
            reply = await self._latest(ref, cmd.reply_id, cmd.revision)
            others, recent = await self.db.read(lambda c: other_members(c, ref.chat, reply))
            directed = None
            if ref.chat.turn_rule == "director":
                directed = await ask_director(self.writing, ref.chat, reply, others)
            picked = another(ref.chat.turn_rule, others, recent, self._draw, directed)
            if picked is None:
                raise DomainError("Nobody else in the cast can speak now. Add someone with /chat cast add.")
            member, turn = picked
            card = await self._card_of_id(member.character_id)
            return await self._speak(cmd.model_copy(update={"character": card.name, "turn": turn}), ref, card, sink,
                                     cause)

        return self.writer.queue(cmd.channel_id, job, generates=True)

    async def _speak(self, cmd: NudgeCharacter | SomeoneElse, ref: ChatRef, card: CharacterView, sink: ReplySink,
                     cause: str | None) -> MessageView:
        """Stream `card`'s reply now and record it through `cmd` (its text and frontend ids filled in)."""
        inputs = await self.inputs(ref.chat, card.character_id)

        async def record(text: str, ids: list[str]) -> MessageView:
            said = cmd.model_copy(update={"chat_id": ref.chat_id, "expected_version": ref.version, "text": text,
                                          "discord_message_ids": ids})
            return await self.writer.record(said, key=cause, cause=cause)

        async with self.writing.slot():
            prompt = build_reply_prompt(inputs, self.writing.budget)
            return await self.writing.show_and_record(card, sink, self.writing.stream(prompt, card, sink), record)

    async def _reply(self, actor: Actor, ref: ChatRef, card: CharacterView, sink: ReplySink, in_reply_to: str, *,
                     key: str, cause: str | None, turn: Turn | None = None) -> MessageView:
        """Generate a reply into the sink and record it against the version its prompt was read at."""
        inputs = await self.inputs(ref.chat, card.character_id)

        async def record(text: str, ids: list[str]) -> MessageView:
            reply = RecordReply(actor=actor, channel_id=ref.chat.channel_id, chat_id=ref.chat_id,
                                expected_version=ref.version, character_id=card.character_id, text=text,
                                in_reply_to=in_reply_to, discord_message_ids=ids, turn=turn)
            return await self.writer.record(reply, key=key, cause=cause)

        async with self.writing.slot():
            prompt = build_reply_prompt(inputs, self.writing.budget)
            return await self.writing.show_and_record(card, sink, self.writing.stream(prompt, card, sink), record)

    def rewrite(self, cmd: RegenerateReply | ContinueReply, sink: ReplySink,
                cause: str | None) -> asyncio.Future[MessageView]:
        """Regenerate or continue the latest reply (with `reply_id` and `revision`, only that version of it)."""
        return self.writer.queue(cmd.channel_id, lambda: self._rewrite(cmd, sink, cause), generates=True)

    async def _rewrite(self, cmd: RegenerateReply | ContinueReply, sink: ReplySink, cause: str | None) -> MessageView:
        ref = await self.writer.chat_ref(cmd.channel_id, cmd.actor.guild_id)
        reply = await self._latest(ref, cmd.reply_id, cmd.revision)
        card = await self._card_of(reply)
        continuing = cmd.written == "continue"
        inputs = await self.inputs(ref.chat, card.character_id, before_seq=None if continuing else reply.seq)
        prompt = build_reply_prompt(inputs, self.writing.budget, mode="continue" if continuing else "reply")

        async def record(text: str, ids: list[str]) -> MessageView:
            revised = cmd.model_copy(update={"chat_id": ref.chat_id, "expected_version": ref.version, "text": text,
                                             "mode": cmd.written, "reply_id": reply.message_id,
                                             "revision": reply.revision, "discord_message_ids": ids})
            return await self.writer.record(revised, key=cause, cause=cause)

        async with self.writing.slot():
            stream = self.writing.stream(prompt, card, sink, prefix=reply.text if continuing else "")
            return await self.writing.show_and_record(card, sink, stream, record)

    async def _latest(self, ref: ChatRef, reply_id: str | None, revision: int | None) -> MessageView:
        """The story's newest line, which must be a character's reply (the one asked about, at that revision)."""
        reply = latest_reply(await self.db.read(lambda c: queries.nth_last_message(c, ref.chat_id, 1)))
        if (reply_id is not None and reply.message_id != reply_id) or (revision is not None
                                                                        and reply.revision != revision):
            raise DomainError(STALE_REPLY)
        return reply

    async def _card_of(self, reply: MessageView) -> CharacterView:
        return await self._card_of_id(reply.character_id or "")

    async def _card_of_id(self, character_id: str) -> CharacterView:
        card = await self.db.read(lambda c: queries.find_character_by_id(c, character_id))
        if card is None:
            raise DomainError("The character of that reply no longer exists.")
        return card

    def swipe_greeting(self, cmd: SwipeGreeting, sink: ReplySink, cause: str | None) -> asyncio.Future[MessageView]:
        """Show greeting `number` of the host instead of the opening line, while nobody has spoken yet."""

        async def job() -> MessageView:
            ref = await self.writer.chat_ref(cmd.channel_id, cmd.actor.guild_id)
            if await self.db.read(lambda c: queries.newest_person_line(c, ref.chat_id)) is not None:
                raise DomainError(SPOKEN)
            if await self.db.read(lambda c: queries.count_messages(c, ref.chat_id)) > 1:
                raise DomainError(ANSWERED)
            reply = await self._latest(ref, cmd.reply_id, cmd.revision)
            host = await self._card_of(reply)
            text = greeting_text(host, cmd.number, user=await self._user_name(cmd.actor),
                                 seed=self._new_id("greeting"), group=ref.chat.guest_id is not None)
            if not text:
                raise DomainError(f"Greeting {cmd.number} of {host.name} is empty.")

            async def record(shown: str, ids: list[str]) -> MessageView:
                swiped = cmd.model_copy(update={"chat_id": ref.chat_id, "expected_version": ref.version, "text": text,
                                                "reply_id": reply.message_id, "revision": reply.revision,
                                                "discord_message_ids": ids})
                return await self.writer.record(swiped, key=cause, cause=cause)

            return await self.writing.show_and_record(host, sink, self.writing.post(host, sink, text), record)

        return self.writer.queue(cmd.channel_id, job)

    async def inspect(self, q: InspectPrompt) -> Prompt:
        """The exact messages the next reply would be generated from, with each part's tokens.

        Members see it without the cards' hidden instructions and other people's persona descriptions; admins
        (and the console) see everything. With `line`, it is the prompt the reply would get if the person said it
        now; nothing is recorded."""
        lore_budget = lore_tokens(self.writing.budget.prompt_tokens)

        def read(conn: Conn) -> PromptInputs:  # one read: the chat, the speaker, the line and the inputs
            chat = queries.get_open_chat(conn, q.channel_id)
            card = _speaker(conn, chat, q.character)
            said = None if q.line is None else hypothetical_line(conn, chat, q.actor, q.line)
            return load_inputs(conn, chat, card.character_id, lore_budget=lore_budget, line=said)

        inputs = await with_lore(await self.db.read(read), self.writing.budget.lore_seconds)
        if not q.actor.is_admin:
            inputs = redact_inputs(inputs, q.actor.user_id)
        return build_reply_prompt(inputs, self.writing.budget)

    async def inputs(self, chat: ChatView, character_id: str, *, before_seq: int | None = None,
                     line: MessageView | None = None) -> PromptInputs:
        """What a reply prompt is built from, read in one go (lore activated within its share of the budget)."""
        budget = self.writing.budget
        lore_budget = lore_tokens(budget.prompt_tokens)
        inputs = await self.db.read(lambda c: load_inputs(c, chat, character_id, before_seq=before_seq,
                                                          lore_budget=lore_budget, line=line))
        return await with_lore(inputs, budget.lore_seconds)


def _speaker(conn: Conn, chat: ChatView, name: str | None) -> CharacterView:
    """The character named `name`, else the chat's host."""
    if name is not None:
        return queries.get_character(conn, chat.guild_id, name)
    card = queries.find_character_by_id(conn, chat.host_id)
    if card is None:
        raise DomainError("This story's host character no longer exists.")
    return card
