"""What choosing the next speaker reads: the cast members who may speak (with their talkativeness), who a line
names, and who spoke recently. The choice itself is engine/turns.py (pure)."""

from __future__ import annotations

from engine import queries
from engine.queries_cast import list_recent_speakers, list_turn_members
from engine.storage.port import Conn
from engine.turns import Member, Recent, named_in
from engine.views import ChatView, MessageView

RECENT_LINES = 60  # how far back the last speaker and this round's speakers are looked for


def speaking_members(conn: Conn, chat: ChatView) -> list[Member]:
    """The chat's cast members who may speak (not muted, not away), in cast order."""
    return [Member(*row) for row in list_turn_members(conn, chat.speakers)]


def recent_turns(conn: Conn, chat_id: str, before_seq: int | None) -> Recent:
    """Who spoke last before `before_seq`, and who spoke since the person's line before that."""
    lines = list_recent_speakers(conn, chat_id, limit=RECENT_LINES, before_seq=before_seq)
    speakers = [who for role, who in lines if role == "character" and who]
    last = speakers[-1] if speakers else None
    round_: set[str] = set()
    for role, who in reversed(lines):
        if role == "person":
            break
        if role == "character" and who:
            round_.add(who)
    return Recent(last, frozenset(round_))


def replied_character(conn: Conn, chat_id: str, reply_to: str | None) -> str | None:
    """The character whose message (by a Discord id it was posted as, or its own id) a line replies to."""
    if reply_to is None:
        return None
    line = queries.find_message(conn, chat_id, reply_to)
    return line.character_id if line is not None and line.role == "character" else None


def other_members(conn: Conn, chat: ChatView, reply: MessageView) -> tuple[list[Member], Recent]:
    """The members who may speak but the one who said `reply`, and the recent turns up to and with it."""
    members = [m for m in speaking_members(conn, chat) if m.character_id != reply.character_id]
    return members, recent_turns(conn, chat.chat_id, reply.seq + 1)


def turn_inputs(conn: Conn, chat: ChatView, said: MessageView,
                reply_to: str | None) -> tuple[list[Member], list[Member], Recent]:
    """The members who may speak, those the line names (a reply to a character's message first), and the recent
    turns before the line."""
    members = speaking_members(conn, chat)
    named = named_in(said.text, members, replied_character(conn, chat.chat_id, reply_to))
    return members, named, recent_turns(conn, chat.chat_id, said.seq)
