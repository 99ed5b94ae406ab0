"""A story's life: its row and status, its cast, and rewinds (one chat's rows rebuilt as if its later events never
happened)."""

from __future__ import annotations

import json

from engine.events import (
    CastJoined,
    CastLeft,
    CastMuted,
    CastUnmuted,
    ChatEnded,
    ChatRewound,
    ChatStarted,
    Recorded,
    TurnRuleSet,
)
from engine.projection.projector import projector, reproject_chat
from engine.projection.util import expect_one, json_list
from engine.storage.port import Conn

projector.owns(__name__, chat=("chats", "chat_cast"), world=("rewinds", "rewound_lines"))


@projector.on(ChatStarted)
def on_chat_started(tx: Conn, event: Recorded[ChatStarted]) -> None:
    """A new open chat in a channel (strict INSERT: a second one with the same id fails)."""
    p = event.payload
    tx.execute(
        "INSERT INTO chats (chat_id, guild_id, channel_id, host_id, guest_id, started_by, status,"
        " start_minute, story_minute, anchor, weather, active_scene_id, place_id, created_seq, ended_seq,"
        " started_at) VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, NULL, NULL, ?, NULL, ?)",
        (p.chat_id, p.guild_id, p.channel_id, p.host_id, p.guest_id, p.started_by, p.start_minute,
         p.start_minute, p.anchor, p.weather, event.seq, event.recorded_at),
    )
    for slot, character_id in enumerate(i for i in (p.host_id, p.guest_id) if i is not None):  # the upcast cast
        _join(tx, p.chat_id, character_id, event.seq, slot)


def _join(tx: Conn, chat_id: str, character_id: str, seq: int, slot: int) -> None:
    tx.execute("INSERT INTO chat_cast (chat_id, character_id, joined_seq, slot, muted) VALUES (?, ?, ?, ?, 0)",
               (chat_id, character_id, seq, slot))


@projector.on(CastJoined)
def on_cast_joined(tx: Conn, event: Recorded[CastJoined]) -> None:
    """A new member at the end of the cast (strict INSERT: joining twice fails), present in the open scene."""
    p = event.payload
    _join(tx, p.chat_id, p.character_id, event.seq, 0)
    scene = tx.execute("SELECT s.scene_id, s.present FROM scenes s JOIN chats c ON c.active_scene_id = s.scene_id"
                       " WHERE c.chat_id = ?", (p.chat_id,)).fetchone()
    if scene is not None and p.character_id not in json.loads(scene[1]):
        tx.execute("UPDATE scenes SET present = ? WHERE scene_id = ?",
                   (json_list([*json.loads(scene[1]), p.character_id]), scene[0]))


@projector.on(CastLeft)
def on_cast_left(tx: Conn, event: Recorded[CastLeft]) -> None:
    """The member's row goes; its lines stay in the transcript."""
    cursor = tx.execute("DELETE FROM chat_cast WHERE chat_id = ? AND character_id = ?",
                        (event.payload.chat_id, event.payload.character_id))
    expect_one(cursor, event, "a cast member")


def _set_muted(tx: Conn, event: Recorded[CastMuted] | Recorded[CastUnmuted], muted: int) -> None:
    cursor = tx.execute("UPDATE chat_cast SET muted = ? WHERE chat_id = ? AND character_id = ? AND muted <> ?",
                        (muted, event.payload.chat_id, event.payload.character_id, muted))
    expect_one(cursor, event, "an unmuted cast member" if muted else "a muted cast member")


@projector.on(CastMuted)
def on_cast_muted(tx: Conn, event: Recorded[CastMuted]) -> None:
    """The member stops speaking."""
    _set_muted(tx, event, 1)


@projector.on(CastUnmuted)
def on_cast_unmuted(tx: Conn, event: Recorded[CastUnmuted]) -> None:
    """The member may speak again."""
    _set_muted(tx, event, 0)


@projector.on(ChatEnded)
def on_chat_ended(tx: Conn, event: Recorded[ChatEnded]) -> None:
    """Close the chat; the channel may start another."""
    cursor = tx.execute(
        "UPDATE chats SET status = 'ended', ended_seq = ? WHERE chat_id = ? AND status = 'open'",
        (event.seq, event.payload.chat_id),
    )
    expect_one(cursor, event, "an open chat")


@projector.on(ChatRewound)
def on_chat_rewound(tx: Conn, event: Recorded[ChatRewound]) -> None:
    """Reproject the chat from its own effective events up to `to_seq`; record the rewind and the lines it took."""
    p = event.payload
    tx.execute(
        "INSERT INTO rewound_lines (rewind_seq, message_id, chat_id, seq, role, author_id, speaker, character_id,"
        " text, discord_ids, revision, retracted, story_minute, scene_id)"
        " SELECT ?, message_id, chat_id, seq, role, author_id, speaker, character_id, text, discord_ids, revision,"
        " retracted, story_minute, scene_id FROM messages WHERE chat_id = ? AND seq > ? AND retracted = 0",
        (event.seq, p.chat_id, p.to_seq),
    )
    undone = reproject_chat(tx, p.chat_id, before=event.seq, to_seq=p.to_seq)
    tx.execute(
        "INSERT INTO rewinds (seq, chat_id, to_seq, actor_id, events_undone) VALUES (?, ?, ?, ?, ?)",
        (event.seq, p.chat_id, p.to_seq, p.actor_id, undone),
    )


@projector.on(TurnRuleSet)
def on_turn_rule_set(tx: Conn, event: Recorded[TurnRuleSet]) -> None:
    """The chat's rule for who speaks next."""
    cursor = tx.execute("UPDATE chats SET turn_rule = ? WHERE chat_id = ?", (event.payload.rule, event.payload.chat_id))
    expect_one(cursor, event, "a chat")
