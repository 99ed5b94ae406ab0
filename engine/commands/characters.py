"""Characters and personas: /character create, edit, show, list, retire, import, export; /persona set, show."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from engine import queries, queries_lore
from engine.cards.model import Card
from engine.commands.base import (
    CARD_TEXT_MAX,
    CharacterName,
    Command,
    Name,
    OptionalText,
    Query,
    Text,
    Url,
    plain_name,
)
from engine.commands.results import character_of, found
from engine.errors import NotFound
from engine.events import CardAvatar, Recorded
from engine.storage.port import Conn
from engine.table import INTERNAL, Upload, action
from engine.views import CardExport, CardImportView, CharacterView, PersonaView

CardField = Literal["name", "description", "personality", "scenario", "greeting", "example_dialogue",
                    "system_prompt", "post_history_instructions", "avatar_url", "talkativeness"]
CardText = Annotated[str, Field(max_length=CARD_TEXT_MAX)]
FORMATS = {"png": "PNG", "json": "JSON", "charx": "CHARX"}


@action("character create", "Create a character", public=True, card=True, result=character_of,
        told=lambda cmd, card: f"✨ Created **{card.name}**.")
class AuthorCharacter(Command[CharacterView]):
    """Create a character card."""

    name: Name = Field(description="The character's name")
    description: Text = Field(description="Who they are (appearance, background)")
    personality: OptionalText = Field(default="", description="How they behave and speak")
    scenario: OptionalText = Field(default="", description="The situation they start in")
    greeting: OptionalText = Field(default="", description="Their first line in a new story")
    example_dialogue: OptionalText = Field(default="", description="How they talk: example lines of dialogue")
    avatar_url: Url | None = Field(default=None, description="An image link for their avatar")


@action("character edit", "Change one field of a character you created", card=True, result=character_of,
        told=lambda cmd, card: f"Updated **{card.name}**'s {cmd.field.replace('_', ' ')}.")
class EditCharacter(Command[CharacterView]):
    """Change one field of a character card (its author or an admin)."""

    name: CharacterName = Field(description="The character")
    field: CardField = Field(description="Which field")
    value: OptionalText = Field(description="The new value")


@action("character retire", "Retire a character (its stories stay)", public=True, result=character_of,
        told=lambda cmd, card: f"🕯️ **{card.name}** is retired. Their stories remain.")
class RetireCharacter(Command[CharacterView]):
    """Retire a character no open story uses."""

    name: CharacterName = Field(description="The character")


def _character_list(conn: Conn, q: ListCharacters) -> list[CharacterView]:
    return queries.list_characters(conn, q.actor.guild_id)


def _list_lines(q: ListCharacters, cards: list[CharacterView]) -> str:
    lines = [f"**{c.name}** — {(c.description.splitlines() or [''])[0][:80]}" for c in cards]
    return "\n".join(lines) or "No characters yet. Create one with /character create."


@action("character list", "List this server's characters", answer=_character_list, told=_list_lines,
        title="Characters")
class ListCharacters(Query[list[CharacterView]]):
    """The server's active characters."""


def _card(conn: Conn, q: ShowCharacter) -> tuple[CharacterView, Card]:
    character = queries.get_character(conn, q.actor.guild_id, q.name)
    stored = queries_lore.find_card(conn, character.character_id)
    if stored is None:
        raise NotFound("That character no longer exists.")
    return character, stored[0]


@action("character show", "Show a character's card", answer=_card, card=True)
class ShowCharacter(Query[tuple[CharacterView, Card]]):
    """An active character and its whole card."""

    name: CharacterName = Field(description="The character")


def imported_line(cmd: ImportCharacter, result: CardImportView) -> str:
    """What an import did, in one line."""
    c = result.character
    what = f"a {result.spec.upper()} {FORMATS.get(result.source_format, result.source_format)} card"
    extras = []
    if result.lore_entries:
        extras.append(f"a lorebook of {result.lore_entries} entr{'y' if result.lore_entries == 1 else 'ies'}")
    if c.alternate_greetings:
        extras.append(f"{len(c.alternate_greetings) + 1} greetings")
    with_ = f" with {' and '.join(extras)}" if extras else ""
    if result.replaced:
        return f"🔁 **{c.name}**'s card was replaced from {what}{with_}."
    return f"✨ **{c.name}** joins the cast, imported from {what}{with_}."


def _imported(conn: Conn, cmd: Any, recorded: list[Recorded[Any]]) -> CardImportView:
    event = recorded[0]
    character = found(queries.find_character_by_id(conn, event.payload.character_id), "character")
    book = event.payload.card.character_book
    return CardImportView(character, "", "", len(book.entries) if book else 0, event.payload.avatar is not None,
                          replaced=queries_lore.created_seq(conn, character.character_id) != event.seq)


@action("character import", "Import a character card (.png, .json or .charx, V1/V2/V3)", public=True, card=True,
        cli="card import", result=_imported, told=imported_line)
class ImportCharacter(Command[CardImportView]):
    """Import a card file (its lorebook and image with it). A name in use needs `replace` (its author or an admin)
    or another `name`. The file is parsed before anything is decided; nothing is recorded when it can't be."""

    file: Upload = Field(description="The card file your app exported")
    name: Name | None = Field(default=None, description="Import it under this name instead")
    replace: bool = Field(default=False,
        description="Replace the character that has this name (its author or an admin)")
    card: Annotated[Card | None, INTERNAL] = None
    avatar: Annotated[CardAvatar | None, INTERNAL] = None
    avatar_url: Annotated[Url | None, INTERNAL] = None
    spec: Annotated[str, INTERNAL] = ""
    source_format: Annotated[str, INTERNAL] = ""

    @model_validator(mode="after")
    def _plain_names(self) -> ImportCharacter:
        """The name the character gets (and its nickname) holds no control characters and can be seen, like any
        name."""
        if self.card is not None and self.name is None:
            plain_name("card name", self.card.name, visible=True)
        if self.card is not None and self.card.nickname:
            plain_name("card nickname", self.card.nickname)
        return self

    @property
    def card_name(self) -> str:
        """The name the card is imported under."""
        return self.name or (self.card.name if self.card else "")


@action("character export", "Download a character's card (.json and .png)", cli="card export")
class ExportCharacter(Query[CardExport]):
    """A character's card as V3 JSON and as a PNG other apps import."""

    name: CharacterName = Field(description="The character")


@action("persona set", "Set who you are in this server's stories", card=True,
        result=lambda conn, cmd, recorded: found(queries.find_persona(conn, recorded[0].payload.user_id,
                                                                recorded[0].payload.guild_id), "persona"),
        told=lambda cmd, persona: f"You are now **{persona.name}**.")
class SetPersona(Command[PersonaView]):
    """Set the acting person's persona for this server (or everywhere)."""

    name: Name = Field(description="Your character's name")
    description: OptionalText = Field(default="", description="Who you are")
    avatar_url: Url | None = Field(default=None, description="An image link for your avatar")
    everywhere: bool = Field(default=False, description="Use it in every server without a persona of its own")


def _persona(conn: Conn, q: ShowPersona) -> PersonaView | None:
    return queries.find_persona(conn, q.actor.user_id, q.actor.guild_id)


def _persona_line(q: ShowPersona, persona: PersonaView | None) -> str:
    if persona is None:
        return (f"You have no persona yet, so you speak as **{q.actor.display_name or 'yourself'}**. Set one with "
                "/persona set.")
    return f"**{persona.name}**: {persona.description}" if persona.description else f"**{persona.name}**"


@action("persona show", "Show your persona", answer=_persona, told=_persona_line, card=True)
class ShowPersona(Query[PersonaView | None]):
    """The person's persona here, else their global one."""
