"""Deciders for memories, meanwhile scenes and relationships."""

from __future__ import annotations

import sqlite3

from engine import queries
from engine.commands import AdjustRelationship, ForgetMemory, RecordMeanwhileDigest, StartMeanwhile, WriteMemory
from engine.deciders.base import Context, emit, open_chat
from engine.errors import DomainError, NotFound
from engine.events import (
    SCORE_MAX, SCORE_MIN, ContainerCreated, EdgeUpdate, Event, MeanwhileDigestCreated, MeanwhileSceneStarted,
    MemoryForgotten, MemoryWritten,
)
from engine.store import NewEvent
from engine.views import ChatView


def _chat_character(world: sqlite3.Connection, chat: ChatView, name: str | None) -> str:
    """A character of the story by name (the host when no name is given)."""
    if name is None:
        return chat.host_id
    card = queries.get_character(world, chat.guild_id, name)
    if card.character_id not in chat.character_ids:
        raise DomainError(f"{card.name} is not in this story.")
    return card.character_id


def decide_write_memory(cmd: WriteMemory, world: sqlite3.Connection, ctx: Context) -> list[NewEvent]:
    """A person gives a character of the story a memory."""
    chat = open_chat(world, cmd)
    who = _chat_character(world, chat, cmd.character)
    return emit(cmd.actor, MemoryWritten(chat_id=chat.chat_id, memory_id=ctx.new_id("mem"), character_id=who,
                                         text=cmd.text, importance=cmd.importance, source="person",
                                         source_id=cmd.actor.user_id))


def decide_forget_memory(cmd: ForgetMemory, world: sqlite3.Connection, ctx: Context) -> list[NewEvent]:
    """Remove a memory of this story."""
    chat = open_chat(world, cmd)
    if queries.find_memory(world, chat.chat_id, cmd.memory_id) is None:
        raise NotFound(f"There is no memory '{cmd.memory_id}' in this story. See /memory list.")
    return emit(cmd.actor, MemoryForgotten(chat_id=chat.chat_id, memory_id=cmd.memory_id))


def decide_start_meanwhile(cmd: StartMeanwhile, world: sqlite3.Connection, ctx: Context) -> list[NewEvent]:
    """An off-screen scene with characters of this server, at a place of the story (created if new)."""
    chat = open_chat(world, cmd)
    ids = list(dict.fromkeys(queries.get_character(world, chat.guild_id, n).character_id for n in cmd.characters))
    events: list[Event] = []
    place_id = None
    if cmd.place:
        place = queries.find_place(world, chat.chat_id, cmd.place)
        place_id = place.place_id if place else ctx.new_id("plc")
        if place is None:
            events.append(ContainerCreated(chat_id=chat.chat_id, place_id=place_id, name=cmd.place))
    meanwhile_id = ctx.new_id("mw")
    events.append(MeanwhileSceneStarted(chat_id=chat.chat_id, meanwhile_id=meanwhile_id, character_ids=ids,
                                        place_id=place_id, premise=cmd.premise))
    if cmd.digest is not None:
        events += _digest_events(chat.chat_id, meanwhile_id, ids, cmd.digest, ctx)
    return emit(cmd.actor, *events)


def _digest_events(chat_id: str, meanwhile_id: str, participants: list[str] | tuple[str, ...], digest: str,
                   ctx: Context) -> list[Event]:
    """The digest, and a memory of it for each participant only (knowledge follows presence)."""
    return [MeanwhileDigestCreated(chat_id=chat_id, meanwhile_id=meanwhile_id, digest=digest),
            *(MemoryWritten(chat_id=chat_id, memory_id=ctx.new_id("mem"), character_id=who, text=digest[:4000],
                            importance=6, source="digest", source_id=meanwhile_id) for who in participants)]


def decide_record_meanwhile_digest(cmd: RecordMeanwhileDigest, world: sqlite3.Connection,
                                   ctx: Context) -> list[NewEvent]:
    """The digest, and a memory of it for each participant only."""
    chat = open_chat(world, cmd)
    scene = queries.find_meanwhile(world, cmd.meanwhile_id)
    if scene is None or scene.chat_id != chat.chat_id:
        raise NotFound("That off-screen scene is not part of this story.")
    if scene.digest is not None:
        raise DomainError("That off-screen scene already has its digest.")
    return emit(cmd.actor, *_digest_events(chat.chat_id, scene.meanwhile_id, scene.participants, cmd.digest, ctx))


def _target(world: sqlite3.Connection, chat: ChatView, name: str) -> tuple[str, str, str]:
    """(id, kind, name) of a character of the server or a persona that spoke in this story."""
    card = queries.find_character(world, chat.guild_id, name)
    if card is not None:
        return card.character_id, "character", card.name
    speaker = queries.find_speaker_persona(world, chat.chat_id, name)
    if speaker is not None:
        return speaker[0], "persona", speaker[1]
    raise NotFound(f"'{name[:64]}' is neither a character here nor someone who has spoken in this story.")


def _clamp(value: int) -> int:
    return max(SCORE_MIN, min(SCORE_MAX, value))


def decide_adjust_relationship(cmd: AdjustRelationship, world: sqlite3.Connection, ctx: Context) -> list[NewEvent]:
    """Shift affinity and trust (kept within -100..100) and/or note how a character sees someone."""
    chat = open_chat(world, cmd)
    source = queries.get_character(world, chat.guild_id, cmd.character)
    target_id, target_kind, target_name = _target(world, chat, cmd.target)
    if target_id == source.character_id:
        raise DomainError("A relationship needs two different people.")
    if cmd.affinity == 0 and cmd.trust == 0 and not cmd.note:
        raise DomainError("Give an affinity or trust change, or a note.")
    current = queries.find_relationship(world, chat.chat_id, source.character_id, target_id)
    affinity = _clamp((current.affinity if current else 0) + cmd.affinity)
    trust = _clamp((current.trust if current else 0) + cmd.trust)
    return emit(cmd.actor, EdgeUpdate(
        chat_id=chat.chat_id, source_id=source.character_id, source_kind="character", source_name=source.name,
        target_id=target_id, target_kind=target_kind, target_name=target_name, affinity_delta=cmd.affinity,
        trust_delta=cmd.trust, affinity=affinity, trust=trust, note=cmd.note))
