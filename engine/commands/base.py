"""What every user action's model shares: who acts, the base models, the types of the options people type, and
turning a validation error into one line a person can act on.

A model's fields are its action's options (engine/table.py derives them): their types, bounds, choices and help
are declared here once, and every frontend offers exactly those.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from engine import events
from engine.errors import InvalidInput
from engine.events import CARD_FIELD_MAX, Id
from engine.names import refuse_invisible
from engine.storytime import MAX_SKIP_MINUTES, parse_clock, parse_duration
from engine.table import OPTION_TEXT_MAX, Lookup, Typed
from engine.text import refuse_controls, refuse_controls_in_text

if TYPE_CHECKING:
    from engine.storage.port import Conn
    from engine.views import ChatView, MessageView

R = TypeVar("R")
Q = TypeVar("Q", bound="Request[Any]")

# Names, weather, personas and places may not hold control characters, and need a character people can see
# (engine/names.py: not only spaces, zero-width or combining characters); the log's own types stay as they were,
# so old events that hold such names still load. Longer texts may hold line breaks and tabs, nothing else.
Name = Annotated[events.Name, AfterValidator(refuse_controls), AfterValidator(refuse_invisible)]
CharacterName = Annotated[Name, Lookup("character")]
PlaceName = Annotated[Name, Lookup("place")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=OPTION_TEXT_MAX),
                 AfterValidator(refuse_controls_in_text)]
OptionalText = Annotated[str, StringConstraints(max_length=OPTION_TEXT_MAX), AfterValidator(refuse_controls_in_text)]
Line = Annotated[str, StringConstraints(min_length=1, max_length=events.MESSAGE_MAX)]
Url = events.Url
CARD_TEXT_MAX = min(CARD_FIELD_MAX, OPTION_TEXT_MAX)


def _minutes(value: Any) -> Any:
    return parse_duration(value) if isinstance(value, str) else value


def _clock(value: Any) -> Any:
    return parse_clock(value) if isinstance(value, str) else value


# A duration people type ('3h', '2d', '1h30m'), kept as minutes; a clock time ('14:00', 'noon', 'Day 2 09:00').
Duration = Annotated[int, BeforeValidator(_minutes), Typed(20), Field(gt=0, le=MAX_SKIP_MINUTES)]
GreetingNumber = Annotated[int, Field(ge=1, le=1_000)]  # which of a card's greetings (1 = its first message)
Clock = Annotated[int, BeforeValidator(_clock), Typed(40), Field(ge=0, le=100_000 * 24 * 60)]


def split_commas(value: Any) -> Any:
    """'a, b,c' → ('a', 'b', 'c') (empty parts dropped); a list or tuple is kept."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


def without_nul(value: Any) -> Any:
    """`value` with every NUL character taken out of its strings (in lists and dicts too).

    A NUL is invisible and no story needs one, and PostgreSQL's text cannot hold it: left in, the
    same command would be recorded on SQLite and fail to project on PostgreSQL.
    """
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, list | tuple):
        return type(value)(without_nul(item) for item in value)
    if isinstance(value, dict):
        return {key: without_nul(item) for key, item in value.items()}
    return value


class Actor(BaseModel):
    """Who acts, in which guild, and whether the frontend vouches they are an admin."""

    model_config = ConfigDict(frozen=True)
    user_id: Id
    guild_id: Id
    display_name: Annotated[str, StringConstraints(max_length=100)] = ""
    is_admin: bool = False

    @model_validator(mode="before")
    @classmethod
    def _drop_nul(cls, data: Any) -> Any:
        return without_nul(data)


class Request(BaseModel, Generic[R]):
    """A user action's model: who asks, and the action's options as fields. `R` is what it answers with."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    queued: ClassVar[bool] = False  # runs in its channel's story queue
    actor: Actor

    def __init__(self, **values: Any) -> None:
        """Validate the options; what is wrong with them is one InvalidInput line a person can act on."""
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise InvalidInput(describe_validation_error(exc)) from None

    @model_validator(mode="before")
    @classmethod
    def _drop_nul(cls, data: Any) -> Any:
        """Text reaches the log without NUL characters (`without_nul`)."""
        return without_nul(data)


class Command(Request[R], Generic[R]):
    """An action that changes the story: decided into events (engine/deciders/), appended and projected."""

    redecide_on_conflict: ClassVar[bool] = True  # a stale version: decide again against fresh state


class InChannel(Command[R], Generic[R]):
    """A command about a channel that has no story yet (starting one)."""

    queued: ClassVar[bool] = True
    channel_id: Id


class InChat(Command[R], Generic[R]):
    """A story command: it runs in its channel's queue, where the engine resolves the channel to its open chat and
    the chat stream's version (`chat_id`, `expected_version`): what the command is decided against."""

    queued: ClassVar[bool] = True
    channel_id: Id
    chat_id: Id = ""
    expected_version: int = Field(default=-1, ge=-1, le=2**62)

    @property
    def stream(self) -> str:
        """The chat's stream."""
        return f"chat:{self.chat_id}"

    @property
    def in_story(self) -> bool:
        """Whether it changes the channel's story (else it only runs in the channel's turn: a book attached to a
        character from a channel, say)."""
        return True


class Query(Request[R], Generic[R]):
    """An action that records no event: a read of the world (or, for an admin, the world rebuilt from the log)."""


class InStory(Query[R], Generic[R]):
    """A read of the channel's story."""

    channel_id: Id


@dataclass(frozen=True)
class NarratorTask:
    """What the narrator is asked to write for a command: the instruction, and the story lines it is about."""

    instruction: str
    lines: tuple[MessageView, ...] = ()
    limit: int = CARD_FIELD_MAX


@dataclass(frozen=True)
class Narrated:
    """Field metadata: when the person leaves this field out, the narrator writes it (never on replay: the text is
    decided before the command and stored in its events). `task` reads what the text is about."""

    task: Callable[[Any, ChatView, Conn], NarratorTask | None]
    required: bool = False  # without a model the command can't be done (else the decider's default is used)


def plain_name(what: str, text: str, *, visible: bool = False) -> None:
    """Refuse control characters (and, for a `visible` name, one with nothing to see) in a name that came in a file,
    saying whose name it is."""
    try:
        refuse_controls(text)
        if visible:
            refuse_invisible(text)
    except ValueError as error:
        raise ValueError(f"the {what} {error}") from None


def filled(request: Q, **values: Any) -> Q:
    """The request with fields the engine decided (a parsed file, a narrated text), validated like the rest."""
    try:
        return type(request).model_validate({**dict(request), **values})
    except ValidationError as exc:
        raise InvalidInput(describe_validation_error(exc)) from None


def parse(model: type[Request[R]], **values: Any) -> Request[R]:
    """Validate a request, turning pydantic's error into one line a person can act on."""
    try:
        return model(**values)
    except ValidationError as exc:
        raise InvalidInput(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError) -> str:
    """'name: at most 64 characters (got 20000).' for the first error."""
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"] if not isinstance(part, int)) or "input"
    where = where.replace("_", " ")
    value = error.get("input")
    ctx = error.get("ctx") or {}
    kind = error["type"]
    if kind == "string_too_long":
        return f"{where}: at most {ctx.get('max_length')} characters (got {len(value)})."
    if kind == "string_too_short":
        return f"{where}: must not be empty." if ctx.get("min_length") == 1 else f"{where}: too short."
    if kind == "string_pattern_mismatch":
        return f"{where}: must be an http(s) link."
    if kind == "literal_error":
        return f"{where}: must be one of {ctx.get('expected')}."
    if kind == "value_error":
        return f"{where}: {ctx.get('error')}."
    if kind in ("less_than_equal", "greater_than_equal", "greater_than", "less_than"):
        return f"{where}: {error['msg'].lower()} (got {str(value)[:24]})."
    if kind == "missing":
        return f"{where}: required; give {where.split()[-1]}:…"
    return f"{where}: {error['msg']}."
