"""The transcript: messages of people, characters and the narrator, with their revisions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.events import LineSaid, MessageEdited, MessageRetracted, Recorded, ReplyRecorded, ReplyRevised
from engine.projection.projector import projector
from engine.projection.util import Line, insert_message, insert_messages, json_list, missing
from engine.storage.port import Conn

projector.owns(__name__, chat=("messages", "message_revisions"))


def _said(p: LineSaid) -> Line:
    return Line(p.message_id, "person", p.author_id, p.persona_name, None, p.text, [p.message_id])


def _replied(p: ReplyRecorded) -> Line:
    return Line(p.message_id, "character", p.character_id, p.character_name, p.character_id, p.text,
                list(p.discord_message_ids))


@projector.on(LineSaid)
def on_line_said(tx: Conn, event: Recorded[LineSaid]) -> None:
    """A person's line, under their persona's name."""
    insert_message(tx, event, _said(event.payload))


@projector.on(ReplyRecorded)
def on_reply_recorded(tx: Conn, event: Recorded[ReplyRecorded]) -> None:
    """A character's reply."""
    insert_message(tx, event, _replied(event.payload))


@projector.on_run(LineSaid, ReplyRecorded, reads=("chats", "chat_cast", "scenes"))
def on_lines(tx: Conn, events: Sequence[Recorded[Any]], known: dict[str, Any]) -> None:
    """Consecutive lines and replies, as their own handlers would add them one by one (`known`: the chats' story time,
    scene and witnesses read for an earlier run, while nothing changed them)."""
    insert_messages(tx, [(e, _said(e.payload) if e.kind == LineSaid.kind else _replied(e.payload)) for e in events],
                    known)


def _revise(tx: Conn, event: Recorded, message_id: str, change: str, text: str,
            discord_ids: list[str] | None = None) -> None:
    """Record a revision of a live message and set its new text."""
    row = tx.execute(
        "SELECT text FROM messages WHERE message_id = ? AND chat_id = ? AND retracted = 0",
        (message_id, event.chat_id),
    ).fetchone()
    if row is None:
        raise missing(event, "a live message")
    tx.execute(
        "INSERT INTO message_revisions (seq, chat_id, message_id, change, previous_text, text)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (event.seq, event.chat_id, message_id, change, row[0], text),
    )
    retracted = 1 if change == "retracted" else 0
    if discord_ids:
        tx.execute(
            "UPDATE messages SET text = ?, revision = revision + 1, retracted = ?, discord_ids = ?"
            " WHERE message_id = ?",
            (text, retracted, json_list(discord_ids), message_id),
        )
    else:
        tx.execute(
            "UPDATE messages SET text = ?, revision = revision + 1, retracted = ? WHERE message_id = ?",
            (text, retracted, message_id),
        )


@projector.on(MessageEdited)
def on_message_edited(tx: Conn, event: Recorded[MessageEdited]) -> None:
    """A person edited their message."""
    _revise(tx, event, event.payload.message_id, "edited", event.payload.text)


@projector.on(MessageRetracted)
def on_message_retracted(tx: Conn, event: Recorded[MessageRetracted]) -> None:
    """A message was deleted: it leaves the story but stays in the log and the revisions."""
    _revise(tx, event, event.payload.message_id, "retracted", "")


@projector.on(ReplyRevised)
def on_reply_revised(tx: Conn, event: Recorded[ReplyRevised]) -> None:
    """A reply replaced by a new generation, or extended."""
    p = event.payload
    change = "continued" if p.mode == "continue" else "regenerated"
    _revise(tx, event, p.message_id, change, p.text, list(p.discord_message_ids))
