"""Characters and personas: a whole card authored (created, edited, imported, replaced), retired; a person's persona."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator

from engine.cards.avatar import AVATAR_B64_MAX
from engine.cards.model import Card
from engine.events.base import CARD_FIELD_MAX, NAME_MAX, CardText, Event, Id, Name, Url, upcaster

# The flat v1 fields of `bot_authored` and where each lives in the card.
V1_CARD_FIELDS = {"name": "name", "description": "description", "personality": "personality",
                  "scenario": "scenario", "greeting": "first_mes", "example_dialogue": "mes_example",
                  "system_prompt": "system_prompt", "post_history_instructions": "post_history_instructions"}
CARD_TEXT = ("description", "personality", "scenario", "first_mes", "mes_example", "creator_notes",
             "system_prompt", "post_history_instructions")


def fold_flat_card(data: dict[str, Any]) -> dict[str, Any]:
    """A v1 `bot_authored` payload (flat card fields) as v2: the fields move into `card`."""
    out = {key: value for key, value in data.items() if key not in V1_CARD_FIELDS}
    out["card"] = {V1_CARD_FIELDS[key]: value for key, value in data.items() if key in V1_CARD_FIELDS}
    return out


@upcaster("bot_authored", 1)
def _bot_authored_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 held the card's fields flat; version 2 holds the whole card."""
    return fold_flat_card(data)


class CardAvatar(BaseModel):
    """An imported card's own image: a PNG (text chunks stripped, size bounded), base64."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    mime: Literal["image/png"] = "image/png"
    data: Annotated[str, StringConstraints(min_length=1, max_length=AVATAR_B64_MAX)]


class CharacterAuthored(Event):
    """A character card created or replaced in a guild: the whole card (every V1/V2/V3 field, extensions,
    unknown fields and its own lorebook), with the imported image when there was one.

    Flat v1 keyword fields (`name`, `description`, `greeting`…) are folded into `card`, as stored v1
    payloads are upcast; the same names read back as properties.
    """

    kind: ClassVar[str] = "bot_authored"
    version: ClassVar[int] = 2
    character_id: Id
    guild_id: Id
    author_id: Id
    card: Card
    avatar_url: Url | None = None
    avatar: CardAvatar | None = None

    @model_validator(mode="before")
    @classmethod
    def _fold(cls, data: Any) -> Any:
        return fold_flat_card(data) if isinstance(data, dict) and "card" not in data else data

    @model_validator(mode="after")
    def _card_limits(self) -> CharacterAuthored:
        if not self.card.name.strip() or len(self.card.name) > NAME_MAX:
            raise ValueError(f"a character needs a name of 1 to {NAME_MAX} characters")
        for field in CARD_TEXT:
            if len(getattr(self.card, field)) > CARD_FIELD_MAX:
                raise ValueError(f"{field} is over {CARD_FIELD_MAX} characters")
        return self

    def stream(self) -> str:
        """Characters live in their guild's stream."""
        return f"guild:{self.guild_id}"

    @property
    def name(self) -> str:
        """The card's name."""
        return self.card.name

    @property
    def description(self) -> str:
        """The card's description."""
        return self.card.description

    @property
    def greeting(self) -> str:
        """The card's first message."""
        return self.card.first_mes

    @property
    def example_dialogue(self) -> str:
        """The card's example messages."""
        return self.card.mes_example


class CharacterRetired(Event):
    """A character removed from use; its history stays."""

    kind: ClassVar[str] = "bot_retired"
    character_id: Id
    guild_id: Id

    def stream(self) -> str:
        """Characters live in their guild's stream."""
        return f"guild:{self.guild_id}"


class PersonaSet(Event):
    """A person's persona, for one guild or (guild_id None) everywhere."""

    kind: ClassVar[str] = "you_authored"
    user_id: Id
    guild_id: Id | None = None
    name: Name
    description: CardText = ""
    avatar_url: Url | None = None

    def stream(self) -> str:
        """Personas live in their person's stream."""
        return f"user:{self.user_id}"
