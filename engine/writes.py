"""The Engine's write methods: one per user action, each a command plus the view it returns."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from engine import queries
from engine.commands import (
    Actor, AdjustRelationship, AuthorCharacter, CloseScene, Command, CreatePlace, EditCharacter, EditMessage,
    EndChat, ForgetMemory, OpenScene, RecordMeanwhileDigest, RecordMessage, RecordReply, RetireCharacter,
    RetractMessage, ReviseReply, RewindChat, SetPersona, SetWeather, SkipTime, StartChat, StartMeanwhile,
    WriteMemory, build,
)
from engine.deciders.base import require_admin
from engine.events import Recorded
from engine.storytime import parse_clock, parse_duration
from engine.views import (
    CharacterView, ChatView, MeanwhileView, MemoryView, MessageView, PersonaView, PlaceView, RelationshipView,
    RewindResult, SceneView,
)

if TYPE_CHECKING:
    from engine.app import Engine

T = TypeVar("T")
Result = Callable[[sqlite3.Connection, list[Recorded]], T]


def _payload(recorded: list[Recorded], kind: str) -> Any:
    """The payload of the first recorded event of a kind."""
    return next(e.payload for e in recorded if e.kind == kind)


class EngineWrites:
    """Write methods; mixed into Engine."""

    async def _do(self: Engine, cls: type[Command], result: Result[T], *, key: str | None = None,
                  **fields: Any) -> T:
        return await self.execute(build(cls, **fields), result, key=key)

    async def author_character(self, actor: Actor, name: str, description: str, **card: Any) -> CharacterView:
        """Create a character card (personality, scenario, greeting, example_dialogue, system_prompt,
        post_history_instructions, avatar_url are optional)."""
        return await self._do(AuthorCharacter, _character, actor=actor, character_name=name,
                              description=description, **card)

    async def edit_character(self, actor: Actor, name: str, field: str, value: str) -> CharacterView:
        """Change one field of a card (its author or an admin)."""
        return await self._do(EditCharacter, _character, actor=actor, character_name=name, field=field,
                              value=value)

    async def retire_character(self, actor: Actor, name: str) -> CharacterView:
        """Retire a character no open story uses."""
        return await self._do(RetireCharacter, _character, actor=actor, character_name=name)

    async def set_persona(self, actor: Actor, name: str, description: str = "", avatar_url: str | None = None,
                          *, everywhere: bool = False) -> PersonaView:
        """Set the acting person's persona for this server (or everywhere)."""

        def result(conn: sqlite3.Connection, recorded: list[Recorded]) -> PersonaView:
            persona = queries.find_persona(conn, actor.user_id, None if everywhere else actor.guild_id)
            assert persona is not None
            return persona

        return await self._do(SetPersona, result, actor=actor, persona_name=name, description=description,
                              avatar_url=avatar_url, everywhere=everywhere)

    async def start_chat(self, actor: Actor, channel_id: str, character: str, *, guest: str | None = None,
                         time: str | None = None, anchor: str | None = None, weather: str | None = None,
                         place: str | None = None) -> ChatView:
        """Start a story in a channel (time like '14:00', 'noon' or 'Day 2 09:00')."""
        minute = parse_clock(time) if time else 8 * 60
        return await self._do(StartChat, _chat, actor=actor, channel_id=channel_id, character=character,
                              guest=guest or None, start_minute=minute, anchor=anchor or None,
                              weather=weather or "clear", place=place or None)

    async def end_chat(self, actor: Actor, channel_id: str) -> ChatView:
        """End the channel's story (its starter or an admin)."""
        return await self._do(EndChat, _chat, actor=actor, channel_id=channel_id)

    async def create_place(self, actor: Actor, channel_id: str, name: str, description: str = "",
                           parent: str | None = None) -> PlaceView:
        """Add a place to the story's world."""

        def result(conn: sqlite3.Connection, recorded: list[Recorded]) -> PlaceView:
            place = queries.find_place_by_id(conn, _payload(recorded, "container_created").place_id)
            assert place is not None
            return place

        return await self._do(CreatePlace, result, actor=actor, channel_id=channel_id, place_name=name,
                              description=description, parent=parent or None)

    async def open_scene(self, actor: Actor, channel_id: str, place: str, title: str | None = None) -> SceneView:
        """Open a scene at a place (created if new) with the story's characters present."""
        return await self._do(OpenScene, _scene("scene_opened"), actor=actor, channel_id=channel_id,
                              place=place, title=title or None)

    async def close_scene(self: Engine, actor: Actor, channel_id: str, summary: str | None = None) -> SceneView:
        """Close the open scene; its summary (written by the model when not given) becomes a memory of those
        present."""
        if summary is None:
            chat = await self.get_chat(channel_id)
            summary = await self.narrate_scene_summary(chat)
        return await self._do(CloseScene, _scene("scene_closed"), actor=actor, channel_id=channel_id,
                              summary=summary)

    async def record_message(self, actor: Actor, channel_id: str, message_id: str, text: str) -> MessageView:
        """A person's in-character line; the message id makes delivery idempotent."""

        def result(conn: sqlite3.Connection, recorded: list[Recorded]) -> MessageView:
            # Message ids are unique everywhere: a repeat delivery returns the line wherever it was recorded
            # (even in a chat of this channel that has since ended).
            message = queries.find_message_by_id(conn, None, message_id)
            assert message is not None
            return message

        return await self._do(RecordMessage, result, key=f"message:{message_id}", actor=actor,
                              channel_id=channel_id, message_id=message_id, text=text)

    async def record_reply(self, actor: Actor, channel_id: str, character_id: str, text: str,
                           discord_message_ids: list[str] | None = None) -> MessageView:
        """A character's finished reply."""
        return await self._do(RecordReply, _message("bot_replied"), actor=actor, channel_id=channel_id,
                              character_id=character_id, text=text,
                              discord_message_ids=discord_message_ids or [])

    async def edit_message(self, actor: Actor, channel_id: str, message_id: str, text: str) -> MessageView:
        """A person edited their line (no event when the text is unchanged)."""

        def result(conn: sqlite3.Connection, recorded: list[Recorded]) -> MessageView:
            chat = queries.get_open_chat(conn, channel_id)
            message = queries.find_message(conn, chat.chat_id, message_id)
            assert message is not None
            return message

        return await self._do(EditMessage, result, actor=actor, channel_id=channel_id, message_id=message_id,
                              text=text)

    async def retract_message(self, actor: Actor, channel_id: str, message_id: str) -> MessageView:
        """A line leaves the story (its author, or an admin)."""
        return await self._do(RetractMessage, _message("message_retracted"), actor=actor, channel_id=channel_id,
                              message_id=message_id)

    async def revise_reply(self, actor: Actor, channel_id: str, text: str, *,
                           mode: Literal["regenerate", "continue"] = "regenerate",
                           discord_message_ids: list[str] | None = None) -> MessageView:
        """Replace or extend the latest character reply with new generated text."""
        return await self._do(ReviseReply, _message("reply_regenerated"), actor=actor, channel_id=channel_id,
                              text=text, mode=mode, discord_message_ids=discord_message_ids or [])

    async def write_memory(self, actor: Actor, channel_id: str, text: str, *, character: str | None = None,
                           importance: int = 5) -> MemoryView:
        """Give a character of the story (the host by default) a memory."""

        def result(conn: sqlite3.Connection, recorded: list[Recorded]) -> MemoryView:
            p = _payload(recorded, "memory_written")
            memory = queries.find_memory(conn, p.chat_id, p.memory_id)
            assert memory is not None
            return memory

        return await self._do(WriteMemory, result, actor=actor, channel_id=channel_id, text=text,
                              character=character or None, importance=importance)

    async def forget_memory(self, actor: Actor, channel_id: str, memory_id: str) -> str:
        """Remove a memory; returns its id."""
        return await self._do(ForgetMemory, lambda conn, rec: rec[0].payload.memory_id, actor=actor,
                              channel_id=channel_id, memory_id=memory_id)

    async def start_meanwhile(self, actor: Actor, channel_id: str, characters: list[str], premise: str,
                              place: str | None = None, digest: str | None = None) -> MeanwhileView:
        """Start an off-screen scene with chosen characters (with its digest at once when given)."""
        return await self._do(StartMeanwhile, _meanwhile("meanwhile_scene_started"), actor=actor,
                              channel_id=channel_id, characters=characters, premise=premise, place=place or None,
                              digest=digest or None)

    async def record_meanwhile_digest(self, actor: Actor, channel_id: str, meanwhile_id: str,
                                      digest: str) -> MeanwhileView:
        """Record an off-screen scene's digest; only its participants remember it."""
        return await self._do(RecordMeanwhileDigest, _meanwhile("meanwhile_digest_created"), actor=actor,
                              channel_id=channel_id, meanwhile_id=meanwhile_id, digest=digest)

    async def adjust_relationship(self, actor: Actor, channel_id: str, character: str, target: str, *,
                                  affinity: int = 0, trust: int = 0, note: str | None = None) -> RelationshipView:
        """Shift how a character feels about another character or a persona."""

        def result(conn: sqlite3.Connection, recorded: list[Recorded]) -> RelationshipView:
            p = _payload(recorded, "edge_update")
            edge = queries.find_relationship(conn, p.chat_id, p.source_id, p.target_id)
            assert edge is not None
            return edge

        return await self._do(AdjustRelationship, result, actor=actor, channel_id=channel_id, character=character,
                              target=target, affinity=affinity, trust=trust, note=note or None)

    async def skip_time(self: Engine, actor: Actor, channel_id: str, by: str,
                        summary: str | None = None) -> ChatView:
        """Move in-story time forward by a duration like '3h', '2d' or '1h30m' (the model writes the summary
        line when none is given)."""
        minutes = parse_duration(by)
        if not summary:
            summary = await self.narrate_time_skip(await self.get_chat(channel_id), minutes)
        return await self._do(SkipTime, _chat, actor=actor, channel_id=channel_id, minutes=minutes,
                              summary=summary or None)

    async def set_weather(self, actor: Actor, channel_id: str, weather: str) -> ChatView:
        """Set the story's weather."""
        return await self._do(SetWeather, _chat, actor=actor, channel_id=channel_id, weather=weather)

    async def rewind(self: Engine, actor: Actor, channel_id: str, *, to_seq: int | None = None,
                     messages: int | None = None) -> RewindResult:
        """Admins: rewind the channel's story to an event seq, or by N messages."""
        require_admin(actor, "rewind a story")
        before: list[MessageView] = []

        def snapshot(conn: sqlite3.Connection) -> list[MessageView]:
            """The lines the rewind may remove (the decider stays the judge of the target)."""
            chat = queries.find_open_chat(conn, channel_id)
            if chat is None:
                return []
            after = to_seq
            if messages is not None:
                target = queries.nth_last_message(conn, chat.chat_id, messages)
                after = target.seq - 1 if target else None
            return [] if after is None else queries.list_messages_after(conn, chat.chat_id, after)

        def result(conn: sqlite3.Connection, recorded: list[Recorded]) -> RewindResult:
            event = recorded[0]
            remaining = {m.message_id for m in queries.list_messages_after(conn, event.chat_id, event.payload.to_seq)}
            removed = tuple(m for m in before if m.message_id not in remaining)
            undone = conn.execute("SELECT events_undone FROM rewinds WHERE seq = ?", (event.seq,)).fetchone()[0]
            return RewindResult(event.chat_id, event.payload.to_seq, event.seq, undone, removed)

        async with self.chat_locks.hold(channel_id):
            before = await self.db.write(snapshot)
            return await self._do(RewindChat, result, actor=actor, channel_id=channel_id, to_seq=to_seq,
                                  messages=messages)

    async def reproject(self: Engine, actor: Actor) -> int:
        """Admins: rebuild the whole world from the log; returns the number of events replayed."""
        require_admin(actor, "reproject the world")
        return await self.rebuild()


def _character(conn: sqlite3.Connection, recorded: list[Recorded]) -> CharacterView:
    card = queries.find_character_by_id(conn, recorded[0].payload.character_id)
    assert card is not None
    return card


def _chat(conn: sqlite3.Connection, recorded: list[Recorded]) -> ChatView:
    chat = queries.find_chat(conn, recorded[0].chat_id)
    assert chat is not None
    return chat


def _scene(kind: str) -> Result[SceneView]:
    def result(conn: sqlite3.Connection, recorded: list[Recorded]) -> SceneView:
        scene = queries.find_scene(conn, _payload(recorded, kind).scene_id)
        assert scene is not None
        return scene
    return result


def _message(kind: str) -> Result[MessageView]:
    def result(conn: sqlite3.Connection, recorded: list[Recorded]) -> MessageView:
        p = _payload(recorded, kind)
        message = queries.find_message_by_id(conn, p.chat_id, p.message_id)
        assert message is not None
        return message
    return result


def _meanwhile(kind: str) -> Result[MeanwhileView]:
    def result(conn: sqlite3.Connection, recorded: list[Recorded]) -> MeanwhileView:
        scene = queries.find_meanwhile(conn, _payload(recorded, kind).meanwhile_id)
        assert scene is not None
        return scene
    return result
