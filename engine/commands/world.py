"""The story's world: /place create, list; /scene open, close; /time skip; /weather set."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

from pydantic import Field

from engine import queries
from engine.commands.base import (
    CharacterName,
    Duration,
    InChat,
    InStory,
    Line,
    Name,
    Narrated,
    NarratorTask,
    OptionalText,
    PlaceName,
)
from engine.commands.results import chat_of, found, payload_of, scene_of
from engine.events import CardText, Recorded
from engine.storage.port import Conn
from engine.storytime import format_clock, format_duration
from engine.table import action
from engine.views import ChatView, PlaceView, SceneView

SCENE_TASK = ("You are the narrator of a roleplay story. Summarise the scene below in two or three sentences, past "
              "tense, third person: who was there, what happened, what changed. Write only the summary.")
SKIP_TASK = ("You are the narrator of a roleplay story. In one sentence, past tense, say what happened during the "
             "{duration} that pass after the lines below{place}. Write only that sentence.")


def _place(conn: Conn, cmd: Any, recorded: list[Recorded[Any]]) -> PlaceView:
    return found(queries.find_place_by_id(conn, payload_of(recorded, "container_created").place_id), "place")


@action("place create", "Add a place to the story's world", public=True, result=_place,
        told=lambda cmd, place: f"🗺️ **{place.name}**{f' in **{cmd.parent}**' if cmd.parent else ''} is now part of "
                                "the world.")
class CreatePlace(InChat[PlaceView]):
    """Add a place to the story's world (inside another place, when given)."""

    name: Name = Field(description="The place's name")
    description: OptionalText = Field(default="", description="What it is like")
    parent: PlaceName | None = Field(default=None, description="The place it is in")


def _places(conn: Conn, q: ListPlaces) -> list[PlaceView]:
    return queries.list_places(conn, queries.get_open_chat(conn, q.channel_id).chat_id)


def _place_lines(q: ListPlaces, places: list[PlaceView]) -> str:
    lines = [f"**{p.name}**" + (f" — {p.description[:80]}" if p.description else "") for p in places]
    return "\n".join(lines) or "No places yet. Add one with /place create."


@action("place list", "List the story's places", answer=_places, told=_place_lines, title="Places")
class ListPlaces(InStory[list[PlaceView]]):
    """The story's places by name."""


def _scene_line(cmd: OpenScene | CloseScene, scene: SceneView) -> str:
    title = f" “{scene.title}”" if scene.title else ""
    if isinstance(cmd, OpenScene):
        return f"🎬 Scene{title} opens at **{cmd.place}**."
    summary = f"\n> {scene.summary[:1500]}" if scene.summary else ""
    return f"🎬 Scene{title} closes.{summary}"


@action("scene open", "Open a scene at a place (created if new)", public=True, result=scene_of("scene_opened"),
        told=_scene_line)
class OpenScene(InChat[SceneView]):
    """Open a scene at a place (created if new) with the story's characters present."""

    place: PlaceName = Field(description="Where the scene happens")
    title: Name | None = Field(default=None, description="A title for the scene")
    absent: CharacterName | None = Field(default=None,
                                         description="A character of the story who is not in this scene")


@action("scene enter", "Bring a cast member into the open scene", public=True, result=scene_of("scene_entered"),
        told=lambda cmd, scene: f"🚪 **{cmd.character}** comes into {scene.title}.")
class EnterScene(InChat[SceneView]):
    """A cast member comes into the open scene; from now on it witnesses what is said."""

    character: CharacterName = Field(description="Who comes in")


@action("scene leave", "A cast member leaves the open scene (it won't know what is said while away)", public=True,
        result=scene_of("scene_left"), told=lambda cmd, scene: f"🚶 **{cmd.character}** leaves {scene.title}.")
class LeaveScene(InChat[SceneView]):
    """A cast member leaves the open scene: it does not speak, and its prompts hold nothing said while it is away."""

    character: CharacterName = Field(description="Who leaves")


def _summary_task(cmd: CloseScene, chat: ChatView, conn: Conn) -> NarratorTask | None:
    """The open scene's lines, to be summarised."""
    if chat.active_scene_id is None:
        return None
    lines = queries.list_scene_messages(conn, chat.chat_id, chat.active_scene_id)
    return NarratorTask(SCENE_TASK, tuple(lines), 8_000)


@action("scene close", "Close the open scene; the narrator writes its summary", public=True,
        result=scene_of("scene_closed"), told=_scene_line)
class CloseScene(InChat[SceneView]):
    """Close the open scene; its summary (written by the narrator when not given) becomes a memory of those present.
    Anything written to the story meanwhile makes it a conflict: nothing is recorded, and the person is told."""

    redecide_on_conflict: ClassVar[bool] = False  # the summary was written for the scene as it was
    summary: Annotated[CardText | None, Narrated(_summary_task)] = Field(
        default=None, max_length=6_000, description="What happened in the scene (else the narrator writes it)")


def _skip_task(cmd: SkipTime, chat: ChatView, conn: Conn) -> NarratorTask:
    """The newest lines, and what the skipped time is."""
    lines = queries.list_messages(conn, chat.chat_id, limit=30)
    place = queries.find_place_by_id(conn, chat.place_id) if chat.place_id else None
    instruction = SKIP_TASK.format(duration=format_duration(cmd.by), place=f" at {place.name}" if place else "")
    return NarratorTask(instruction, tuple(lines), 4_000)


@dataclass(frozen=True, slots=True)
class Skipped(ChatView):
    """A time skip's answer: the chat at its new time, with the line that says what happened meanwhile."""

    summary: str = ""


def _skipped(conn: Conn, cmd: Any, recorded: list[Recorded[Any]]) -> Skipped:
    chat = chat_of(conn, cmd, recorded)
    return Skipped(**{f: getattr(chat, f) for f in chat.__dataclass_fields__},
                   summary=payload_of(recorded, "time_skip_elision").summary)


def _skip_line(cmd: SkipTime, chat: Skipped) -> str:
    return f"⏳ Time passes… [{chat.summary}] It is now **{format_clock(chat.story_minute)}** ({chat.anchor})."


@action("time skip", "Move in-story time forward", public=True, result=_skipped, told=_skip_line)
class SkipTime(InChat[Skipped]):
    """Move in-story time forward; the narrator says in one line what happened meanwhile (or the person does)."""

    by: Duration = Field(description="How long: 3h, 2d, 1h30m, 45m")
    summary: Annotated[Line | None, Narrated(_skip_task)] = Field(
        default=None, description="What happened meanwhile (else the narrator says)")


@action("weather set", "Set the story's weather", public=True, result=chat_of,
        told=lambda cmd, chat: f"🌦️ The weather turns: **{chat.weather}**.")
class SetWeather(InChat[ChatView]):
    """Set the story's weather."""

    weather: Name = Field(description="Like: rain, clear, a thick fog")
