"""A channel's story: /chat start, status, end, export, prompt, timeline; its cast (/chat cast add, remove, mute,
unmute, list: a story started with a host and a guest is a cast of two, and up to MAX_CHARACTERS_PER_CHAT may
join, all posting through the channel's one webhook); /admin rewind."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, Field, StringConstraints, model_validator

from engine import queries
from engine.commands.base import CharacterName, Clock, GreetingNumber, InChannel, InChat, InStory, Name
from engine.commands.results import chat_of, message_of
from engine.errors import InvalidInput
from engine.events import MAX_CHARACTERS_PER_CHAT, Id, Recorded, ReplyText, Turn
from engine.queries_cast import list_cast
from engine.storage.port import Conn
from engine.storytime import format_clock
from engine.table import INTERNAL, Typed, action
from engine.turns import TURN_RULES, Rule
from engine.views import CastView, ChatView, MessageView, RewindResult, TimelineView

_LINK = re.compile(r"^https?://(?:\w+\.)?discord(?:app)?\.com/channels/(\d+|@me)/(\d+)/(\d+)/?$")
_ID = re.compile(r"^[\w-]{1,80}$")


@action("chat start", "Start a story in this channel", public=True, result=chat_of,
        told=lambda cmd, chat: f"📖 The story begins: {chat.anchor}, {chat.weather}.")
class StartChat(InChannel[ChatView]):
    """Start a story in a channel; the host's greeting (number `greeting` of its choices, 1 = the card's first
    message) is posted and recorded as the story's first reply, a command of its own."""

    character: CharacterName = Field(description="Who hosts the story")
    guest: CharacterName | None = Field(default=None, description="A second character (optional)")
    time: Clock = Field(default=8 * 60, description="In-story start time: 14:00, 9pm, noon, Day 2 08:30")
    anchor: Name | None = Field(default=None, description="A label for when this is, like 'Day 1, noon'")
    weather: Name = Field(default="clear", description="The weather")
    place: Name | None = Field(default=None, description="Where the story starts")
    greeting: GreetingNumber | None = Field(
        default=None, description="Which of the host's greetings opens the story (1 = its first message)")


@action("chat end", "End the story in this channel", public=True, result=chat_of,
        told=lambda cmd, chat: "📕 The story has ended. /chat start begins a new one; /chat export still exports it.")
class EndChat(InChat[ChatView]):
    """End the channel's story (its starter or an admin); `reason` notes why when it was not a person's choice."""

    reason: Annotated[str | None, StringConstraints(max_length=200), INTERNAL] = None


def _status(conn: Conn, q: ChatStatus) -> tuple[ChatView, dict[str, str], str | None]:
    chat = queries.get_open_chat(conn, q.channel_id)
    names = {i: (c.name if (c := queries.find_character_by_id(conn, i)) else i) for i in chat.character_ids}
    place = queries.find_place_by_id(conn, chat.place_id) if chat.place_id else None
    return chat, names, place.name if place else None


def _status_line(q: ChatStatus, status: tuple[ChatView, dict[str, str], str | None]) -> str:
    chat, names, place = status
    where = f" · {place}" if place else ""
    turns = f" · turns: {chat.turn_rule}" if len(chat.character_ids) > 2 or chat.turn_rule != "host" else ""
    scene = " · a scene is open" if chat.active_scene_id else ""
    cast = ", ".join(names[i] + (" (muted)" if i in chat.muted else "") for i in chat.character_ids)
    return f"{cast} · {format_clock(chat.story_minute)} ({chat.anchor}) · {chat.weather}{where}{scene}{turns}"


@action("chat status", "Show the story in this channel", answer=_status, told=_status_line)
class ChatStatus(InStory[tuple[ChatView, dict[str, str], str | None]]):
    """The channel's story: who is in it, when and where it is."""


@action("chat export", "Download this channel's story: transcript and event log", cli="export")
class ExportChat(InStory[Any]):
    """The channel's story (the open one, else its newest ended one; or the chat named by id) as Markdown and JSON
    Lines; admins get the whole log, members the live story."""

    chat_id: str = ""  # a chat named by id (from the command line), instead of the channel's


@action("chat prompt", "Show the prompt the model would get now (only you see it)")
class InspectPrompt(InStory[Any]):
    """The exact messages the next reply would be generated from, with each part's tokens."""

    character: CharacterName | None = Field(default=None, description="Whose prompt (default: the host)")
    line: Annotated[str, StringConstraints(min_length=1, max_length=4_000, strip_whitespace=True)] | None = Field(
        default=None, description="What the prompt would be if you said this now (nothing is recorded)")


def _timeline(conn: Conn, q: Timeline) -> TimelineView:
    return queries.story_timeline(conn, queries.get_open_chat(conn, q.channel_id))


@action("chat timeline", "A picture of the story along in-story time", public=True, answer=_timeline)
class Timeline(InStory[TimelineView]):
    """The story along in-story time: scenes at their places, time skips, meanwhile scenes, rewinds."""


def _cast_after(conn: Conn, cmd: Any, recorded: list[Recorded[Any]]) -> CastView:
    """The cast once the command's event is applied, naming the member it was about."""
    p = recorded[0].payload
    return list_cast(conn, p.chat_id, named=p.character_id)


def _count(cast: CastView) -> str:
    return f"{len(cast.members)} in the cast"


@action("chat cast add", f"Bring a character into this story's cast (up to {MAX_CHARACTERS_PER_CHAT})", public=True,
        result=_cast_after, told=lambda cmd, cast: f"🎭 **{cast.named}** joins the story ({_count(cast)}).")
class AddToCast(InChat[CastView]):
    """A character of this server joins the story's cast, after the members already in it."""

    character: CharacterName = Field(description="Who joins the story")


@action("chat cast remove", "Take a character out of this story's cast", public=True, result=_cast_after,
        told=lambda cmd, cast: f"🚪 **{cast.named}** leaves the story ({_count(cast)}).")
class RemoveFromCast(InChat[CastView]):
    """A member leaves the cast; what it said stays in the story."""

    character: CharacterName = Field(description="Who leaves the story")


@action("chat cast mute", "Stop a cast member speaking (it stays in the scene)", public=True, result=_cast_after,
        told=lambda cmd, cast: f"🔇 **{cast.named}** stays in the story but no longer speaks.")
class MuteCastMember(InChat[CastView]):
    """A member stops speaking; the others still see it in "who is here"."""

    character: CharacterName = Field(description="Who stops speaking")


@action("chat cast unmute", "Let a muted cast member speak again", public=True, result=_cast_after,
        told=lambda cmd, cast: f"🔊 **{cast.named}** may speak again.")
class UnmuteCastMember(InChat[CastView]):
    """A muted member may speak again."""

    character: CharacterName = Field(description="Who may speak again")


def _cast(conn: Conn, q: ListCast) -> CastView:
    return list_cast(conn, queries.get_open_chat(conn, q.channel_id).chat_id)


def _cast_lines(q: ListCast, cast: CastView) -> str:
    lines = [f"{n}. **{m.name}**" + (" (muted)" if m.muted else "") for n, m in enumerate(cast.members, 1)]
    return "\n".join(lines) or "Nobody is in the cast. Add someone with /chat cast add."


@action("chat cast list", "Who is in this story's cast", answer=_cast, told=_cast_lines, title="Cast")
class ListCast(InStory[CastView]):
    """The story's cast in the order it joined, the muted ones marked."""


@action("chat turns", "Choose how this story picks who speaks next", public=True, result=chat_of,
        told=lambda cmd, chat: f"🎲 Who speaks next: **{chat.turn_rule}**. {TURN_RULES[chat.turn_rule]}")
class SetTurnRule(InChat[ChatView]):
    """How the chat picks who answers a person's line that names nobody (a line naming cast members is answered by
    those named, whatever the rule)."""

    rule: Rule = Field(description="natural, list, pooled, mentioned, manual or director (see /help)")


@action("chat nudge", "Ask one cast member to speak now", public=True, result=message_of("bot_replied"))
class NudgeCharacter(InChat[MessageView]):
    """One speaking member of the cast says something now (the `manual` rule's way to move the story); the
    narrator writes `text` in the channel's turn, then it is decided and recorded as that member's reply."""

    character: CharacterName = Field(description="Who speaks")
    text: Annotated[ReplyText, INTERNAL] = "…"
    discord_message_ids: Annotated[list[Id], INTERNAL, Field(max_length=10)] = Field(default_factory=list)


@action("reply other", "Let someone else in the cast answer the line the latest reply answered", public=True,
        result=message_of("bot_replied"))
class SomeoneElse(InChat[MessageView]):
    """Another speaking member of the cast answers the line the latest reply answered: chosen by the chat's rule
    (one at random when the rule would pick nobody), never the one who just spoke; the latest reply stays. The
    narrator decides `character` and its `turn` and writes `text` in the channel's turn."""

    reply_id: Annotated[Id | None, INTERNAL] = None
    revision: Annotated[int | None, INTERNAL] = None
    character: Annotated[Name, INTERNAL] = "…"
    turn: Annotated[Turn | None, INTERNAL] = None
    text: Annotated[ReplyText, INTERNAL] = "…"
    discord_message_ids: Annotated[list[Id], INTERNAL, Field(max_length=10)] = Field(default_factory=list)


def message_ref(value: Any) -> Any:
    """A message link (right-click → Copy Message Link) or id → the message's id."""
    if not isinstance(value, str):
        return value
    cleaned = value.strip().strip("<>")
    link = _LINK.match(cleaned)
    if link is not None:
        return f"{link.group(2)}/{link.group(3)}"
    if _ID.match(cleaned):
        return cleaned
    raise InvalidInput("to: must be a message link (right-click a message → Copy Message Link) or its id.")


def _rewound(conn: Conn, cmd: Any, recorded: list[Recorded[Any]]) -> RewindResult:
    """What a rewind removed: the live lines after its target that are gone once it is applied."""
    event = recorded[0]
    removed = tuple(queries.list_removed_by_rewind(conn, event.seq))
    return RewindResult(event.payload.chat_id, event.payload.to_seq, event.seq, queries.events_undone(conn, event.seq),
                        removed)


def _rewind_line(cmd: RewindChat, result: RewindResult) -> str:
    count = len(result.removed_messages)
    return (f"⏪ Rewound the story to event {result.to_seq}: {count} message(s) left the story (the log keeps "
            "everything).")


@action("admin rewind", "Rewind this channel's story (the log keeps everything)", admin=True, public=True,
        cli="rewind", result=_rewound, told=_rewind_line)
class RewindChat(InChat[RewindResult]):
    """Rewind the channel's story by a number of messages, to a message (kept), or to an event."""

    redecide_on_conflict: ClassVar[bool] = False  # "N messages back" means something else a moment later
    messages: int | None = Field(default=None, ge=1, le=10_000, description="Undo this many of the newest messages")
    to: Annotated[str | None, BeforeValidator(message_ref), Typed(200)] = Field(
        default=None, description="Keep the story up to this message (a message link or id)")
    seq: int | None = Field(default=None, ge=1, le=2**53,
        description="Keep the story's events up to this one (see /admin log)")

    @model_validator(mode="after")
    def _one_point(self) -> RewindChat:
        given = sum(value is not None for value in (self.messages, self.to, self.seq))
        if given != 1:
            raise InvalidInput("Say how far to rewind: give either messages, to or seq (one of them).")
        if self.to is not None and "/" in self.to and self.to.split("/", 1)[0] != self.channel_id:
            raise InvalidInput("That message link points to another channel; rewind works on this channel's story.")
        return self

    @property
    def to_message(self) -> str | None:
        """The id of the message `to` names (a link's channel part left out)."""
        return None if self.to is None else self.to.rsplit("/", 1)[-1]
