"""The normalized lorebook (world info): a book, its entries, the limits imports are held to, and LoreError."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.lore.fields import TEXT_MAX, FieldProblem

MAX_LORE_BYTES = 10 * 1024 * 1024
MAX_LORE_ENTRIES = 1_000
LORE_TEXT_MAX = TEXT_MAX
BOOK_NAME_MAX = 100
NAME_LIMIT = 100  # a character name or id an entry is limited to, or a position name
KEY_MAX = 1_000
MAX_KEYS = 200
MAX_ENTRY_CHARACTERS = 50
DEFAULT_SCAN_DEPTH = 2
DEFAULT_INSERTION_ORDER = 100

SelectiveLogic = Literal["AND_ANY", "AND_ALL", "NOT_ANY", "NOT_ALL"]
# SillyTavern stores the secondary-key logic as a number.
ST_SELECTIVE_LOGIC: dict[int, SelectiveLogic] = {0: "AND_ANY", 1: "NOT_ALL", 2: "NOT_ANY", 3: "AND_ALL"}
Number = int | float


class LoreError(ValueError):
    """A lorebook file that cannot be imported; ``str()`` is one line saying what is wrong and what to do."""

    @classmethod
    def from_problem(cls, problem: FieldProblem) -> LoreError:
        """Word a field problem for the person importing the book."""
        return cls(f"Can't import the lorebook: {problem}. {problem.fix}")


class LoreEntry(BaseModel):
    """One lorebook entry: when it fires (keys, logic, timing) and what it adds to the prompt."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    id: int | str | None = None
    keys: tuple[str, ...] = ()
    secondary_keys: tuple[str, ...] = ()
    selective: bool = False
    selective_logic: SelectiveLogic = "AND_ANY"
    constant: bool = False
    enabled: bool = True
    insertion_order: Number = DEFAULT_INSERTION_ORDER
    priority: Number | None = None
    position: str | None = None
    content: str = ""
    name: str | None = None
    comment: str | None = None
    case_sensitive: bool | None = None
    match_whole_words: bool | None = None
    use_regex: bool = False
    probability: Number = Field(default=100, ge=0, le=100)
    use_probability: bool = False
    depth: int | None = None
    scan_depth: int | None = Field(default=None, ge=0)
    sticky: int = Field(default=0, ge=0)
    cooldown: int = Field(default=0, ge=0)
    delay: int = Field(default=0, ge=0)
    exclude_recursion: bool = False
    prevent_recursion: bool = False
    characters: tuple[str, ...] = ()
    extensions: dict[str, Any] = Field(default_factory=dict)
    extra: dict[str, Any] = Field(default_factory=dict)

    @property
    def label(self) -> str:
        """A short human label: the entry's comment or name, else its first key, else its id."""
        return self.comment or self.name or (self.keys[0] if self.keys else f"entry {self.id}")


class Lorebook(BaseModel):
    """A lorebook: book-wide scanning settings and its entries, with unknown fields kept for export."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str | None = None
    description: str | None = None
    scan_depth: int | None = Field(default=None, ge=0)
    token_budget: int | None = Field(default=None, ge=0)
    recursive_scanning: bool | None = None
    extensions: dict[str, Any] = Field(default_factory=dict)
    entries: tuple[LoreEntry, ...] = Field(default=(), max_length=MAX_LORE_ENTRIES)
    extra: dict[str, Any] = Field(default_factory=dict)
