"""The story's pictures end to end: the data read from the engine, PNGs attached on Discord, files at the console."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from bot.console.app import Console
from bot.pictures import HEIGHT_PX, WIDTH_PX, timeline_labels
from bot.story_pictures import relationship_data, timeline_data
from engine import Actor, Engine
from engine.commands import (
    AdjustRelationship,
    AuthorCharacter,
    CloseScene,
    OpenScene,
    RewindChat,
    SayLine,
    SkipTime,
    StartChat,
    StartMeanwhile,
)
from tests.bot.conftest import Chronicle
from tests.fakes.discord import InteractionRecord

WHITE = (255, 255, 255)


def assert_picture(png: bytes) -> None:
    """A PNG that decodes, has the fixed size and is not blank."""
    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.format == "PNG" and image.size == (WIDTH_PX, HEIGHT_PX)
    colours = image.convert("RGB").getcolors(maxcolors=WIDTH_PX * HEIGHT_PX)
    assert colours is not None and len(colours) > 30
    assert sum(count for count, colour in colours if colour != WHITE) > 0.005 * WIDTH_PX * HEIGHT_PX


async def _eventful_story(engine: Engine, admin: Actor, channel: str = "chan-pics") -> str:
    """Aria and Bram at the Tavern from 09:00: a scene closed, 3h skipped, a market scene, a meanwhile, a rewind."""
    await engine.perform(AuthorCharacter(actor=admin, name="Aria", description="A wandering bard."))
    await engine.perform(AuthorCharacter(actor=admin, name="Bram", description="A quiet smith."))
    chat = await engine.perform(StartChat(actor=admin, channel_id=channel, character="Aria", guest="Bram", place="Tavern", time="09:00"))
    await engine.perform(SayLine(actor=admin, channel_id=channel, message_id="m-1", text="Shall we go to the market?"))
    await engine.perform(CloseScene(actor=admin, channel_id=channel, summary="They finished their ale."))
    await engine.perform(SkipTime(actor=admin, channel_id=channel, by="3h", summary="Three hours on the road."))
    await engine.perform(OpenScene(actor=admin, channel_id=channel, place="Market", title="Haggling"))
    await engine.perform(StartMeanwhile(actor=admin, channel_id=channel, character="Bram", premise="Bram follows a stranger.", place="Docks"))
    await engine.perform(SayLine(actor=admin, channel_id=channel, message_id="m-2", text="How much for the lute?"))
    await engine.perform(SayLine(actor=admin, channel_id=channel, message_id="m-3", text="Too much!"))
    await engine.perform(RewindChat(actor=admin, channel_id=channel, messages=1))
    await engine.perform(AdjustRelationship(actor=admin, channel_id=channel, character="Aria", target="Bram", affinity=40, trust=-10, note="owes him money"))
    return chat.chat_id


async def test_the_timeline_is_read_from_the_engine(engine: Engine, admin: Actor):
    chat_id = await _eventful_story(engine, admin)
    chat = await engine.reads.chat_by_id(chat_id)
    data = await timeline_data(engine, chat)
    assert data.title == "The story of Aria and Bram"
    assert data.now_minute == 12 * 60
    assert [(s.place, s.opened_minute, s.closed_minute) for s in data.scenes] == [("Tavern", 540, 540),
                                                                                 ("Market", 720, None)]
    assert data.scenes[1].title == "Haggling"
    assert [(k.from_minute, k.to_minute, k.summary) for k in data.skips] == [(540, 720, "Three hours on the road.")]
    assert [(m.minute, m.participants, m.premise) for m in data.meanwhiles] == [
        (720, ("Bram",), "Bram follows a stranger.")]
    assert [r.minute for r in data.rewinds] == [720] and data.rewinds[0].events_undone >= 1
    assert {"Tavern", "Market", "Three hours on the road.", "The story of Aria and Bram — timeline"} & set(timeline_labels(data))


async def test_a_skip_and_a_rewind_before_it_keep_their_own_minutes(engine: Engine, admin: Actor):
    """Two skips chain from the story's start; a rewind that undid the second sits where the story went on."""
    await engine.perform(AuthorCharacter(actor=admin, name="Aria", description="A wandering bard."))
    await engine.perform(StartChat(actor=admin, channel_id="chan-2", character="Aria", time="08:00"))
    await engine.perform(SkipTime(actor=admin, channel_id="chan-2", by="1h", summary="An hour."))
    await engine.perform(SayLine(actor=admin, channel_id="chan-2", message_id="m-1", text="Onwards."))
    await engine.perform(SkipTime(actor=admin, channel_id="chan-2", by="2h", summary="Two more."))
    await engine.perform(RewindChat(actor=admin, channel_id="chan-2", messages=1))
    await engine.perform(SkipTime(actor=admin, channel_id="chan-2", by="30m", summary="Half an hour."))
    chat = await engine.reads.get_chat("chan-2")
    data = await timeline_data(engine, chat)
    assert [(k.from_minute, k.to_minute) for k in data.skips] == [(480, 540), (540, 570)]
    assert [r.minute for r in data.rewinds] == [540]


async def test_the_relationship_map_gets_the_story_s_people(engine: Engine, admin: Actor):
    chat_id = await _eventful_story(engine, admin)
    graph = await relationship_data(engine, await engine.reads.chat_by_id(chat_id))
    assert [(n.name, n.kind) for n in graph.nodes] == [("Aria", "character"), ("Bram", "character")]
    assert [(e.affinity, e.trust, e.note) for e in graph.edges] == [(40, -10, "owes him money")]


def _attached(record: InteractionRecord, filename: str) -> bytes:
    """The bytes of the one file of that name the bot answered with."""
    messages = {m.id: m for m in [*record.followups, *([record.original] if record.original else [])]}.values()
    found = [data for m in messages for a in m.attachments if a["filename"] == filename
             for att_id, data in m.files.items() if att_id == a["id"]]
    assert len(found) == 1, [m.attachments for m in messages]
    return found[0]


async def test_discord_attaches_the_map_and_the_timeline(chronicle: Chronicle):
    w = chronicle.fd.world
    await chronicle.start_story(guest=True)
    await chronicle.command(w.admin, "relationship adjust", {"character": "Aria", "target": "Bram", "affinity": 30,
                                                              "note": "old friends"})
    record = await chronicle.command(w.member, "relationship map")
    assert not record.ephemeral
    assert_picture(_attached(record, "relationships.png"))
    record = await chronicle.command(w.member, "chat timeline")
    assert_picture(_attached(record, "timeline.png"))


async def test_the_console_writes_the_pictures_to_files(tmp_path: Path, engine: Engine):
    out = io.StringIO()
    console = Console(engine, out=out)
    script = ['/character create name:Aria description:"A bard."', "/chat start character:Aria place:Tavern",
              f'/relationship map out:"{tmp_path}"', f'/chat timeline out:"{tmp_path}"']
    for line in script:
        await console.handle(line)
    written = [line.rsplit(" ", 1)[1] for line in out.getvalue().splitlines() if line.startswith("Wrote the")]
    assert [Path(p).name.split("-", 1)[1] for p in written] == ["relationships.png", "timeline.png"]
    for path in written:
        assert_picture(Path(path).read_bytes())
