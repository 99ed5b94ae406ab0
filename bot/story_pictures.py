"""The story's pictures for Discord and the console: the data each renderer gets (from engine reads) and the
rendering itself, off the event loop (matplotlib works in a worker thread, a second or so for a big story)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from bot.files import write_file
from bot.pictures import (
    RelationshipGraph,
    Timeline,
    TimelineMeanwhile,
    TimelineRewind,
    TimelineScene,
    TimelineSkip,
    graph_from_relationships,
    relationship_map,
    story_timeline,
)
from engine import ChatView, Engine, TimelineView

D = TypeVar("D")
RELATIONSHIPS_FILE = "relationships.png"
TIMELINE_FILE = "timeline.png"


async def story_title(engine: Engine, chat: ChatView) -> str:
    """'The story of Hollis and Aria' (its characters, host first)."""
    names = [c.name for c in [await engine.reads.character_by_id(i) for i in chat.character_ids] if c is not None]
    return f"The story of {' and '.join(names) or 'this channel'}"


async def relationship_data(engine: Engine, chat: ChatView) -> RelationshipGraph:
    """The graph the relationship map draws: the story's characters and personas, one edge per relationship."""
    return graph_from_relationships(await story_title(engine, chat), await engine.reads.relationships(chat.chat_id))


def timeline_from_view(title: str, view: TimelineView) -> Timeline:
    """The renderer's timeline from the engine's."""
    return Timeline(
        title=title, now_minute=view.now_minute,
        scenes=tuple(TimelineScene(title or place, place, opened, closed)
                     for title, place, opened, closed in view.scenes),
        skips=tuple(TimelineSkip(start, end, summary) for start, end, summary in view.skips),
        meanwhiles=tuple(TimelineMeanwhile(minute, names, premise) for minute, names, premise in view.meanwhiles),
        rewinds=tuple(TimelineRewind(minute, undone) for minute, undone in view.rewinds))


async def timeline_data(engine: Engine, chat: ChatView) -> Timeline:
    """The timeline the picture draws, read from the engine."""
    return timeline_from_view(await story_title(engine, chat), await engine.reads.timeline(chat.chat_id))


async def render(draw: Callable[[D], bytes], data: D) -> bytes:
    """PNG bytes, drawn in a worker thread so the event loop (Discord's heartbeat, other channels) goes on."""
    return await asyncio.to_thread(draw, data)


async def relationship_png(engine: Engine, chat: ChatView) -> bytes:
    """The relationship map of a chat, as PNG."""
    return await render(relationship_map, await relationship_data(engine, chat))


async def timeline_png(engine: Engine, chat: ChatView) -> bytes:
    """The timeline of a chat, as PNG."""
    return await render(story_timeline, await timeline_data(engine, chat))


async def timeline_picture(engine: Engine, view: TimelineView) -> tuple[ChatView, bytes]:
    """The timeline the engine answered /chat timeline with, drawn as PNG (with its chat, to name the file)."""
    chat = await engine.reads.chat_by_id(view.chat_id)
    return chat, await render(story_timeline, timeline_from_view(await story_title(engine, chat), view))


def write_png(folder: Path, chat: ChatView, name: str, png: bytes) -> Path:
    """Write a picture as `<folder>/<chat id>-<name>` and return the path; a place that can't be written is
    one InvalidInput line naming it."""
    return write_file(folder / f"{chat.chat_id}-{name}", png)
