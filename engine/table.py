"""The command table: every user action declared once, next to its model.

An action is a pydantic model registered with `@action("time skip", …)`: a Command (decided into events) or a Query
(answered from the world). Its entry says what people type, who may run it, whether it runs in its chat's queue,
which frontends offer it and what a person is told when it is done; its options are the model's own fields, with
their types, bounds, choices and help. The Discord slash commands, the console's parser, completion and help, and
the CLI's story subcommands are generated from this table, and a parity test proves they agree with it.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, Literal, TypeVar, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

Frontend = Literal["discord", "console", "cli"]
FRONTENDS: tuple[Frontend, ...] = ("discord", "console", "cli")
INTERACTIVE: frozenset[Frontend] = frozenset({"discord", "console"})
NOWHERE: frozenset[Frontend] = frozenset()  # a command the engine records for a frontend (a reply, an edit)
OptionKind = Literal["text", "int", "number", "bool", "choice", "file"]
OPTION_TEXT_MAX = 6_000  # the longest text any frontend takes in one option (Discord's limit)
ENVELOPE = frozenset({"actor", "channel_id", "chat_id", "expected_version"})  # filled by frontends and the engine
M = TypeVar("M", bound=type[BaseModel])


class Access(Enum):
    """Who may run an action: anyone in the server, or its admins (Manage Server or an admin role)."""

    MEMBER = "member"
    ADMIN = "admin"


@dataclass(frozen=True)
class Lookup:
    """Field metadata: the option names something people pick from a list (autocomplete on Discord, Tab in the
    console): a character, a place of the story, a lorebook, a memory."""

    what: Literal["character", "place", "book", "memory"]


@dataclass(frozen=True)
class Typed:
    """Field metadata: people type this option as text of at most `max_length` characters (a duration, a clock
    time, a comma-separated list, a message link) that the model turns into the field's value."""

    max_length: int


@dataclass(frozen=True)
class Internal:
    """Field metadata: decided by the engine (a narrated summary, the reply a line answers), never typed."""


INTERNAL = Internal()


@dataclass(frozen=True)
class Option:
    """One option of an action, the same on every frontend that offers the action."""

    name: str
    kind: OptionKind
    help: str
    required: bool
    default: Any = None
    low: int | float | None = None  # text: shortest length; numbers: smallest value
    high: int | float | None = None  # text: longest length; numbers: largest value
    choices: tuple[str, ...] = ()
    lookup: str | None = None


@dataclass(frozen=True)
class Action:
    """One user action's entry in the table."""

    path: str
    model: type[BaseModel]
    help: str
    access: Access
    frontends: frozenset[Frontend]
    public: bool  # what it tells is shown to the whole channel (else only to the person)
    told: Callable[[Any, Any], str] | None  # (request, result) → what the person is told, light markdown
    options: tuple[Option, ...]
    result: Callable[..., Any] | None = None  # commands: (conn, recorded events) → the view answered
    answer: Callable[..., Any] | None = None  # queries: (conn, query) → the view answered
    title: str | Callable[[Any], str] | None = None  # a listing's title, or (request) → it; Discord shows `told`
    card: bool = False  # Discord also shows the result's card (a character, a persona, a lore entry)
    cli: str | None = None  # the `chronicle` subcommand that does it from a shell, when there is one

    @property
    def queued(self) -> bool:
        """Whether it runs in its channel's story queue, behind the channel's earlier commands and replies."""
        return bool(getattr(self.model, "queued", False))

    @property
    def words(self) -> tuple[str, ...]:
        """The path's words: ('time', 'skip')."""
        return tuple(self.path.split())

    @property
    def admin(self) -> bool:
        """Whether only admins may run it."""
        return self.access is Access.ADMIN

    def title_for(self, request: Any) -> str | None:
        """The listing's title for this request (None: not a listing)."""
        return self.title(request) if callable(self.title) else self.title

    def option(self, name: str) -> Option | None:
        """The option called `name`, if the action has one."""
        return next((o for o in self.options if o.name == name), None)


TABLE: dict[str, Action] = {}


def action(path: str, help: str, *, admin: bool = False, frontends: frozenset[Frontend] = INTERACTIVE,
           public: bool = False, told: Callable[[Any, Any], str] | None = None,
           result: Callable[..., Any] | None = None, answer: Callable[..., Any] | None = None,
           title: str | Callable[[Any], str] | None = None, card: bool = False,
           cli: str | None = None) -> Callable[[M], M]:
    """Declare a model as the user action `path` ("time skip"), offered by `frontends`. A command names how its
    `result` is read back; a query how it is `answer`ed; `told` is what the person (or, `public`, the channel) is
    told; `cli` names the `chronicle` subcommand that offers it from a shell."""

    def register(model: M) -> M:
        if path in TABLE:
            raise RuntimeError(f"the action {path!r} is declared twice")
        offered: frozenset[Frontend] = frontends | {"cli"} if cli else frontends
        entry = Action(path, model, help, Access.ADMIN if admin else Access.MEMBER, offered, public, told,
                       options_of(model) if offered else (), result, answer, title, card, cli)
        TABLE[path] = entry
        ACTIONS[model] = entry
        return model

    return register


ACTIONS: dict[type[BaseModel], Action] = {}


def snake(name: str) -> str:
    """A class name as logs spell a command: `RecordReply` → `record_reply`."""
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))


def action_of(model: type[BaseModel]) -> Action | None:
    """The table entry of a model (None for commands no person types, like a character's recorded reply)."""
    for cls in model.__mro__:
        found = ACTIONS.get(cls)
        if found is not None:
            return found
    return None


def options_of(model: type[BaseModel]) -> tuple[Option, ...]:
    """The model's fields as options, required ones first (envelope and engine-decided fields left out)."""
    options = [_option(name, info) for name, info in model.model_fields.items()
               if name not in ENVELOPE and _meta(info, Internal) is None]
    return tuple(sorted(options, key=lambda o: not o.required))


def _meta(info: FieldInfo, kind: type[Any]) -> Any:
    for item in (*info.metadata, *_annotated_metadata(info.annotation)):
        if isinstance(item, kind):
            return item
    return None


def _annotated_metadata(annotation: Any) -> tuple[Any, ...]:
    found: list[Any] = []
    for arg in (annotation, *_union_args(annotation)):
        while get_origin(arg) is Annotated:
            for item in get_args(arg)[1:]:
                found += [item, *item.metadata] if isinstance(item, FieldInfo) else [item]
            arg = get_args(arg)[0]
    return tuple(found)


def _union_args(annotation: Any) -> tuple[Any, ...]:
    if get_origin(annotation) in (typing.Union, types.UnionType):
        return tuple(a for a in get_args(annotation) if a is not type(None))
    return ()


def _core(annotation: Any) -> Any:
    """The type under Optional and Annotated."""
    args = _union_args(annotation)
    if args:
        annotation = args[0]
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _bound(info: FieldInfo, name: str) -> Any:
    for item in (*info.metadata, *_annotated_metadata(info.annotation)):
        value = getattr(item, name, None)
        if value is not None:
            return value
    return None


def _option(name: str, info: FieldInfo) -> Option:
    if not info.description:
        raise RuntimeError(f"option {name!r} has no help: declare it with Field(description=…)")
    required = info.is_required()
    default = None if required else info.get_default(call_default_factory=True)
    typed, lookup, core = _meta(info, Typed), _meta(info, Lookup), _core(info.annotation)
    common: dict[str, Any] = {"name": name, "help": info.description, "required": required, "default": default,
                              "lookup": lookup.what if lookup else None}
    if typed is not None:
        return Option(kind="text", low=1, high=typed.max_length, **common)
    if get_origin(core) is Literal:
        return Option(kind="choice", choices=tuple(str(c) for c in get_args(core)), **common)
    if isinstance(core, type) and issubclass(core, Upload):
        return Option(kind="file", **common)
    if core is bool:
        return Option(kind="bool", **common)
    if core in (int, float):
        low, high = _bound(info, "ge"), _bound(info, "le")
        if low is None and (above := _bound(info, "gt")) is not None:
            low = above + 1 if core is int else above
        return Option(kind="int" if core is int else "number", low=low, high=high, **common)
    if core is str:
        high = _bound(info, "max_length")
        if high is None or high > OPTION_TEXT_MAX:
            raise RuntimeError(f"option {name!r}: at most {OPTION_TEXT_MAX} characters (every frontend takes that)")
        return Option(kind="text", low=_bound(info, "min_length") or 1, high=high, **common)
    raise RuntimeError(f"option {name!r}: no frontend type for {core!r}; mark it Typed(…) or Internal")


class Upload(BaseModel):
    """A file a person gives (a Discord attachment, a path in the console): its name and its bytes."""

    filename: str
    data: bytes
