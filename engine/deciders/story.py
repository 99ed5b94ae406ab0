"""Deciders for the transcript: messages, replies, edits, retractions, regenerations, rewinds."""

from __future__ import annotations

import sqlite3

from engine import queries
from engine.commands import EditMessage, RecordMessage, RecordReply, RetractMessage, ReviseReply, RewindChat
from engine.deciders.base import Context, emit, open_chat, require_admin
from engine.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from engine.events import BotReplied, ChatRewound, MessageEdited, MessageRetracted, ReplyRegenerated, UserSaid
from engine.store import NewEvent
from engine.views import ChatView, MessageView


def persona_name(world: sqlite3.Connection, cmd: RecordMessage) -> str:
    """The name a person speaks under: their persona here, their global one, or their display name."""
    persona = queries.find_persona(world, cmd.actor.user_id, cmd.actor.guild_id)
    if persona is not None:
        return persona.name
    return (cmd.actor.display_name or f"User {cmd.actor.user_id}")[:64]


def decide_record_message(cmd: RecordMessage, world: sqlite3.Connection, ctx: Context) -> list[NewEvent]:
    """A person's line joins the open story."""
    chat = open_chat(world, cmd)
    if queries.find_message_by_id(world, chat.chat_id, cmd.message_id) is not None:
        raise DomainError("That message is already part of the story.")
    return emit(cmd.actor, UserSaid(chat_id=chat.chat_id, message_id=cmd.message_id, author_id=cmd.actor.user_id,
                                    persona_name=persona_name(world, cmd), text=cmd.text))


def decide_record_reply(cmd: RecordReply, world: sqlite3.Connection, ctx: Context) -> list[NewEvent]:
    """A reply from one of the chat's characters."""
    chat = open_chat(world, cmd)
    if cmd.character_id not in chat.character_ids:
        raise DomainError("That character is not in this story.")
    card = queries.find_character_by_id(world, cmd.character_id)
    assert card is not None
    return emit(cmd.actor, BotReplied(chat_id=chat.chat_id, message_id=ctx.new_id("msg"),
                                      character_id=card.character_id, character_name=card.name, text=cmd.text,
                                      discord_message_ids=cmd.discord_message_ids))


def _live_message(world: sqlite3.Connection, chat: ChatView, message_id: str) -> MessageView:
    message = queries.find_message(world, chat.chat_id, message_id)
    if message is None or message.retracted or message.role == "narrator":
        raise NotFound("That message is not part of this story.")
    return message


def decide_edit_message(cmd: EditMessage, world: sqlite3.Connection, ctx: Context) -> list[NewEvent]:
    """People edit their own lines."""
    chat = open_chat(world, cmd)
    message = _live_message(world, chat, cmd.message_id)
    if message.role != "person" or message.author_id != cmd.actor.user_id:
        raise PermissionDenied("You can only edit your own messages.")
    if message.text == cmd.text:
        return []
    return emit(cmd.actor, MessageEdited(chat_id=chat.chat_id, message_id=message.message_id, text=cmd.text))


def decide_retract_message(cmd: RetractMessage, world: sqlite3.Connection, ctx: Context) -> list[NewEvent]:
    """People retract their own lines; admins retract anything."""
    chat = open_chat(world, cmd)
    message = _live_message(world, chat, cmd.message_id)
    own = message.role == "person" and message.author_id == cmd.actor.user_id
    if not own and not cmd.actor.is_admin:
        raise PermissionDenied("You can only remove your own messages; an admin can remove a character's reply.")
    return emit(cmd.actor, MessageRetracted(chat_id=chat.chat_id, message_id=message.message_id))


def latest_reply(world: sqlite3.Connection, chat: ChatView) -> MessageView:
    """The newest live line, which must be a character's reply."""
    last = queries.nth_last_message(world, chat.chat_id, 1)
    if last is None or last.role != "character":
        raise DomainError("There is no character reply to redo yet: the latest message must be a character's.")
    return last


def decide_revise_reply(cmd: ReviseReply, world: sqlite3.Connection, ctx: Context) -> list[NewEvent]:
    """Regenerate or continue the latest reply."""
    chat = open_chat(world, cmd)
    reply = latest_reply(world, chat)
    ids = cmd.discord_message_ids or list(reply.discord_ids)
    return emit(cmd.actor, ReplyRegenerated(chat_id=chat.chat_id, message_id=reply.message_id, text=cmd.text,
                                            mode=cmd.mode, discord_message_ids=ids))


def decide_rewind_chat(cmd: RewindChat, world: sqlite3.Connection, ctx: Context) -> list[NewEvent]:
    """Admins rewind the open story to an event, or by a number of messages."""
    require_admin(cmd.actor, "rewind a story")
    chat = open_chat(world, cmd)
    if (cmd.to_seq is None) == (cmd.messages is None):
        raise InvalidInput("Say how far to rewind: either a number of messages or a point (to), not both.")
    if cmd.messages is not None:
        target = queries.nth_last_message(world, chat.chat_id, cmd.messages)
        if target is None:
            count = queries.count_messages(world, chat.chat_id)
            raise InvalidInput(f"This story has only {count} message(s); rewind by at most that many.")
        to_seq = target.seq - 1
    else:
        to_seq = cmd.to_seq
    if to_seq < chat.created_seq:
        raise InvalidInput("That point is before this story started; pick a later message.")
    return emit(cmd.actor, ChatRewound(chat_id=chat.chat_id, to_seq=to_seq, actor_id=cmd.actor.user_id))
