"""Commands: one frozen model per user action, validated before anything is decided."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from engine import events
from engine.errors import InvalidInput
from engine.events import CARD_FIELD_MAX, CardText, Id, MessageText, ReplyText, Url
from engine.names import refuse_invisible
from engine.text import refuse_controls, refuse_controls_in_text

# Names, weather, personas and places may not hold control characters, and need a character people can see
# (engine/names.py: not only spaces, zero-width or combining characters); the log's own types stay as they were,
# so old events that hold such names still load. Longer texts may hold line breaks and tabs, nothing else.
Name = Annotated[events.Name, AfterValidator(refuse_controls), AfterValidator(refuse_invisible)]
PlainText = Annotated[CardText, AfterValidator(refuse_controls_in_text)]

Text500 = Annotated[str, StringConstraints(max_length=500)]
Premise = Annotated[str, StringConstraints(min_length=1, max_length=2_000, strip_whitespace=True)]
CardField = Literal["name", "description", "personality", "scenario", "greeting", "example_dialogue",
                    "system_prompt", "post_history_instructions", "avatar_url"]


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


class Command(BaseModel):
    """Base of every command."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: ClassVar[str]
    redecide_on_conflict: ClassVar[bool] = True  # a stale version: decide again against fresh state
    actor: Actor

    @model_validator(mode="before")
    @classmethod
    def _drop_nul(cls, data: Any) -> Any:
        """Text reaches the log without NUL characters (`without_nul`)."""
        return without_nul(data)


class InChannel(Command):
    """A command about a channel that has no story yet (starting one)."""

    channel_id: Id


class InChat(Command):
    """A story command: it names the chat it changes and the chat stream's version it was decided at."""

    chat_id: Id
    expected_version: int = Field(ge=0, le=2**62)

    @property
    def stream(self) -> str:
        """The chat's stream."""
        return f"chat:{self.chat_id}"


class AuthorCharacter(Command):
    """Create a character card."""

    name: ClassVar[str] = "author_character"
    character_name: Name
    description: Annotated[str, StringConstraints(min_length=1, max_length=CARD_FIELD_MAX)]
    personality: CardText = ""
    scenario: CardText = ""
    greeting: CardText = ""
    example_dialogue: CardText = ""
    system_prompt: CardText = ""
    post_history_instructions: CardText = ""
    avatar_url: Url | None = None


class EditCharacter(Command):
    """Change one field of a character card."""

    name: ClassVar[str] = "edit_character"
    character_name: Name
    field: CardField
    value: CardText


class RetireCharacter(Command):
    """Retire a character."""

    name: ClassVar[str] = "retire_character"
    character_name: Name


class SetPersona(Command):
    """Set the acting person's persona (for this guild, or everywhere)."""

    name: ClassVar[str] = "set_persona"
    persona_name: Name
    description: PlainText = ""
    avatar_url: Url | None = None
    everywhere: bool = False


class StartChat(InChannel):
    """Start a story in a channel."""

    name: ClassVar[str] = "start_chat"
    character: Name
    guest: Name | None = None
    start_minute: int = Field(8 * 60, ge=0, le=100_000 * 24 * 60)
    anchor: Name | None = None
    weather: Name = "clear"
    place: Name | None = None
    greeting: int | None = Field(None, ge=1, le=1_000)  # which of the host's greetings opens it (1 = the first)


class EndChat(InChat):
    """End the channel's story (with a reason when it was not a person's choice)."""

    name: ClassVar[str] = "end_chat"
    reason: Annotated[str, StringConstraints(max_length=200)] | None = None


class CreatePlace(InChat):
    """Add a place to the story's world."""

    name: ClassVar[str] = "create_place"
    place_name: Name
    description: PlainText = ""
    parent: Name | None = None


class OpenScene(InChat):
    """Open a scene at a place (created if new)."""

    name: ClassVar[str] = "open_scene"
    place: Name
    title: Name | None = None


class CloseScene(InChat):
    """Close the active scene with a summary."""

    name: ClassVar[str] = "close_scene"
    scene_id: Id
    summary: CardText = ""


class RecordMessage(InChat):
    """A person's in-character message."""

    name: ClassVar[str] = "record_message"
    message_id: Id
    text: MessageText


class RecordReply(InChat):
    """A character's reply, as generated."""

    name: ClassVar[str] = "record_reply"
    character_id: Id
    text: ReplyText
    in_reply_to: Id | None = None  # the person's line it answers (None: the story's opening line)
    discord_message_ids: list[Id] = Field(default_factory=list, max_length=10)


class EditMessage(InChat):
    """A person edited a story message."""

    name: ClassVar[str] = "edit_message"
    message_id: Id
    text: MessageText


class RetractMessage(InChat):
    """A story message was deleted."""

    name: ClassVar[str] = "retract_message"
    message_id: Id


class ReviseReply(InChat):
    """Replace (regenerate) or extend (continue) the latest character reply."""

    name: ClassVar[str] = "revise_reply"
    message_id: Id
    expected_revision: int = Field(ge=0, le=2**62)
    text: ReplyText
    mode: Literal["regenerate", "continue"] = "regenerate"
    discord_message_ids: list[Id] = Field(default_factory=list, max_length=10)


class WriteMemory(InChat):
    """Give a character a memory."""

    name: ClassVar[str] = "write_memory"
    text: MessageText
    character: Name | None = None
    importance: int = Field(5, ge=1, le=10)


class ForgetMemory(InChat):
    """Remove a memory."""

    name: ClassVar[str] = "forget_memory"
    memory_id: Id


class StartMeanwhile(InChat):
    """Start an off-screen scene."""

    name: ClassVar[str] = "start_meanwhile"
    characters: list[Name] = Field(min_length=1, max_length=2)
    place: Name | None = None
    premise: Premise
    digest: Annotated[str, StringConstraints(min_length=1, max_length=CARD_FIELD_MAX)] | None = None


class RecordMeanwhileDigest(InChat):
    """Record the digest of an off-screen scene (memories for its participants)."""

    name: ClassVar[str] = "record_meanwhile_digest"
    meanwhile_id: Id
    digest: Annotated[str, StringConstraints(min_length=1, max_length=CARD_FIELD_MAX)]


class AdjustRelationship(InChat):
    """Change how a character feels about another character or a persona."""

    name: ClassVar[str] = "adjust_relationship"
    character: Name
    target: Name
    affinity: int = Field(0, ge=-200, le=200)
    trust: int = Field(0, ge=-200, le=200)
    note: Text500 | None = None


class SkipTime(InChat):
    """Move in-story time forward."""

    name: ClassVar[str] = "skip_time"
    minutes: int = Field(gt=0, le=100 * 365 * 24 * 60)
    summary: MessageText | None = None


class SetWeather(InChat):
    """Set the weather."""

    name: ClassVar[str] = "set_weather"
    weather: Name


class RewindChat(InChat):
    """Rewind the channel's story to an event, or by a number of messages."""

    name: ClassVar[str] = "rewind_chat"
    redecide_on_conflict: ClassVar[bool] = False  # "N messages back" means something else a moment later
    to_seq: int | None = Field(None, ge=1, le=2**62)
    messages: int | None = Field(None, ge=1, le=10_000)


def build(cls: type[Command], **fields: Any) -> Command:
    """Validate a command, turning pydantic's error into one line a person can act on."""
    try:
        return cls(**fields)
    except ValidationError as exc:
        raise InvalidInput(describe_validation_error(exc)) from None


_FIELD_LABELS = {"character_name": "name", "persona_name": "name", "place_name": "name"}


def describe_validation_error(exc: ValidationError) -> str:
    """'name: must be at most 64 characters (got 20000)' for the first error."""
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"] if not isinstance(part, int)) or "input"
    where = _FIELD_LABELS.get(where, where).replace("_", " ")
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
    return f"{where}: {error['msg']}."
