"""Rewinds: rebuild one chat's rows as if its events after the target never happened."""

from __future__ import annotations

from engine.events import ChatRewound, Recorded
from engine.projection.projector import projector, reproject_chat
from engine.storage.port import Conn

projector.owns(__name__, world=("rewinds", "rewound_lines"))


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
