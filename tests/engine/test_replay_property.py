"""Property: for random command sequences, incremental projection equals a rebuild from empty, row for row,
on SQLite and on PostgreSQL (each example on a database of its own)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ContextManager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import Actor, DomainError, Engine
from engine.commands import (
    AddLoreEntry,
    AdjustRelationship,
    AttachLorebook,
    AuthorCharacter,
    CloseScene,
    CreatePlace,
    DetachLorebook,
    EditMessage,
    EndChat,
    ForgetMemory,
    ImportCharacter,
    OpenScene,
    RecordMeanwhileDigest,
    RecordReply,
    RemoveLoreEntry,
    RetireCharacter,
    RetractMessage,
    ReviseReply,
    RewindChat,
    SayLine,
    SetPersona,
    SetWeather,
    SkipTime,
    StartChat,
    StartMeanwhile,
    ToggleLoreEntry,
    WriteMemory,
)
from engine.table import Upload
from tests import pg
from tests.conftest import BACKENDS, dump_world

Databases = Callable[[], ContextManager[str]]

GUILDS = ["g-a", "g-b"]
CHANNELS = ["c-0", "c-1", "c-2"]  # c-0 and c-2 in g-a, c-1 in g-b
NAMES = ["Aria", "Bram", "Corin"]
PLACES = ["Inn", "Mill", "Docks"]

small = st.integers(min_value=0, max_value=2)
op = st.one_of(
    st.tuples(st.just("author"), small, small),
    st.tuples(st.just("retire"), small, small),
    st.tuples(st.just("persona"), small, small),
    st.tuples(st.just("start"), small, small, st.one_of(st.none(), small)),
    st.tuples(st.just("end"), small),
    st.tuples(st.just("say"), small, small, st.text(min_size=1, max_size=30)),
    st.tuples(st.just("reply"), small, st.text(min_size=1, max_size=30)),
    st.tuples(st.just("edit"), small, st.text(min_size=1, max_size=30)),
    st.tuples(st.just("retract"), small),
    st.tuples(st.just("regen"), small, st.booleans()),
    st.tuples(st.just("place"), small, small),
    st.tuples(st.just("scene_open"), small, small),
    st.tuples(st.just("scene_close"), small, st.text(max_size=20)),
    st.tuples(st.just("memory"), small, st.text(min_size=1, max_size=30)),
    st.tuples(st.just("forget"), small),
    st.tuples(st.just("meanwhile"), small, small),
    st.tuples(st.just("edge"), small, st.integers(-150, 150)),
    st.tuples(st.just("skip"), small, st.integers(1, 48)),
    st.tuples(st.just("weather"), small, st.sampled_from(["rain", "fog", "snow"])),
    st.tuples(st.just("import"), small, small, st.booleans()),
    st.tuples(st.just("lore_add"), small, small, st.text(min_size=1, max_size=20)),
    st.tuples(st.just("lore_toggle"), small, small),
    st.tuples(st.just("lore_remove"), small, small),
    st.tuples(st.just("lore_attach"), small, small, st.one_of(st.none(), small)),
    st.tuples(st.just("lore_detach"), small, small, st.one_of(st.none(), small)),
)
rewinds = st.one_of(st.tuples(st.just("rewind"), small, st.integers(1, 2)),
                    st.tuples(st.just("rewind_seq"), small, st.integers(0, 12)))
step_strategy = st.one_of(op, op, op, rewinds)  # about one step in four is a rewind


def _admin(channel: int) -> Actor:
    return Actor(user_id=f"admin-{channel % 2}", guild_id=GUILDS[channel % 2], is_admin=True)


def _person(channel: int, who: int) -> Actor:
    return Actor(user_id=f"user-{who}", guild_id=GUILDS[channel % 2], display_name=f"User {who}")


async def _apply(engine: Engine, step: tuple, counter: list[int]) -> None:  # noqa: C901 — a dispatch table
    ch = step[1]
    channel, admin = CHANNELS[ch], _admin(ch)
    counter[0] += 1
    match step:
        case ("author", g, n):
            await engine.perform(AuthorCharacter(actor=Actor(user_id="a", guild_id=GUILDS[g % 2]), name=NAMES[n], description=f"{NAMES[n]} card"))
        case ("retire", g, n):
            await engine.perform(RetireCharacter(actor=Actor(user_id="a", guild_id=GUILDS[g % 2], is_admin=True), name=NAMES[n]))
        case ("persona", who, g):
            await engine.perform(SetPersona(actor=_person(g, who), name=f"Persona {who}{g}", everywhere=g == 2))
        case ("start", _, host, guest):
            await engine.perform(StartChat(actor=admin, channel_id=channel, character=NAMES[host], guest=None if guest is None else NAMES[guest]))
        case ("end", _):
            await engine.perform(EndChat(actor=admin, channel_id=channel))
        case ("say", _, who, text):
            await engine.perform(SayLine(actor=_person(ch, who), channel_id=channel, message_id=f"m{counter[0]}", text=text))
        case ("reply", _, text):
            chat = await engine.reads.get_chat(channel)
            await engine.perform(RecordReply(actor=admin, channel_id=channel, character_id=chat.character_ids[-1], text=text))
        case ("edit", _, text):
            chat = await engine.reads.get_chat(channel)
            mine = [m for m in await engine.reads.transcript(chat.chat_id) if m.role == "person"]
            if mine:
                await engine.perform(EditMessage(actor=Actor(user_id=mine[-1].author_id, guild_id=admin.guild_id), channel_id=channel, message_id=mine[-1].message_id, text=text))
        case ("retract", _):
            chat = await engine.reads.get_chat(channel)
            lines = await engine.reads.transcript(chat.chat_id)
            if lines and lines[-1].role != "narrator":
                await engine.perform(RetractMessage(actor=admin, channel_id=channel, message_id=lines[-1].message_id))
        case ("regen", _, cont):
            await engine.perform(ReviseReply(actor=admin, channel_id=channel, text="again", mode="continue" if cont else "regenerate"))
        case ("place", _, p):
            await engine.perform(CreatePlace(actor=admin, channel_id=channel, name=PLACES[p]))
        case ("scene_open", _, p):
            await engine.perform(OpenScene(actor=admin, channel_id=channel, place=PLACES[p]))
        case ("scene_close", _, summary):
            await engine.perform(CloseScene(actor=admin, channel_id=channel, summary=summary))
        case ("memory", _, text):
            await engine.perform(WriteMemory(actor=admin, channel_id=channel, text=text))
        case ("forget", _):
            chat = await engine.reads.get_chat(channel)
            memories = await engine.reads.list_memories(chat.chat_id)
            if memories:
                await engine.perform(ForgetMemory(actor=admin, channel_id=channel, id=memories[0].memory_id))
        case ("meanwhile", _, n):
            scene = await engine.perform(StartMeanwhile(actor=admin, channel_id=channel, character=NAMES[n], premise="Off screen"))
            await engine.perform(RecordMeanwhileDigest(actor=admin, channel_id=channel, meanwhile_id=scene.meanwhile_id, digest="It happened."))
        case ("edge", _, delta):
            chat = await engine.reads.get_chat(channel)
            host = await engine.reads.character_by_id(chat.host_id)
            other = next(n for n in NAMES if n != host.name)
            await engine.perform(AdjustRelationship(actor=admin, channel_id=channel, character=host.name, target=other, affinity=delta, trust=-delta))
        case ("skip", _, hours):
            await engine.perform(SkipTime(actor=admin, channel_id=channel, by=f"{hours}h"))
        case ("weather", _, weather):
            await engine.perform(SetWeather(actor=admin, channel_id=channel, weather=weather))
        case ("import", _, n, replace):
            card = {"spec": "chara_card_v2", "data": {"name": NAMES[n], "first_mes": "{{roll:d20}} hi",
                                                      "extensions": {"x": counter[0]}, "character_book": {
                                                          "entries": [{"keys": ["k"], "content": "lore"}]}}}
            await engine.perform(ImportCharacter(actor=admin, file=Upload(filename="card.json", data=json.dumps(card).encode()), replace=replace))
        case ("lore_add", _, book, text):
            await engine.perform(AddLoreEntry(actor=admin, book=f"Book {book}", keys=(text[:10] or "x",), content=f"About {text}"))
        case ("lore_toggle", _, book):
            await engine.perform(ToggleLoreEntry(actor=admin, book=f"Book {book}", entry=1))
        case ("lore_remove", _, book):
            await engine.perform(RemoveLoreEntry(actor=admin, book=f"Book {book}", entry=1))
        case ("lore_attach", _, book, who):
            await engine.perform(AttachLorebook(actor=admin, channel_id=channel, book=f"Book {book}", character=None if who is None else NAMES[who]))
        case ("lore_detach", _, book, who):
            await engine.perform(DetachLorebook(actor=admin, channel_id=channel, book=f"Book {book}", character=None if who is None else NAMES[who]))
        case ("rewind", _, n):
            await engine.perform(RewindChat(actor=admin, channel_id=channel, messages=n))
        case ("rewind_seq", _, back):
            last = (await engine.reads.recent_events(limit=1))[0].seq
            await engine.perform(RewindChat(actor=admin, channel_id=channel, seq=max(1, last - back)))


async def _scenario(steps: list[tuple], path: str) -> None:
    engine = await Engine.open(path)
    try:
        counter = [0]
        for step in steps:
            try:
                await _apply(engine, step, counter)
            except DomainError:
                pass  # a refused command appends nothing; the sequence goes on
        live = dump_world(path)
        report = await engine.maintenance.check()
        assert report.clean, report.differences
        await engine.maintenance.rebuild()
        assert dump_world(path) == live
    finally:
        await engine.close()


@pytest.fixture(scope="module", params=BACKENDS)
def databases(request: pytest.FixtureRequest) -> Databases:
    """A fresh database per example: a file in a new directory, or a PostgreSQL clone of the migrated template."""
    if request.param == "sqlite":
        @contextlib.contextmanager
        def sqlite_file() -> Iterator[str]:
            with tempfile.TemporaryDirectory() as tmp:
                yield str(Path(tmp) / "prop.db")
        return sqlite_file
    server: pg.PgServer = request.getfixturevalue("pg_server")

    @contextlib.contextmanager
    def postgres_database() -> Iterator[str]:
        name = server.create_database(template=pg.TEMPLATE)
        try:
            yield server.url(name)
        finally:
            server.drop_database(name)
    return postgres_database


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step_strategy, min_size=5, max_size=45))
def test_incremental_projection_equals_rebuild(databases: Databases, steps: list[tuple]) -> None:
    with databases() as location:
        asyncio.run(_scenario(PRELUDE + steps, location))


PRELUDE = [("author", g, n) for g in (0, 1) for n in range(3)] + [
    ("start", 0, 0, 1), ("start", 1, 1, None), ("start", 2, 2, 0), ("say", 0, 0, "hi"), ("reply", 0, "hey"),
    ("say", 1, 1, "hello"), ("reply", 1, "yo"), ("say", 2, 2, "hey"), ("reply", 2, "hm")]
