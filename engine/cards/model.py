"""The normalized character card (every V1/V2/V3 field, unknown fields kept), its limits and CardError."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.lore import Lorebook
from engine.lore.fields import TEXT_MAX, FieldProblem

MAX_CARD_BYTES = 10 * 1024 * 1024
CARD_NAME_MAX = 64
CARD_TEXT_MAX = TEXT_MAX
MAX_GREETINGS = 50
MAX_TAGS = 100
TAG_MAX = 100
MAX_ASSETS = 200
MAX_SOURCES = 100

SourceFormat = Literal["json", "png", "charx"]
Spec = Literal["v1", "v2", "v3"]


class CardError(ValueError):
    """A card file that cannot be imported or exported; ``str()`` is one line saying what is wrong and what to do."""

    @classmethod
    def from_problem(cls, problem: FieldProblem) -> CardError:
        """Word a field problem for the person importing the card."""
        return cls(f"Can't import the card: {problem}. {problem.fix}")


class Asset(BaseModel):
    """A V3 asset: its use (`type`: icon, background, emotion…), where it is (`uri`), its name and extension."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    type: str
    uri: str
    name: str = ""
    ext: str = ""
    extra: dict[str, Any] = Field(default_factory=dict)


class Card(BaseModel):
    """A character card, normalized from V1, V2 or V3; `extra`/`top_extra` hold unknown `data`/top-level fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str = Field(min_length=1, max_length=CARD_NAME_MAX)
    description: str = ""
    personality: str = ""
    scenario: str = ""
    first_mes: str = ""
    mes_example: str = ""
    creator_notes: str = ""
    system_prompt: str = ""
    post_history_instructions: str = ""
    alternate_greetings: tuple[str, ...] = Field(default=(), max_length=MAX_GREETINGS)
    character_book: Lorebook | None = None
    tags: tuple[str, ...] = ()
    creator: str = ""
    character_version: str = ""
    extensions: dict[str, Any] = Field(default_factory=dict)
    nickname: str | None = None
    creator_notes_multilingual: dict[str, str] | None = None
    source: tuple[str, ...] | None = None
    group_only_greetings: tuple[str, ...] = Field(default=(), max_length=MAX_GREETINGS)
    creation_date: int | float | None = None
    modification_date: int | float | None = None
    assets: tuple[Asset, ...] | None = None
    extra: dict[str, Any] = Field(default_factory=dict)
    top_extra: dict[str, Any] = Field(default_factory=dict)

    @property
    def greeting(self) -> str:
        """The card's first message (V2 `first_mes`)."""
        return self.first_mes


class ImportedCard(BaseModel):
    """A parsed card file: the card, its avatar (bytes and MIME type) and where it came from."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    card: Card
    avatar: bytes | None = None
    avatar_mime: str | None = None
    source_format: SourceFormat
    spec: Spec
    spec_version: str = ""
