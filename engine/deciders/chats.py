"""Deciders for a story's life: starting it in a channel, ending it, rewinding it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine import queries, store
from engine.commands import (
    Command,
    EndChat,
    RewindChat,
    StartChat,
)
from engine.deciders.base import Context, Decider, emit, load_chat, require_admin, story_chat
from engine.deciders.characters import greeting_choices
from engine.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from engine.events import (
    ChatEnded,
    ChatRewound,
    ChatStarted,
    Event,
    MessageEdited,
    MessageRetracted,
    PlaceCreated,
    ReplyRevised,
    SceneOpened,
)
from engine.storage.port import Conn
from engine.store import NewEvent
from engine.storytime import default_anchor
from engine.views import CharacterView, ChatView


@dataclass(frozen=True)
class StartState:
    """The channel's open chat (if any) and the named characters."""

    existing: ChatView | None
    host: CharacterView | None
    guest: CharacterView | None


def load_start_chat(world: Conn, cmd: StartChat) -> StartState:
    """What starting a story depends on."""
    host = queries.find_character(world, cmd.actor.guild_id, cmd.character)
    guest = queries.find_character(world, cmd.actor.guild_id, cmd.guest) if cmd.guest else None
    return StartState(queries.find_open_chat(world, cmd.channel_id), host, guest)


def _named(card: CharacterView | None, name: str) -> CharacterView:
    if card is None:
        raise NotFound(f"There is no character named '{name[:64]}' in this server. See /character list.")
    return card


def decide_start_chat(cmd: StartChat, state: StartState, ctx: Context) -> list[NewEvent]:
    """One open chat per channel; the characters must be active in this guild. The opening line is a
    command of its own (the reply recorded once it is posted), so a rewind can undo it alone."""
    if state.existing is not None:
        raise DomainError("This channel already has a story going. End it with /chat end (or ask an admin), "
                          "then start a new one.")
    host = _named(state.host, cmd.character)
    guest = _named(state.guest, cmd.guest) if cmd.guest else None
    if guest is not None and guest.character_id == host.character_id:
        raise DomainError("The guest must be a different character from the host.")
    choices = greeting_choices(host, group=guest is not None)
    if cmd.greeting is not None and cmd.greeting > len(choices):
        raise InvalidInput(f"greeting: {host.name} has {len(choices)} greeting(s); pick 1 to {len(choices)}.")
    chat_id = ctx.new_id("chat")
    events: list[Event] = [ChatStarted(
        chat_id=chat_id, guild_id=cmd.actor.guild_id, channel_id=cmd.channel_id, host_id=host.character_id,
        guest_id=guest.character_id if guest else None, started_by=cmd.actor.user_id,
        start_minute=cmd.time, anchor=cmd.anchor or default_anchor(cmd.time),
        weather=cmd.weather)]
    if cmd.place:
        place_id = ctx.new_id("plc")
        present = [host.character_id] + ([guest.character_id] if guest else [])
        events += [PlaceCreated(chat_id=chat_id, place_id=place_id, name=cmd.place),
                   SceneOpened(chat_id=chat_id, scene_id=ctx.new_id("scn"), place_id=place_id, title=cmd.place,
                               present=present)]
    return emit(cmd.actor, *events)


def decide_end_chat(cmd: EndChat, chat: ChatView | None, ctx: Context) -> list[NewEvent]:
    """The starter or an admin ends the chat."""
    chat = story_chat(chat, cmd)
    if chat.started_by != cmd.actor.user_id and not cmd.actor.is_admin:
        raise PermissionDenied("Only the person who started this story, or a server admin, can end it.")
    return emit(cmd.actor, ChatEnded(chat_id=chat.chat_id, ended_by=cmd.actor.user_id, reason=cmd.reason))


@dataclass(frozen=True)
class RewindState:
    """The chat, where its start ends, its newest event, and the command span of the target."""

    chat: ChatView | None
    start_end: int
    last_seq: int
    target_span: tuple[int, int] | None
    message_count: int
    later_revisions: tuple[tuple[str, str, str, tuple[str, ...]], ...] = ()
    point: int | None = None  # the event the rewind keeps up to (`seq`, or the seq of the message `to`)


def load_rewind(world: Conn, cmd: RewindChat) -> RewindState:
    """Command[Any] boundaries around the rewind's target."""
    chat = load_chat(world, cmd)
    if chat is None:
        return RewindState(None, 0, 0, None, 0)
    start_end = store.command_span(world, chat.created_seq)[1]
    last = store.chat_last_seq(world, chat.chat_id)
    span = None
    to_seq = cmd.seq
    line = queries.find_message(world, chat.chat_id, cmd.to_message) if cmd.to_message is not None else None
    if cmd.to_message is not None:
        to_seq = line.seq if line is not None else None
    if cmd.messages is not None:
        target = queries.nth_last_message(world, chat.chat_id, cmd.messages)
        span = store.command_span(world, target.seq) if target is not None else None
    elif to_seq is not None and to_seq <= last:
        nearest = store.chat_last_seq(world, chat.chat_id, at_most=to_seq)
        span = store.command_span(world, nearest) if nearest else None
    later: tuple[tuple[str, str, str, tuple[str, ...]], ...] = ()
    if span is not None:
        to_seq = span[0] - 1 if cmd.messages is not None else span[1]
        later = tuple(queries.list_later_revisions(world, chat.chat_id, to_seq))
    point = cmd.seq if cmd.to_message is None else (line.seq if line is not None else None)
    return RewindState(chat, start_end, last, span, queries.count_messages(world, chat.chat_id), later, point)


def decide_rewind_chat(cmd: RewindChat, state: RewindState, ctx: Context) -> list[NewEvent]:
    """Admins rewind the open story by N messages, to a message (kept) or to an event; a command is never split
    and the story's own start is never undone."""
    require_admin(cmd.actor, "rewind a story")
    chat = story_chat(state.chat, cmd)
    if cmd.to_message is not None and state.point is None:
        raise NotFound("That message is not part of this channel's story.")
    if cmd.messages is not None:
        if state.target_span is None:
            raise InvalidInput(f"This story has only {state.message_count} message(s); rewind by at most that many.")
        to_seq = state.target_span[0] - 1
    else:
        if state.point is not None and state.point > state.last_seq:
            raise InvalidInput(f"There is no event {state.point} in this story yet (its newest is {state.last_seq}).")
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


DECIDERS: dict[type[Command[Any]], Decider[Any, Any]] = {
    StartChat: Decider(load_start_chat, decide_start_chat),
    EndChat: Decider(load_chat, decide_end_chat),
    RewindChat: Decider(load_rewind, decide_rewind_chat),
}
