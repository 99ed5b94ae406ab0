"""Deciders for the transcript: messages, replies, edits, retractions, regenerations, rewinds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine import queries, store
from engine.commands import Command, EditMessage, RecordMessage, RecordReply, RetractMessage, ReviseReply, RewindChat
from engine.deciders.base import Context, Decider, emit, load_chat, require_admin, story_chat
from engine.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from engine.events import (
    NAME_MAX,
    ChatRewound,
    Event,
    LineSaid,
    MessageEdited,
    MessageRetracted,
    ReplyRecorded,
    ReplyRevised,
)
from engine.storage.port import Conn
from engine.store import NewEvent
from engine.views import CharacterView, ChatView, MessageView, PersonaView

STALE_REPLY = "That reply has already been rewritten or is no longer the latest one, so nothing was changed."


@dataclass(frozen=True)
class SayState:
    """The chat, whether the message is already in it, and the speaker's persona."""

    chat: ChatView | None
    known: bool
    persona: PersonaView | None


def load_record_message(world: Conn, cmd: RecordMessage) -> SayState:
    """What recording a person's line depends on."""
    known = queries.find_message_by_id(world, None, cmd.message_id) is not None
    return SayState(load_chat(world, cmd), known, queries.find_persona(world, cmd.actor.user_id, cmd.actor.guild_id))


def decide_record_message(cmd: RecordMessage, state: SayState, ctx: Context) -> list[NewEvent]:
    """A person's line joins the open story, under their persona's name (else their display name)."""
    chat = story_chat(state.chat, cmd)
    if state.known:
        raise DomainError("That message is already part of the story.")
    name = state.persona.name if state.persona else (cmd.actor.display_name or f"User {cmd.actor.user_id}")
    return emit(cmd.actor, LineSaid(chat_id=chat.chat_id, message_id=cmd.message_id, author_id=cmd.actor.user_id,
                                    persona_name=name[:NAME_MAX].strip() or "Someone", text=cmd.text))


@dataclass(frozen=True)
class ReplyState:
    """The chat, the answering card, the line answered, and the newest person line."""

    chat: ChatView | None
    card: CharacterView | None
    answered: MessageView | None
    newest_person: MessageView | None


def load_record_reply(world: Conn, cmd: RecordReply) -> ReplyState:
    """What recording a character's reply depends on."""
    answered = queries.find_message_by_id(world, cmd.chat_id, cmd.in_reply_to) if cmd.in_reply_to else None
    return ReplyState(load_chat(world, cmd), queries.find_character_by_id(world, cmd.character_id), answered,
                      queries.newest_person_line(world, cmd.chat_id))


def decide_record_reply(cmd: RecordReply, state: ReplyState, ctx: Context) -> list[NewEvent]:
    """A reply from one of the chat's characters, to a line that is still the newest person's line."""
    chat = story_chat(state.chat, cmd)
    card = state.card
    if card is None or cmd.character_id not in chat.character_ids:
        raise DomainError("That character is not in this story.")
    if cmd.in_reply_to is None:
        if state.newest_person is not None:
            raise DomainError("The story has moved on: someone has already spoken, so the opening line was not "
                              "recorded.")
    elif state.answered is None or state.answered.retracted or (
            state.newest_person is not None and state.newest_person.seq > state.answered.seq):
        raise DomainError("The story moved on while the reply was written (the line it answered was removed or "
                          "someone spoke since), so it was not recorded.")
    return emit(cmd.actor, ReplyRecorded(chat_id=chat.chat_id, message_id=ctx.new_id("msg"),
                                      character_id=card.character_id, character_name=card.name, text=cmd.text,
                                      discord_message_ids=cmd.discord_message_ids))


@dataclass(frozen=True)
class LineState:
    """The chat and one of its lines."""

    chat: ChatView | None
    line: MessageView | None


def load_line(world: Conn, cmd: EditMessage | RetractMessage) -> LineState:
    """The chat and the line a command names (by its id or a Discord id it was posted as)."""
    return LineState(load_chat(world, cmd), queries.find_message(world, cmd.chat_id, cmd.message_id))


def _live(line: MessageView | None) -> MessageView:
    if line is None or line.retracted or line.role == "narrator":
        raise NotFound("That message is not part of this story.")
    return line


def decide_edit_message(cmd: EditMessage, state: LineState, ctx: Context) -> list[NewEvent]:
    """People edit their own lines."""
    chat = story_chat(state.chat, cmd)
    message = _live(state.line)
    if message.role != "person" or message.author_id != cmd.actor.user_id:
        raise PermissionDenied("You can only edit your own messages.")
    if message.text == cmd.text:
        return []
    return emit(cmd.actor, MessageEdited(chat_id=chat.chat_id, message_id=message.message_id, text=cmd.text))


def decide_retract_message(cmd: RetractMessage, state: LineState, ctx: Context) -> list[NewEvent]:
    """People retract their own lines; admins retract anything."""
    chat = story_chat(state.chat, cmd)
    message = _live(state.line)
    own = message.role == "person" and message.author_id == cmd.actor.user_id
    if not own and not cmd.actor.is_admin:
        raise PermissionDenied("You can only remove your own messages; an admin can remove a character's reply.")
    return emit(cmd.actor, MessageRetracted(chat_id=chat.chat_id, message_id=message.message_id))


def latest_reply(latest: MessageView | None) -> MessageView:
    """The newest live line, which must be a character's reply."""
    if latest is None or latest.role != "character":
        raise DomainError("There is no character reply to redo yet: the latest message must be a character's.")
    return latest


def load_revise_reply(world: Conn, cmd: ReviseReply) -> LineState:
    """The chat and its newest live line."""
    return LineState(load_chat(world, cmd), queries.nth_last_message(world, cmd.chat_id, 1))


def decide_revise_reply(cmd: ReviseReply, state: LineState, ctx: Context) -> list[NewEvent]:
    """Regenerate or continue the latest reply, as it was when the person asked."""
    chat = story_chat(state.chat, cmd)
    reply = latest_reply(state.line)
    if reply.message_id != cmd.message_id or reply.revision != cmd.expected_revision:
        raise DomainError(STALE_REPLY)
    ids = cmd.discord_message_ids or list(reply.discord_ids)
    return emit(cmd.actor, ReplyRevised(chat_id=chat.chat_id, message_id=reply.message_id, text=cmd.text,
                                            mode=cmd.mode, discord_message_ids=ids))


@dataclass(frozen=True)
class RewindState:
    """The chat, where its start ends, its newest event, and the command span of the target."""

    chat: ChatView | None
    start_end: int
    last_seq: int
    target_span: tuple[int, int] | None
    message_count: int
    later_revisions: tuple[tuple[str, str, str, tuple[str, ...]], ...] = ()


def load_rewind(world: Conn, cmd: RewindChat) -> RewindState:
    """Command boundaries around the rewind's target."""
    chat = load_chat(world, cmd)
    if chat is None:
        return RewindState(None, 0, 0, None, 0)
    start_end = store.command_span(world, chat.created_seq)[1]
    last = store.chat_last_seq(world, chat.chat_id)
    span = None
    if cmd.messages is not None:
        target = queries.nth_last_message(world, chat.chat_id, cmd.messages)
        span = store.command_span(world, target.seq) if target is not None else None
    elif cmd.to_seq is not None and cmd.to_seq <= last:
        nearest = store.chat_last_seq(world, chat.chat_id, at_most=cmd.to_seq)
        span = store.command_span(world, nearest) if nearest else None
    later: tuple[tuple[str, str, str, tuple[str, ...]], ...] = ()
    if span is not None:
        to_seq = span[0] - 1 if cmd.messages is not None else span[1]
        later = tuple(queries.list_later_revisions(world, chat.chat_id, to_seq))
    return RewindState(chat, start_end, last, span, queries.count_messages(world, chat.chat_id), later)


def decide_rewind_chat(cmd: RewindChat, state: RewindState, ctx: Context) -> list[NewEvent]:
    """Admins rewind the open story by N messages, or to an event; a command is never split and the
    story's own start is never undone."""
    require_admin(cmd.actor, "rewind a story")
    chat = story_chat(state.chat, cmd)
    if (cmd.to_seq is None) == (cmd.messages is None):
        raise InvalidInput("Say how far to rewind: either a number of messages or a point (to), not both.")
    if cmd.messages is not None:
        if state.target_span is None:
            raise InvalidInput(f"This story has only {state.message_count} message(s); rewind by at most that many.")
        to_seq = state.target_span[0] - 1
    else:
        if cmd.to_seq is not None and cmd.to_seq > state.last_seq:
            raise InvalidInput(f"There is no event {cmd.to_seq} in this story yet (its newest is {state.last_seq}).")
        to_seq = state.target_span[1] if state.target_span else 0
    if to_seq < state.start_end:
        raise InvalidInput("That would undo the story's own start. Pick a later point, or end the story with "
                           "/chat end and start a new one.")
    if to_seq >= state.last_seq:
        raise InvalidInput("Nothing to rewind: that point is already the newest part of the story.")
    return emit(cmd.actor, ChatRewound(chat_id=chat.chat_id, to_seq=to_seq, actor_id=cmd.actor.user_id),
                *_kept_revisions(chat.chat_id, state.later_revisions))


def _kept_revisions(chat_id: str, revisions: tuple[tuple[str, str, str, tuple[str, ...]], ...]) -> list[Event]:
    """Lines older than the rewind's point keep what happened to them since (a moderator's deletion, an edit,
    a regenerated reply): the rewind undoes the newest lines, not the care taken over older ones."""
    out: list[Event] = []
    for message_id, change, text, discord_ids in revisions:
        if change == "retracted":
            out.append(MessageRetracted(chat_id=chat_id, message_id=message_id))
        elif change == "edited":
            out.append(MessageEdited(chat_id=chat_id, message_id=message_id, text=text))
        else:
            out.append(ReplyRevised(chat_id=chat_id, message_id=message_id, text=text,
                                        mode="continue" if change == "continued" else "regenerate",
                                        discord_message_ids=list(discord_ids)))
    return out


DECIDERS: dict[type[Command], Decider[Any, Any]] = {
    RecordMessage: Decider(load_record_message, decide_record_message),
    RecordReply: Decider(load_record_reply, decide_record_reply),
    EditMessage: Decider(load_line, decide_edit_message),
    RetractMessage: Decider(load_line, decide_retract_message),
    ReviseReply: Decider(load_revise_reply, decide_revise_reply),
    RewindChat: Decider(load_rewind, decide_rewind_chat),
}
