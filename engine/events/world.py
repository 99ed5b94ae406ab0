"""The story's world: places, scenes, in-story time and weather."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from engine.events.base import (
    MAX_CHARACTERS_PER_CHAT,
    CardText,
    ChatEvent,
    Id,
    MessageText,
    Minute,
    Name,
)


class PlaceCreated(ChatEvent):
    """A place in the story's world."""

    kind: ClassVar[str] = "container_created"
    place_id: Id
    name: Name
    description: CardText = ""
    parent_id: Id | None = None


class SceneOpened(ChatEvent):
    """A scene starts at a place with the characters present."""

    kind: ClassVar[str] = "scene_opened"
    scene_id: Id
    place_id: Id
    title: Name
    present: list[Id] = Field(max_length=MAX_CHARACTERS_PER_CHAT)


class SceneClosed(ChatEvent):
    """A scene ends, with a summary."""

    kind: ClassVar[str] = "scene_closed"
    scene_id: Id
    summary: CardText = ""


class SceneEntered(ChatEvent):
    """A cast member comes into the open scene: from now on it witnesses what is said."""

    kind: ClassVar[str] = "scene_entered"
    scene_id: Id
    character_id: Id


class SceneLeft(ChatEvent):
    """A cast member leaves the open scene: what is said while it is away is not in its prompts."""

    kind: ClassVar[str] = "scene_left"
    scene_id: Id
    character_id: Id


class TimeSkipped(ChatEvent):
    """In-story time jumps forward, with a summary of what was skipped."""

    kind: ClassVar[str] = "time_skip_elision"
    from_minute: Minute
    to_minute: Minute
    anchor: Name
    summary: MessageText

    @model_validator(mode="after")
    def _forward_only(self) -> TimeSkipped:
        if self.to_minute <= self.from_minute:
            raise ValueError("a time skip must move forward")
        return self


class WeatherSet(ChatEvent):
    """The chat's weather."""

    kind: ClassVar[str] = "weather_changed"
    weather: Name
