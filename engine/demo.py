"""A generated story world for trying the CLI and for benchmarks, written through the public Engine API."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass

from engine.app import Engine
from engine.commands import (
    Actor,
    AdjustRelationship,
    AuthorCharacter,
    CloseScene,
    OpenScene,
    RecordReply,
    SayLine,
    SetPersona,
    SetWeather,
    SkipTime,
    StartChat,
    StartMeanwhile,
    WriteMemory,
)
from engine.events.memory import IMPORTANCE_MAX

CAST = [
    ("Aria", "A wandering bard with a silver lute and a habit of turning every rumour into a ballad."),
    ("Bram", "A broad-shouldered blacksmith who speaks little and notices everything."),
    ("Corin", "A young cartographer mapping the marshes, endlessly curious, often lost."),
    ("Dalia", "An innkeeper who hears every secret in the valley and keeps most of them."),
    ("Eshe", "A retired knight tending bees, weary of war but not of justice."),
    ("Fenn", "A fox-eared trickster who trades in favours and half-truths."),
]
PLACES = ["The Gilded Stag", "Market Square", "Old Mill", "Harbour Docks", "Lantern Library", "Whispering Woods"]
WEATHER = ["clear", "light rain", "fog", "snow", "thunderstorm", "overcast", "windy"]
LINES = [
    "Did you hear what happened at the {place} last night?",
    "I brought the map you asked for. The river bends where it shouldn't.",
    "Careful, {name}. Not everyone here is a friend.",
    "Let's sit by the fire and talk properly for once.",
    "Someone has been following us since the {place}.",
    "Tell me the story about the lantern again.",
    "I found a letter sealed with black wax in my pack.",
    "The bells rang three times at dawn. That never happens.",
]
REPLIES = [
    "{name} leans closer, lowering their voice. \"I heard, and I wish I hadn't.\"",
    "\"Show me,\" {name} says, tracing the ink with a calloused finger.",
    "{name} laughs softly. \"Friends are rarer than gold in this town.\"",
    "{name} pulls a chair to the hearth and waits for you to begin.",
    "{name} glances over a shoulder at the crowd by the {place}.",
    "\"Once, long ago,\" {name} begins, eyes bright in the candlelight...",
]


@dataclass(frozen=True)
class DemoStats:
    """What demo-data wrote."""

    chats: int
    messages: int
    events: int


async def fill(engine: Engine, *, chats: int, messages: int, seed: int = 7,
               progress: Callable[[int, int], None] | None = None, concurrency: int = 8) -> DemoStats:
    """Write `chats` stories of about `messages` lines each, with scenes, memories, skips and relationships.

    Up to `concurrency` stories are written at once (each from its own seeded random source, so a
    story's content does not depend on the interleaving); their commands queue on the one writer.
    """
    guild = f"demo-guild-{seed}"
    admin = Actor(user_id="demo-admin", guild_id=guild, display_name="Demo Admin", is_admin=True)
    existing = {c.name for c in await engine.reads.list_characters(guild)}
    for name, description in CAST:
        if name not in existing:
            await engine.perform(AuthorCharacter(actor=admin, name=name, description=description,
                                                 greeting=f"{name} nods in greeting.", personality="warm, observant",
                                                 scenario="A valley town on the edge of a marsh."))
    names = {c.character_id: c.name for c in await engine.reads.list_characters(guild)}
    people = [Actor(user_id=f"demo-user-{i}", guild_id=guild, display_name=f"Player {i}") for i in range(4)]
    for person, persona in zip(people, ["Wren", "Tamsin", "Oskar", "Ilse"], strict=True):
        await engine.perform(SetPersona(actor=person, name=persona,
                                        description=f"{persona}, a traveller new to the valley."))
    start = len(await engine.reads.list_chats(guild))
    pending = iter(range(chats))
    done: list[int] = []

    async def worker() -> None:
        for index in pending:
            channel = f"demo-channel-{seed}-{start + index}"
            done.append(await _story(engine, random.Random(f"{seed}:{start + index}"), admin, people, names, channel,
                                     messages))
            if progress:
                progress(len(done), chats)

    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, chats)))))
    events = (await engine.reads.recent_events(limit=1))[0].seq
    return DemoStats(chats, sum(done), events)


async def _story(engine: Engine, rng: random.Random, admin: Actor, people: list[Actor], names: dict[str, str],
                 channel: str, messages: int) -> int:
    host, guest = rng.sample([name for name, _ in CAST], 2)
    chat = await engine.perform(StartChat(actor=admin, channel_id=channel, character=host, guest=guest,
                                          place=rng.choice(PLACES), weather=rng.choice(WEATHER)))
    said = 0
    while said < messages:
        person = rng.choice(people)
        place = rng.choice(PLACES)
        await engine.perform(SayLine(actor=person, channel_id=channel, message_id=f"{channel}-m{said}",
                                     text=rng.choice(LINES).format(place=place, name=host)))
        said += 1
        if said < messages:
            speaker = rng.choice(chat.character_ids)
            await engine.perform(RecordReply(actor=admin, channel_id=channel, character_id=speaker,
                                             text=rng.choice(REPLIES).format(name=names[speaker], place=place)))
            said += 1
        await _world_beat(engine, rng, admin, person, channel, host, guest, said)
    return said


async def _world_beat(engine: Engine, rng: random.Random, admin: Actor, person: Actor, channel: str, host: str,
                      guest: str, said: int) -> None:
    """Now and then: a memory, a relationship shift, weather, a scene change, a skip, a meanwhile."""
    roll = rng.random()
    if roll < 0.08:
        await engine.perform(WriteMemory(actor=person, channel_id=channel, importance=rng.randint(1, IMPORTANCE_MAX),
                                         text=f"{host} promised to meet at the {rng.choice(PLACES)}."))
    elif roll < 0.12:
        affinity = rng.choice((-1, 1)) * rng.randint(1, 10)  # never a no-op change
        await engine.perform(AdjustRelationship(actor=admin, channel_id=channel, character=host, target=guest,
                                                affinity=affinity, trust=rng.randint(-10, 10)))
    elif roll < 0.14:
        await engine.perform(SetWeather(actor=admin, channel_id=channel, weather=rng.choice(WEATHER)))
    elif roll < 0.16:
        chat = await engine.reads.get_chat(channel)
        if chat.active_scene_id:
            await engine.perform(CloseScene(actor=admin, channel_id=channel,
                                            summary=f"The talk at the scene ended after {said} lines."))
        await engine.perform(OpenScene(actor=admin, channel_id=channel, place=rng.choice(PLACES)))
    elif roll < 0.17:
        await engine.perform(SkipTime(actor=admin, channel_id=channel, by=rng.randint(1, 12) * 60))
    elif roll < 0.175:
        await engine.perform(StartMeanwhile(
            actor=admin, channel_id=channel, character=guest, premise=f"{guest} follows a stranger.",
            place=rng.choice(PLACES), digest=f"{guest} lost the stranger near the docks but found a black-wax seal."))
