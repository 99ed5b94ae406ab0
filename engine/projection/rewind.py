"""Rewinds: rebuild one chat's rows as if its events after the target never happened."""

from __future__ import annotations

import sqlite3

from engine.events import ChatRewound, Recorded
from engine.projection.projector import projector, reproject_chat

projector.owns(__name__, world=("rewinds",))


@projector.on(ChatRewound)
def on_chat_rewound(tx: sqlite3.Connection, event: Recorded[ChatRewound]) -> None:
    """Reproject the chat from its own effective events up to `to_seq`; record the rewind."""
    p = event.payload
    undone = reproject_chat(tx, p.chat_id, before=event.seq, to_seq=p.to_seq)
    tx.execute(
        "INSERT INTO rewinds (seq, chat_id, to_seq, actor_id, events_undone) VALUES (?, ?, ?, ?, ?)",
        (event.seq, p.chat_id, p.to_seq, p.actor_id, undone),
    )
