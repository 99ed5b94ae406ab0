"""Characters (per guild) and personas (per person, per guild or global)."""

from __future__ import annotations

from engine.events import BotAuthored, BotRetired, Recorded, YouAuthored
from engine.projection.projector import projector
from engine.projection.util import expect_one
from engine.storage.port import Conn

projector.owns(__name__, world=("characters", "personas"))

GLOBAL_SCOPE = "*"


def name_key(name: str) -> str:
    """The case-insensitive key names are unique by."""
    return " ".join(name.casefold().split())


@projector.on(BotAuthored)
def on_bot_authored(tx: Conn, event: Recorded[BotAuthored]) -> None:
    """Create a character, or replace its card (same id) keeping when it was created."""
    p = event.payload
    tx.execute(
        "INSERT INTO characters (character_id, guild_id, name, name_key, description, personality, scenario,"
        " greeting, example_dialogue, system_prompt, post_history_instructions, avatar_url, author_id,"
        " retired, created_seq, updated_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)"
        " ON CONFLICT (character_id) DO UPDATE SET name = excluded.name, name_key = excluded.name_key,"
        " description = excluded.description, personality = excluded.personality,"
        " scenario = excluded.scenario, greeting = excluded.greeting,"
        " example_dialogue = excluded.example_dialogue, system_prompt = excluded.system_prompt,"
        " post_history_instructions = excluded.post_history_instructions,"
        " avatar_url = excluded.avatar_url, updated_seq = excluded.updated_seq",
        (p.character_id, p.guild_id, p.name, name_key(p.name), p.description, p.personality, p.scenario,
         p.greeting, p.example_dialogue, p.system_prompt, p.post_history_instructions, p.avatar_url,
         p.author_id, event.seq, event.seq),
    )


@projector.on(BotRetired)
def on_bot_retired(tx: Conn, event: Recorded[BotRetired]) -> None:
    """Mark a character retired; its rows stay for history."""
    cursor = tx.execute(
        "UPDATE characters SET retired = 1, updated_seq = ? WHERE character_id = ? AND retired = 0",
        (event.seq, event.payload.character_id),
    )
    expect_one(cursor, event, "an active character")


@projector.on(YouAuthored)
def on_you_authored(tx: Conn, event: Recorded[YouAuthored]) -> None:
    """Set a person's persona for one guild, or globally."""
    p = event.payload
    tx.execute(
        "INSERT INTO personas (user_id, scope, name, description, avatar_url, updated_seq)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, scope) DO UPDATE SET name = excluded.name,"
        " description = excluded.description, avatar_url = excluded.avatar_url,"
        " updated_seq = excluded.updated_seq",
        (p.user_id, p.guild_id or GLOBAL_SCOPE, p.name, p.description, p.avatar_url, event.seq),
    )
