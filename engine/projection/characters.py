"""Characters (per guild) and personas (per person, per guild or global)."""

from __future__ import annotations

import json
from typing import Any

from engine.cards.model import Card
from engine.events import CharacterAuthored, CharacterRetired, PersonaSet, Recorded
from engine.names import look_key as look_key  # re-exported: queries compare names by both keys
from engine.names import name_key as name_key
from engine.projection.projector import projector
from engine.projection.util import expect_one
from engine.storage.port import Conn

projector.owns(__name__, world=("characters", "personas"))

GLOBAL_SCOPE = "*"


def unique_key(tx: Conn, table: str, scope: str, scope_id: str, row_id_column: str, row_id: str, name: str,
               active: str = "") -> str:
    """`name_key(name)`, or, when another row of the scope already holds that key, the key with the row's id.

    New names that collide are refused by the deciders; this only keeps an old log whose names collide
    under today's key (look-alikes recorded before names were normalised) projectable, the same way on
    every replay: the first holder keeps the name, the look-alike keeps its row under its own key.
    """
    key = name_key(name)
    taken = tx.execute(f"SELECT 1 FROM {table} WHERE {scope} = ? AND name_key = ? AND {row_id_column} <> ?{active}",
                       (scope_id, key, row_id)).fetchone()
    return key if taken is None else f"{key}#{row_id}"


@projector.on(CharacterAuthored)
def on_character_authored(tx: Conn, event: Recorded[CharacterAuthored]) -> None:
    """Create a character, or replace its card (same id) keeping when it was created."""
    p, card = event.payload, event.payload.card
    extra = card_columns(p)
    tx.execute(
        "INSERT INTO characters (character_id, guild_id, name, name_key, look_key, description, personality,"
        " scenario, greeting, example_dialogue, system_prompt, post_history_instructions, avatar_url, author_id,"
        " retired, created_seq, updated_seq, nickname, creator_notes, alternate_greetings, group_greetings,"
        " book_json, card_json, avatar_png, talkativeness)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (character_id) DO UPDATE SET name = excluded.name, name_key = excluded.name_key,"
        " look_key = excluded.look_key,"
        " description = excluded.description, personality = excluded.personality,"
        " scenario = excluded.scenario, greeting = excluded.greeting,"
        " example_dialogue = excluded.example_dialogue, system_prompt = excluded.system_prompt,"
        " post_history_instructions = excluded.post_history_instructions,"
        " avatar_url = excluded.avatar_url, updated_seq = excluded.updated_seq, nickname = excluded.nickname,"
        " creator_notes = excluded.creator_notes, alternate_greetings = excluded.alternate_greetings,"
        " group_greetings = excluded.group_greetings, book_json = excluded.book_json,"
        " card_json = excluded.card_json, avatar_png = excluded.avatar_png,"
        " talkativeness = excluded.talkativeness",
        (p.character_id, p.guild_id, card.name,
         unique_key(tx, "characters", "guild_id", p.guild_id, "character_id", p.character_id, card.name,
                    " AND retired = 0"),
         look_key(card.name), card.description, card.personality,
         card.scenario, card.first_mes, card.mes_example, card.system_prompt, card.post_history_instructions,
         p.avatar_url, p.author_id, event.seq, event.seq, *extra, talkativeness(card.extensions)),
    )


def plain_card(card: Card) -> Card:
    """The card with only the fields the characters table has columns for (what a v1 event held)."""
    return Card(name=card.name, description=card.description, personality=card.personality,
                scenario=card.scenario, first_mes=card.first_mes, mes_example=card.mes_example,
                system_prompt=card.system_prompt, post_history_instructions=card.post_history_instructions)


def card_columns(p: CharacterAuthored) -> tuple[str | None, ...]:
    """nickname, creator_notes, alternate_greetings, group_greetings, book_json, card_json, avatar_png.

    `card_json` is NULL for a plain card (rows projected before these columns existed are plain, so a
    rebuild gives them the same NULL).
    """
    card = p.card
    book = card.character_book.model_dump_json() if card.character_book is not None else None
    whole = None if card == plain_card(card) else card.model_dump_json()
    return (card.nickname, card.creator_notes, json.dumps(list(card.alternate_greetings)),
            json.dumps(list(card.group_only_greetings)), book, whole, p.avatar.data if p.avatar else None)


def talkativeness(extensions: dict[str, Any]) -> float:
    """A card's talkativeness as SillyTavern keeps it (`extensions.talkativeness`, a number or a numeric string
    from 0 to 1); anything else is the default 0.5."""
    value = extensions.get("talkativeness")
    try:
        number = float(value) if isinstance(value, int | float | str) and not isinstance(value, bool) else 0.5
    except ValueError:
        return 0.5
    return number if 0 <= number <= 1 else 0.5


@projector.on(CharacterRetired)
def on_character_retired(tx: Conn, event: Recorded[CharacterRetired]) -> None:
    """Mark a character retired; its rows stay for history."""
    cursor = tx.execute(
        "UPDATE characters SET retired = 1, updated_seq = ? WHERE character_id = ? AND retired = 0",
        (event.seq, event.payload.character_id),
    )
    expect_one(cursor, event, "an active character")


@projector.on(PersonaSet)
def on_persona_set(tx: Conn, event: Recorded[PersonaSet]) -> None:
    """Set a person's persona for one guild, or globally."""
    p = event.payload
    tx.execute(
        "INSERT INTO personas (user_id, scope, name, description, avatar_url, updated_seq)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, scope) DO UPDATE SET name = excluded.name,"
        " description = excluded.description, avatar_url = excluded.avatar_url,"
        " updated_seq = excluded.updated_seq",
        (p.user_id, p.guild_id or GLOBAL_SCOPE, p.name, p.description, p.avatar_url, event.seq),
    )
