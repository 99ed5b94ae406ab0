"""The Engine's write methods: one per user action, each a command plus the view it returns.

Story commands (everything addressed to a channel's story) are submitted to the channel's
serialiser when the method is called and return a future: the order of calls is the order in
which they are decided. Each resolves the channel to its chat and the chat stream's version once,
and the command carries both.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from engine import queries
from engine.commands import (
    Actor,
    AdjustRelationship,
    AuthorCharacter,
    CloseScene,
    Command,
    CreatePlace,
    EditCharacter,
    EditMessage,
    EndChat,
    ForgetMemory,
    OpenScene,
    RecordMeanwhileDigest,
    RecordMessage,
    RecordReply,
    RetireCharacter,
    RetractMessage,
    ReviseReply,
    RewindChat,
    SetPersona,
    SetWeather,
    SkipTime,
    StartChat,
    StartMeanwhile,
    WriteMemory,
    build,
)
from engine.core import EngineCore
from engine.deciders.base import require_admin
from engine.deciders.story import latest_reply
from engine.errors import NotFound, ProjectionError, StorageError
from engine.events import Recorded
from engine.narrator.sink import ReplySink
from engine.storage.port import Conn
from engine.storytime import parse_clock, parse_duration
from engine.views import (
    CharacterView,
    ChatRef,
    ChatView,
    MeanwhileView,
    MemoryView,
    MessageView,
    PersonaView,
    PlaceView,
    RelationshipView,
    RewindResult,
    SceneView,
)

T = TypeVar("T")
V = TypeVar("V")
Result = Callable[[Conn, list[Recorded[Any]]], T]


def found(value: V | None, what: str) -> V:
    """`value`, or a ProjectionError: a command's own rows are read back inside its transaction."""
    if value is None:
        raise ProjectionError(f"{what} was not found after its command was applied")
    return value


def _payload(recorded: list[Recorded[Any]], kind: str) -> Any:
    """The payload of the first recorded event of a kind."""
    for event in recorded:
        if event.kind == kind:
            return event.payload
    raise ProjectionError(f"the command recorded no {kind} event")


class EngineWrites(EngineCore):
    """Write methods; mixed into Engine."""

    async def _do(self, cls: type[Command], result: Result[T], *, key: str | None = None,
                  cause: str | None = None, **fields: Any) -> T:
        return await self.execute(build(cls, **fields), result, key=key, cause=cause)

    async def _in_chat(self, ref: ChatRef, cls: type[Command], result: Result[T], *, key: str | None,
                       cause: str | None, **fields: Any) -> T:
        """Run a story command against a resolved chat at its version."""
        return await self._do(cls, result, key=key, cause=cause, chat_id=ref.chat_id,
                              expected_version=ref.version, **fields)

    def _chat_command(self, actor: Actor, channel_id: str, cls: type[Command], result: Result[T], *,
                      cause: str | None, **fields: Any) -> asyncio.Future[T]:
        """Queue a story command: resolve the channel's chat and version in turn, then decide."""

        async def job() -> T:
            ref = await self.chat_ref(channel_id, actor.guild_id)
            return await self._in_chat(ref, cls, result, key=cause, cause=cause, actor=actor, **fields)

        return self._story(channel_id, job)

    async def author_character(self, actor: Actor, name: str, description: str, *, cause: str | None = None,
                               **card: Any) -> CharacterView:
        """Create a character card (personality, scenario, greeting, example_dialogue, system_prompt,
        post_history_instructions, avatar_url are optional)."""
        return await self._do(AuthorCharacter, _character, key=cause, cause=cause, actor=actor,
                              character_name=name, description=description, **card)

    async def edit_character(self, actor: Actor, name: str, field: str, value: str, *,
                             cause: str | None = None) -> CharacterView:
        """Change one field of a card (its author or an admin)."""
        return await self._do(EditCharacter, _character, key=cause, cause=cause, actor=actor, character_name=name,
                              field=field, value=value)

    async def retire_character(self, actor: Actor, name: str, *, cause: str | None = None) -> CharacterView:
        """Retire a character no open story uses."""
        return await self._do(RetireCharacter, _character, key=cause, cause=cause, actor=actor, character_name=name)

    async def set_persona(self, actor: Actor, name: str, description: str = "", avatar_url: str | None = None,
                          *, everywhere: bool = False, cause: str | None = None) -> PersonaView:
        """Set the acting person's persona for this server (or everywhere)."""

        def result(conn: Conn, recorded: list[Recorded[Any]]) -> PersonaView:
            return found(queries.find_persona(conn, actor.user_id, None if everywhere else actor.guild_id), "persona")

        return await self._do(SetPersona, result, key=cause, cause=cause, actor=actor, persona_name=name,
                              description=description, avatar_url=avatar_url, everywhere=everywhere)

    def start_chat(self, actor: Actor, channel_id: str, character: str, *, guest: str | None = None,
                   time: str | None = None, anchor: str | None = None, weather: str | None = None,
                   place: str | None = None, greeting: int | None = None, sink: ReplySink | None = None,
                   cause: str | None = None) -> asyncio.Future[ChatView]:
        """Start a story in a channel (time like '14:00', 'noon' or 'Day 2 09:00'); the host's greeting (number
        `greeting` of its choices, 1 = the card's first message) is posted through `sink` and recorded as the
        story's first reply, a command of its own."""

        async def job() -> ChatView:
            minute = parse_clock(time) if time else 8 * 60
            chat = await self._do(StartChat, _chat, key=cause, cause=cause, actor=actor, channel_id=channel_id,
                                  character=character, guest=guest or None, start_minute=minute,
                                  anchor=anchor or None, weather=weather or "clear", place=place or None,
                                  greeting=greeting)
            try:
                await self._greet(actor, chat, sink, cause, greeting or 1)
            except StorageError as exc:  # the story is in the log: it must not be started again
                if exc.kind == "gone":
                    raise
                raise exc.after("the story has started, but its greeting was not recorded") from exc
            return chat

        return self._story(channel_id, job)

    def end_chat(self, actor: Actor, channel_id: str, *, cause: str | None = None,
                 reason: str | None = None) -> asyncio.Future[ChatView]:
        """End the channel's story (its starter or an admin); `reason` notes why in the log."""
        return self._chat_command(actor, channel_id, EndChat, _chat, cause=cause, reason=reason)

    def end_chat_of_lost_channel(self, guild_id: str, channel_id: str, *,
                                 reason: str = "the channel was deleted") -> asyncio.Future[ChatView]:
        """The channel is gone (deleted under the story): end its story with a note in the log. Raises NoStory
        when the channel had none."""
        system = Actor(user_id="chronicle", guild_id=guild_id, display_name="Chronicle", is_admin=True)
        return self.end_chat(system, channel_id, cause=f"channel_gone:{channel_id}", reason=reason)

    def create_place(self, actor: Actor, channel_id: str, name: str, description: str = "",
                     parent: str | None = None, *, cause: str | None = None) -> asyncio.Future[PlaceView]:
        """Add a place to the story's world."""

        def result(conn: Conn, recorded: list[Recorded[Any]]) -> PlaceView:
            return found(queries.find_place_by_id(conn, _payload(recorded, "container_created").place_id), "place")

        return self._chat_command(actor, channel_id, CreatePlace, result, cause=cause, place_name=name,
                                  description=description, parent=parent or None)

    def open_scene(self, actor: Actor, channel_id: str, place: str, title: str | None = None, *,
                   cause: str | None = None) -> asyncio.Future[SceneView]:
        """Open a scene at a place (created if new) with the story's characters present."""
        return self._chat_command(actor, channel_id, OpenScene, _scene("scene_opened"), cause=cause, place=place,
                                  title=title or None)

    def close_scene(self, actor: Actor, channel_id: str, summary: str | None = None, *,
                    cause: str | None = None) -> asyncio.Future[SceneView]:
        """Close the open scene; its summary (written by the model when not given) becomes a memory of those
        present."""

        async def job() -> SceneView:
            ref = await self.chat_ref(channel_id, actor.guild_id)
            text = summary if summary is not None else await self.narrate_scene_summary(ref.chat)
            return await self._in_chat(ref, CloseScene, _scene("scene_closed"), key=cause, cause=cause, actor=actor,
                                       scene_id=ref.chat.active_scene_id or "none", summary=text)

        return self._story(channel_id, job)

    def record_message(self, actor: Actor, channel_id: str, message_id: str, text: str, *,
                       cause: str | None = None) -> asyncio.Future[MessageView]:
        """A person's in-character line (without a reply); the message id makes delivery idempotent."""

        async def job() -> MessageView:
            return await self._record_line(actor, await self.chat_ref(channel_id, actor.guild_id), message_id, text,
                                           cause)

        return self._story(channel_id, job)

    async def _record_line(self, actor: Actor, ref: ChatRef, message_id: str, text: str,
                           cause: str | None) -> MessageView:
        """Record a line in the resolved chat; a repeat delivery returns the line (AlreadyHandled once gone)."""

        def result(conn: Conn, recorded: list[Recorded[Any]]) -> MessageView:
            line = queries.find_message_by_id(conn, ref.chat_id, message_id)
            if line is None or line.retracted:
                raise NotFound("That message is no longer part of this story.")
            return line

        return await self._in_chat(ref, RecordMessage, result, key=f"message:{message_id}",
                                   cause=cause or f"message:{message_id}", actor=actor, message_id=message_id,
                                   text=text)

    def record_reply(self, actor: Actor, channel_id: str, character_id: str, text: str,
                     discord_message_ids: list[str] | None = None, *, in_reply_to: str | None = None,
                     cause: str | None = None) -> asyncio.Future[MessageView]:
        """A character's finished reply written elsewhere (to `in_reply_to`, else to the newest person line)."""

        async def job() -> MessageView:
            ref = await self.chat_ref(channel_id, actor.guild_id)
            target = in_reply_to
            if target is None:
                newest = await self.db.read(lambda c: queries.newest_person_line(c, ref.chat_id))
                target = newest.message_id if newest else None
            return await self._in_chat(ref, RecordReply, _message("bot_replied"), key=cause, cause=cause,
                                       actor=actor, character_id=character_id, text=text, in_reply_to=target,
                                       discord_message_ids=discord_message_ids or [])

        return self._story(channel_id, job)

    def edit_message(self, actor: Actor, channel_id: str, message_id: str, text: str, *,
                     cause: str | None = None) -> asyncio.Future[MessageView]:
        """A person edited their line (no event when the text is unchanged)."""

        def result(conn: Conn, recorded: list[Recorded[Any]]) -> MessageView:
            chat = queries.get_open_chat(conn, channel_id)
            return found(queries.find_message(conn, chat.chat_id, message_id), "message")

        return self._chat_command(actor, channel_id, EditMessage, result, cause=cause, message_id=message_id,
                                  text=text)

    def retract_message(self, actor: Actor, channel_id: str, message_id: str, *,
                        cause: str | None = None) -> asyncio.Future[MessageView]:
        """A line leaves the story (its author, or an admin)."""
        return self._chat_command(actor, channel_id, RetractMessage, _message("message_retracted"), cause=cause,
                                  message_id=message_id)

    def revise_reply(self, actor: Actor, channel_id: str, text: str, *,
                     mode: Literal["regenerate", "continue"] = "regenerate",
                     discord_message_ids: list[str] | None = None,
                     cause: str | None = None) -> asyncio.Future[MessageView]:
        """Replace or extend the latest character reply with text written elsewhere."""

        async def job() -> MessageView:
            ref = await self.chat_ref(channel_id, actor.guild_id)
            reply = latest_reply(await self.db.read(lambda c: queries.nth_last_message(c, ref.chat_id, 1)))
            return await self._in_chat(ref, ReviseReply, _message("reply_regenerated"), key=cause, cause=cause,
                                       actor=actor, message_id=reply.message_id, expected_revision=reply.revision,
                                       text=text, mode=mode, discord_message_ids=discord_message_ids or [])

        return self._story(channel_id, job)

    def write_memory(self, actor: Actor, channel_id: str, text: str, *, character: str | None = None,
                     importance: int = 5, cause: str | None = None) -> asyncio.Future[MemoryView]:
        """Give a character of the story (the host by default) a memory."""

        def result(conn: Conn, recorded: list[Recorded[Any]]) -> MemoryView:
            p = _payload(recorded, "memory_written")
            return found(queries.find_memory(conn, p.chat_id, p.memory_id), "memory")

        return self._chat_command(actor, channel_id, WriteMemory, result, cause=cause, text=text,
                                  character=character or None, importance=importance)

    def forget_memory(self, actor: Actor, channel_id: str, memory_id: str, *,
                      cause: str | None = None) -> asyncio.Future[str]:
        """Remove a memory; returns its id."""
        return self._chat_command(actor, channel_id, ForgetMemory,
                                  lambda conn, rec: _payload(rec, "memory_forgotten").memory_id, cause=cause,
                                  memory_id=memory_id)

    def start_meanwhile(self, actor: Actor, channel_id: str, characters: list[str], premise: str,
                        place: str | None = None, digest: str | None = None, *,
                        cause: str | None = None) -> asyncio.Future[MeanwhileView]:
        """Start an off-screen scene with chosen characters (with its digest at once when given)."""
        return self._chat_command(actor, channel_id, StartMeanwhile, _meanwhile("meanwhile_scene_started"),
                                  cause=cause, characters=characters, premise=premise, place=place or None,
                                  digest=digest or None)

    def record_meanwhile_digest(self, actor: Actor, channel_id: str, meanwhile_id: str, digest: str, *,
                                cause: str | None = None) -> asyncio.Future[MeanwhileView]:
        """Record an off-screen scene's digest; only its participants remember it."""
        return self._chat_command(actor, channel_id, RecordMeanwhileDigest, _meanwhile("meanwhile_digest_created"),
                                  cause=cause, meanwhile_id=meanwhile_id, digest=digest)

    def adjust_relationship(self, actor: Actor, channel_id: str, character: str, target: str, *,
                            affinity: int = 0, trust: int = 0, note: str | None = None,
                            cause: str | None = None) -> asyncio.Future[RelationshipView]:
        """Shift how a character feels about another character or a persona."""

        def result(conn: Conn, recorded: list[Recorded[Any]]) -> RelationshipView:
            p = _payload(recorded, "edge_update")
            return found(queries.find_relationship(conn, p.chat_id, p.source_id, p.target_id), "relationship")

        return self._chat_command(actor, channel_id, AdjustRelationship, result, cause=cause, character=character,
                                  target=target, affinity=affinity, trust=trust, note=note or None)

    def skip_time(self, actor: Actor, channel_id: str, by: str, summary: str | None = None, *,
                  cause: str | None = None) -> asyncio.Future[ChatView]:
        """Move in-story time forward by a duration like '3h', '2d' or '1h30m' (the model writes the summary
        line when none is given)."""

        async def job() -> ChatView:
            minutes = parse_duration(by)
            ref = await self.chat_ref(channel_id, actor.guild_id)
            text = summary or await self.narrate_time_skip(ref.chat, minutes)
            return await self._in_chat(ref, SkipTime, _chat, key=cause, cause=cause, actor=actor, minutes=minutes,
                                       summary=text or None)

        return self._story(channel_id, job)

    def set_weather(self, actor: Actor, channel_id: str, weather: str, *,
                    cause: str | None = None) -> asyncio.Future[ChatView]:
        """Set the story's weather."""
        return self._chat_command(actor, channel_id, SetWeather, _chat, cause=cause, weather=weather)

    def rewind(self, actor: Actor, channel_id: str, *, to_seq: int | None = None, messages: int | None = None,
               to_message: str | None = None, cause: str | None = None) -> asyncio.Future[RewindResult]:
        """Admins: rewind the channel's story to an event seq, to a message (kept), or by N messages."""

        async def job() -> RewindResult:
            require_admin(actor, "rewind a story")
            ref = await self.chat_ref(channel_id, actor.guild_id)
            target = to_seq
            if to_message is not None:
                line = await self.db.read(lambda c: queries.find_message(c, ref.chat_id, to_message))
                if line is None:
                    raise NotFound("That message is not part of this channel's story.")
                target = line.seq
            return await self._in_chat(ref, RewindChat, _rewound(ref.chat_id), key=cause, cause=cause, actor=actor,
                                       to_seq=target, messages=messages if target is None else None)

        return self._story(channel_id, job)

    async def reproject(self, actor: Actor) -> int:
        """Admins: rebuild the whole world from the log; returns the number of events replayed."""
        require_admin(actor, "reproject the world")
        return await self.rebuild()


def _character(conn: Conn, recorded: list[Recorded[Any]]) -> CharacterView:
    return found(queries.find_character_by_id(conn, recorded[0].payload.character_id), "character")


def _chat(conn: Conn, recorded: list[Recorded[Any]]) -> ChatView:
    return found(queries.find_chat(conn, recorded[0].payload.chat_id), "chat")


def _scene(kind: str) -> Result[SceneView]:
    def result(conn: Conn, recorded: list[Recorded[Any]]) -> SceneView:
        return found(queries.find_scene(conn, _payload(recorded, kind).scene_id), "scene")
    return result


def _message(kind: str) -> Result[MessageView]:
    def result(conn: Conn, recorded: list[Recorded[Any]]) -> MessageView:
        p = _payload(recorded, kind)
        return found(queries.find_message_by_id(conn, p.chat_id, p.message_id), "message")
    return result


def _meanwhile(kind: str) -> Result[MeanwhileView]:
    def result(conn: Conn, recorded: list[Recorded[Any]]) -> MeanwhileView:
        return found(queries.find_meanwhile(conn, _payload(recorded, kind).meanwhile_id), "off-screen scene")
    return result


def _rewound(chat_id: str) -> Result[RewindResult]:
    """What a rewind removed: the live lines after its target that are gone once it is applied."""

    def result(conn: Conn, recorded: list[Recorded[Any]]) -> RewindResult:
        event = recorded[0]
        removed = tuple(queries.list_removed_by_rewind(conn, event.seq))
        return RewindResult(chat_id, event.payload.to_seq, event.seq, queries.events_undone(conn, event.seq), removed)

    return result
