"""The streaming sink: edits no more than once per interval, split pieces, typing, abort and restore."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from bot.discord.posting import Posted
from bot.discord.streaming import DiscordReplySink
from engine import CharacterView

ARIA = CharacterView("c1", "g", "Aria", "A bard.", "", "", "", "", "", "", None, "u", False)


@dataclass
class RecordingPoster:
    """Stands in for CharacterPoster: records what would be sent, edited and deleted."""

    calls: list[tuple[str, int, str, float]] = field(default_factory=list)
    next_id: int = 100

    async def send(self, channel: Any, character: CharacterView, text: str, view: Any = None) -> Posted:
        self.next_id += 1
        self.calls.append(("send", self.next_id, text, time.monotonic()))
        return Posted(self.next_id, channel, True)

    async def edit(self, posted: Posted, character: CharacterView, text: str, view: Any = None) -> Posted:
        self.calls.append(("edit", posted.message_id, text, time.monotonic()))
        return posted

    async def delete(self, posted: Posted) -> None:
        self.calls.append(("delete", posted.message_id, "", time.monotonic()))


class Channel:
    """A channel that counts typing triggers."""

    id = 7

    def __init__(self) -> None:
        self.typed = 0

    async def typing(self) -> None:
        self.typed += 1


class Bot:
    """The parts of ChronicleBot the sink uses."""

    stream_interval = 0.2

    def __init__(self) -> None:
        self.poster = RecordingPoster()
        self.latest: list[Posted] = []

    def reply_view(self) -> None:
        return None

    async def mark_latest_reply(self, channel_id: int, posted: Posted) -> None:
        self.latest.append(posted)


async def test_edits_are_throttled_to_the_interval() -> None:
    """Many updates within the interval produce one send and one edit per interval, then the final edit."""
    bot, channel = Bot(), Channel()
    sink = DiscordReplySink(bot, channel)  # type: ignore[arg-type]
    await sink.begin(ARIA)
    text = ""
    for word in ["Once", " upon", " a", " time", " there", " was", " a", " bard."]:
        text += word
        await sink.update(ARIA, text)
        await __import__("asyncio").sleep(0.06)
    ids = await sink.finish(ARIA, text)
    calls = bot.poster.calls
    assert calls[0][:3] == ("send", 101, "Once") and calls[-1][2] == text and ids == ["101"]
    streaming = [c for c in calls[:-1]]
    gaps = [b[3] - a[3] for a, b in zip(streaming, streaming[1:], strict=False)]
    assert all(gap >= 0.19 for gap in gaps) and len(calls) < 8
    assert channel.typed >= 1


async def test_long_text_streams_into_several_messages_and_abort_removes_them() -> None:
    """Text past 2,000 characters opens a second message; a failed reply deletes what was shown."""
    bot, channel = Bot(), Channel()
    sink = DiscordReplySink(bot, channel, interval=0)  # type: ignore[arg-type]
    await sink.begin(ARIA)
    await sink.update(ARIA, "Word. " * 300)
    await sink.update(ARIA, "Word. " * 500)
    sent = [c[1] for c in bot.poster.calls if c[0] == "send"]
    assert len(sent) == 2
    await sink.abort(ARIA, RuntimeError("model died"))
    assert [c[1] for c in bot.poster.calls if c[0] == "delete"] == sent


async def test_failed_revision_restores_the_old_text() -> None:
    """When regenerating fails, the existing message gets its old text back instead of being deleted."""
    bot, channel = Bot(), Channel()
    old = Posted(55, channel, True)  # type: ignore[arg-type]
    sink = DiscordReplySink(bot, channel, existing=[old], restore="Old words.", interval=0)  # type: ignore[arg-type]
    await sink.begin(ARIA)
    await sink.update(ARIA, "New wor")
    await sink.abort(ARIA, RuntimeError("model died"))
    assert [c[:3] for c in bot.poster.calls] == [("edit", 55, "New wor"), ("edit", 55, "Old words.")]
