"""Deciders for the transcript: people's lines, characters' replies, edits, retractions, revised replies and the
opening greeting."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine import queries
from engine.commands import (
    Command,
    EditMessage,
    RecordReply,
    RetractDeletedMessage,
    RetractMessage,
    ReviseReply,
    SayLine,
    SwipeGreeting,
)
from engine.deciders.base import Context, Decider, emit, load_chat, story_chat
from engine.errors import DomainError, NotFound, PermissionDenied
from engine.events import (
    NAME_MAX,
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


def load_record_message(world: Conn, cmd: SayLine) -> SayState:
    """What recording a person's line depends on."""
    known = queries.find_message_by_id(world, None, cmd.message_id) is not None
    return SayState(load_chat(world, cmd), known, queries.find_persona(world, cmd.actor.user_id, cmd.actor.guild_id))


def decide_record_message(cmd: SayLine, state: SayState, ctx: Context) -> list[NewEvent]:
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
    newest = queries.newest_person_line(world, cmd.chat_id)
    if cmd.in_reply_to is not None:
        answered = queries.find_message_by_id(world, cmd.chat_id, cmd.in_reply_to)
    else:
        answered = None if cmd.opening else newest
    return ReplyState(load_chat(world, cmd), queries.find_character_by_id(world, cmd.character_id), answered, newest)


def decide_record_reply(cmd: RecordReply, state: ReplyState, ctx: Context) -> list[NewEvent]:
    """A reply from one of the chat's characters, to a line that is still the newest person's line."""
    chat = story_chat(state.chat, cmd)
    card = state.card
    if card is None or cmd.character_id not in chat.character_ids:
        raise DomainError("That character is not in this story.")
    if cmd.character_id in chat.muted and not cmd.opening:
        raise DomainError(f"{card.name} is muted in this story. /chat cast unmute lets it speak again.")
    if cmd.opening or (cmd.in_reply_to is None and state.answered is None):
        if state.newest_person is not None:
            raise DomainError("The story has moved on: someone has already spoken, so the opening line was not "
                              "recorded.")
    elif state.answered is None or state.answered.retracted or (
            state.newest_person is not None and state.newest_person.seq > state.answered.seq):
        raise DomainError("The story moved on while the reply was written (the line it answered was removed or "
                          "someone spoke since), so it was not recorded.")
    return emit(cmd.actor, ReplyRecorded(chat_id=chat.chat_id, message_id=ctx.new_id("msg"),
                                      character_id=card.character_id, character_name=card.name, text=cmd.text,
                                      discord_message_ids=cmd.discord_message_ids, turn=cmd.turn))


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


def load_deleted(world: Conn, cmd: RetractDeletedMessage) -> LineState:
    """The chat and the line a deleted message was (by its id or a message id it was posted as)."""
    return LineState(load_chat(world, cmd), queries.find_message(world, cmd.chat_id, cmd.message_id))


def decide_retract_deleted(cmd: RetractDeletedMessage, state: LineState, ctx: Context) -> list[NewEvent]:
    """A message deleted where it was posted leaves the story when it is one of its live lines; else nothing."""
    chat = story_chat(state.chat, cmd)
    line = state.line
    if line is None or line.retracted or line.role == "narrator":
        return []
    return emit(cmd.actor, MessageRetracted(chat_id=chat.chat_id, message_id=line.message_id))


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
    if (cmd.reply_id is not None and reply.message_id != cmd.reply_id) or (
            cmd.revision is not None and reply.revision != cmd.revision):
        raise DomainError(STALE_REPLY)
    ids = cmd.discord_message_ids or list(reply.discord_ids)
    return emit(cmd.actor, ReplyRevised(chat_id=chat.chat_id, message_id=reply.message_id, text=cmd.text,
                                            mode=cmd.mode, discord_message_ids=ids))


SPOKEN = "Someone has already spoken in this story, so its opening greeting can't be changed any more."
ANSWERED = ("A character has spoken since the opening greeting, so it can't be changed any more; /reply regenerate "
            "rewrites the latest reply.")


@dataclass(frozen=True)
class GreetingState:
    """The chat, its newest line, its newest person line and how many live lines it has."""

    chat: ChatView | None
    newest: MessageView | None
    newest_person: MessageView | None
    lines: int


def load_swipe_greeting(world: Conn, cmd: SwipeGreeting) -> GreetingState:
    """What swiping the greeting depends on."""
    return GreetingState(load_chat(world, cmd), queries.nth_last_message(world, cmd.chat_id, 1),
                         queries.newest_person_line(world, cmd.chat_id), queries.count_messages(world, cmd.chat_id))


def decide_swipe_greeting(cmd: SwipeGreeting, state: GreetingState, ctx: Context) -> list[NewEvent]:
    """The opening reply, at the revision the person saw, becomes another greeting while nobody has spoken."""
    chat = story_chat(state.chat, cmd)
    if state.newest_person is not None:
        raise DomainError(SPOKEN)
    reply = latest_reply(state.newest)
    if state.lines > 1:  # a reply nobody asked for (/chat nudge) came after the greeting
        raise DomainError(ANSWERED)
    if (cmd.reply_id is not None and reply.message_id != cmd.reply_id) or (
            cmd.revision is not None and reply.revision != cmd.revision):
        raise DomainError(STALE_REPLY)
    ids = cmd.discord_message_ids or list(reply.discord_ids)
    return emit(cmd.actor, ReplyRevised(chat_id=chat.chat_id, message_id=reply.message_id, text=cmd.text,
                                            discord_message_ids=ids))


DECIDERS: dict[type[Command[Any]], Decider[Any, Any]] = {
    SayLine: Decider(load_record_message, decide_record_message),
    RecordReply: Decider(load_record_reply, decide_record_reply),
    EditMessage: Decider(load_line, decide_edit_message),
    RetractMessage: Decider(load_line, decide_retract_message),
    RetractDeletedMessage: Decider(load_deleted, decide_retract_deleted),
    ReviseReply: Decider(load_revise_reply, decide_revise_reply),
    SwipeGreeting: Decider(load_swipe_greeting, decide_swipe_greeting),
}
