"""Chronicle's starter character: Hollis, the night ferryman, shipped as a V3 card (`hollis.json`).

The card is original to this project. `load_starter` is the one place that puts it into a world: it imports
the whole card like any card a person brings (its lorebook and alternate greetings included).
"""

from __future__ import annotations

from importlib import resources

from engine import Actor, CharacterView, Engine
from engine.cards import Card, parse_card
from engine.commands import ImportCharacter
from engine.table import Upload

STARTER_FILE = "hollis.json"


def starter_card() -> Card:
    """The starter character's card, parsed and checked like any imported card."""
    data = resources.files(__name__).joinpath(STARTER_FILE).read_bytes()
    return parse_card(data, STARTER_FILE).card


def starter_name() -> str:
    """The starter character's name."""
    return starter_card().name


async def load_starter(engine: Engine, actor: Actor, *, cause: str | None = None) -> CharacterView:
    """Import the starter character's whole card (lorebook and alternate greetings too) into the actor's world."""
    data = resources.files(__name__).joinpath(STARTER_FILE).read_bytes()
    starter = ImportCharacter(actor=actor, file=Upload(filename=STARTER_FILE, data=data))
    imported = await engine.perform(starter, cause=cause)
    return imported.character


async def find_starter(engine: Engine, guild_id: str) -> CharacterView | None:
    """The starter character if it is an active character of this world, else None."""
    name = starter_name().casefold()
    return next((c for c in await engine.reads.list_characters(guild_id) if c.name.casefold() == name), None)
