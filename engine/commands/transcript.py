"""The transcript: people's lines (said in the channel), characters' replies, edits and deletions, and /reply
regenerate, continue and greeting.

A person's line is not typed as a command: the frontend hands every in-character message to `AnswerLine` (record
it and let the addressed characters answer) or `SayLine` (record it only). Edits and deletions of messages arrive
the same way.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from engine import queries
from engine.commands.base import GreetingNumber, InChat, Line
from engine.commands.results import message_of
from engine.errors import NotFound
from engine.events import Id, Recorded, ReplyText, Turn
from engine.storage.port import Conn
from engine.table import INTERNAL, NOWHERE, action
from engine.views import MessageView, RespondResult

DiscordIds = Annotated[list[Id], Field(max_length=10)]


def _said(conn: Conn, cmd: Any, recorded: list[Recorded[Any]]) -> MessageView:
    """The person's line in the story the command was addressed to (a repeat delivery finds it again, unless it
    was removed or belongs to a story that has ended since)."""
    line = queries.find_message_by_id(conn, cmd.chat_id, cmd.message_id)
    if line is None or line.retracted:
        raise NotFound("That message is no longer part of this story.")
    return line


@action("line say", "A person's in-character line, recorded", frontends=NOWHERE, result=_said)
class SayLine(InChat[MessageView]):
    """A person's in-character line (without a reply); the message id makes delivery idempotent."""

    message_id: Id
    text: Line


@action("line answer", "A person's in-character line, recorded and answered", frontends=NOWHERE)
class AnswerLine(SayLine, InChat[RespondResult]):  # recorded as a SayLine, answered as more
    """A person's line (decided as a SayLine), then the reply of whoever it addresses. A repeat of a line that is
    still unanswered is answered; a repeat of an answered or removed line does nothing. `reply_to` is the message
    the line replies to (a Discord reply), which names its character first."""

    reply_to: Id | None = None


@action("reply record", "A character's reply written elsewhere", frontends=NOWHERE,
        result=message_of("bot_replied"))
class RecordReply(InChat[MessageView]):
    """A character's finished reply: to `in_reply_to`, else to the newest person line (the story's opening line,
    `opening`, answers nobody)."""

    character_id: Id
    text: ReplyText
    in_reply_to: Id | None = None
    opening: bool = False
    discord_message_ids: DiscordIds = Field(default_factory=list)
    turn: Turn | None = None  # why this character speaks (decided, with any random draw, before recording)


def _line_now(conn: Conn, cmd: Any, recorded: list[Recorded[Any]]) -> MessageView | None:
    """The line the command names, as it is now (also when nothing was recorded: an edit that changed nothing)."""
    return queries.find_message(conn, cmd.chat_id, cmd.message_id)


@action("message edit", "A person edited a story message", frontends=NOWHERE, result=_line_now)
class EditMessage(InChat[MessageView | None]):
    """A person edited their line (no event when the text is unchanged)."""

    message_id: Id
    text: Line


@action("message retract", "A story line leaves the story", frontends=NOWHERE,
        result=message_of("message_retracted"))
class RetractMessage(InChat[MessageView]):
    """A line leaves the story (its author's own, or anyone's for an admin)."""

    message_id: Id


@action("message deleted", "A story message was deleted where it was posted", frontends=NOWHERE, result=_line_now)
class RetractDeletedMessage(InChat[MessageView | None]):
    """A message deleted on the platform (the platform already let the person do it): the line it was, if it is
    still in the story, leaves it; anything else records nothing."""

    message_id: Id


@action("reply revise", "Replace or extend the latest reply with text written elsewhere", frontends=NOWHERE,
        result=message_of("reply_regenerated"))
class ReviseReply(InChat[MessageView]):
    """Replace (regenerate) or extend (continue) the latest character reply, as it was when the person asked: with
    `reply_id` and `revision` (a button on that reply) only that version of that reply is changed."""

    mode: Literal["regenerate", "continue"] = "regenerate"
    text: ReplyText
    reply_id: Id | None = None
    revision: int | None = Field(default=None, ge=0, le=2**62)
    discord_message_ids: DiscordIds = Field(default_factory=list)


class _Rewrite(ReviseReply):
    """A reply the narrator writes again: the text is generated in the channel's turn, then decided."""

    mode: Annotated[Literal["regenerate", "continue"], INTERNAL] = "regenerate"
    text: Annotated[ReplyText, INTERNAL] = "…"
    reply_id: Annotated[Id | None, INTERNAL] = None
    revision: Annotated[int | None, INTERNAL] = None
    discord_message_ids: Annotated[list[Id], INTERNAL] = Field(default_factory=list)


@action("reply regenerate", "Rewrite the latest character reply", public=True, result=message_of("reply_regenerated"))
class RegenerateReply(_Rewrite):
    """Replace the latest reply with a new generation (the old one stays in the log)."""

    written: ClassVar[str] = "regenerate"


@action("reply continue", "Let the character keep talking", public=True, result=message_of("reply_regenerated"))
class ContinueReply(_Rewrite):
    """Extend the latest reply."""

    written: ClassVar[str] = "continue"
    mode: Annotated[Literal["regenerate", "continue"], INTERNAL] = "continue"


@action("reply greeting", "Open the story with another of the host's greetings", public=True,
        result=message_of("reply_regenerated"))
class SwipeGreeting(InChat[MessageView]):
    """Show greeting `number` of the host instead of the opening line, while nobody has spoken yet."""

    number: GreetingNumber = Field(description="Which greeting (1 = the card's first message)")
    text: Annotated[ReplyText, INTERNAL] = "…"
    reply_id: Annotated[Id | None, INTERNAL] = None
    revision: Annotated[int | None, INTERNAL] = None
    discord_message_ids: Annotated[list[Id], INTERNAL] = Field(default_factory=list)
