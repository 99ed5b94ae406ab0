"""Property: random story sessions with redeliveries, interleaved writers, double submissions, rewinds and
concurrent chats never split, misfile or lose a command.

Each example runs two engines on one SQLite file (the bot and "another process", as a CLI would be) and the
fake model server on loopback. Steps run on concurrent tasks per channel; some replies are held in the
frontend (a gated sink) while the other engine ends or restarts the story, writes to it, or rewinds it.

Invariants: live state equals a rebuild row for row; each Discord message id is recorded at most once; every
recorded reply belongs to the chat of the channel it was posted in and of the line it answers; no
rewind splits a command; nothing raises but the engine's typed errors.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import Actor, Engine, EngineError
from engine.commands import (
    AnswerLine,
    AuthorCharacter,
    EndChat,
    RegenerateReply,
    RewindChat,
    SetWeather,
    StartChat,
    WriteMemory,
)
from engine.llm.openai_compat import OpenAICompatibleModel
from engine.views import CharacterView
from tests.conftest import dump_world
from tests.fakes.llm_server import FakeLLMServer

GUILD = "g-1"
CHANNELS = ["c-0", "c-1", "c-2"]
ADMIN = Actor(user_id="admin", guild_id=GUILD, display_name="Ada", is_admin=True)
PEOPLE = [Actor(user_id=f"u-{n}", guild_id=GUILD, display_name=f"P{n}") for n in range(2)]

channel = st.integers(0, 2)
step = st.one_of(
    st.tuples(st.just("say"), channel, st.integers(0, 1)),
    st.tuples(st.just("say"), channel, st.integers(0, 1)),
    st.tuples(st.just("redeliver"), channel, st.integers(0, 30)),
    st.tuples(st.just("held_reply_then"), channel, st.sampled_from(["end_start", "weather", "rewind", "end"])),
    st.tuples(st.just("double_interaction"), channel, st.integers(0, 3)),
    st.tuples(st.just("rewind_messages"), channel, st.integers(1, 3)),
    st.tuples(st.just("rewind_seq"), channel, st.integers(0, 15)),
    st.tuples(st.just("regenerate_twice"), channel, st.just(0)),
    st.tuples(st.just("restart"), channel, st.just(0)),
)
rounds = st.lists(st.lists(step, min_size=1, max_size=3), min_size=3, max_size=8)


class Sink:
    """A frontend that posts replies with unique Discord ids and can hold one before it settles."""

    def __init__(self, world: World, channel_id: str, gate: asyncio.Event | None = None,
                 asked: str | None = None) -> None:
        self.world, self.channel_id, self.gate, self.asked = world, channel_id, gate, asked
        self.reached = asyncio.Event()

    async def begin(self, character: CharacterView) -> None:
        """Nothing to show yet."""

    async def update(self, character: CharacterView, text: str) -> None:
        """Streaming text is not checked here."""

    async def finish(self, character: CharacterView, text: str) -> list[str]:
        self.reached.set()
        if self.gate is not None:
            await self.gate.wait()
        self.world.posted_counter += 1
        discord_id = str(900_000 + self.world.posted_counter)
        self.world.posted[discord_id] = (self.channel_id, self.asked)
        return [discord_id]

    async def abort(self, character: CharacterView, error: Exception) -> None:
        self.world.withdrawn += 1


class World:
    """The session under test: two engines on one file and what the frontends posted."""

    def __init__(self, main: Engine, other: Engine) -> None:
        self.main, self.other = main, other
        self.said: list[tuple[str, str, Actor]] = []  # (channel, message id, speaker)
        self.posted: dict[str, tuple[str, str | None]] = {}  # discord id → (channel, person's line it answers)
        self.posted_counter = 0
        self.withdrawn = 0
        self.counter = 0

    def next_id(self) -> str:
        self.counter += 1
        return str(100_000 + self.counter)


async def _typed(awaitable) -> object:
    """Await, letting only the engine's typed errors through as values."""
    try:
        return await awaitable
    except EngineError as exc:
        return exc


async def _say(world: World, ch: str, who: int, *, gate: asyncio.Event | None = None) -> Sink:
    message_id = world.next_id()
    actor = PEOPLE[who]
    world.said.append((ch, message_id, actor))
    sink = Sink(world, ch, gate, asked=message_id)
    world.pending.append(asyncio.ensure_future(_typed(world.main.perform(AnswerLine(actor=actor, channel_id=ch, message_id=message_id, text=f"Line {message_id}"), sink=sink, cause=f"message:{message_id}"))))
    return sink


async def _held_reply_then(world: World, ch: str, what: str) -> None:
    """A reply is held in the frontend while another process changes the story."""
    gate = asyncio.Event()
    sink = await _say(world, ch, 0, gate=gate)
    done = world.pending[-1]
    await asyncio.wait([asyncio.ensure_future(sink.reached.wait()), done], return_when=asyncio.FIRST_COMPLETED)
    other = world.other
    if what in ("end_start", "end"):
        await _typed(other.perform(EndChat(actor=ADMIN, channel_id=ch)))
        if what == "end_start":
            await _typed(other.perform(StartChat(actor=ADMIN, channel_id=ch, character="Bram")))
    elif what == "weather":
        await _typed(other.perform(SetWeather(actor=ADMIN, channel_id=ch, weather="storm")))
    else:
        await _typed(other.perform(RewindChat(actor=ADMIN, channel_id=ch, messages=1)))
    gate.set()
    await done


async def _step(world: World, step: tuple) -> None:
    kind, ch_index, arg = step
    ch = CHANNELS[ch_index]
    main = world.main
    if kind == "say":
        await _say(world, ch, arg)
    elif kind == "redeliver" and world.said:
        old_ch, message_id, actor = world.said[arg % len(world.said)]
        world.pending.append(asyncio.ensure_future(_typed(main.perform(AnswerLine(actor=actor, channel_id=old_ch, message_id=message_id, text=f"Line {message_id}"), sink=Sink(world, old_ch), cause=f"message:{message_id}"))))
    elif kind == "held_reply_then":
        await _held_reply_then(world, ch, arg)
    elif kind == "double_interaction":
        cause = f"interaction:{ch}-{arg}"
        world.pending += [asyncio.ensure_future(_typed(main.perform(WriteMemory(actor=ADMIN, channel_id=ch, text=f"Fact {arg}"), cause=cause)))
                          for _ in range(2)]
    elif kind == "rewind_messages":
        world.pending.append(asyncio.ensure_future(_typed(main.perform(RewindChat(actor=ADMIN, channel_id=ch, messages=arg)))))
    elif kind == "rewind_seq":
        last = (await main.reads.recent_events(limit=1))[0].seq
        world.pending.append(asyncio.ensure_future(_typed(main.perform(RewindChat(actor=ADMIN, channel_id=ch, seq=max(1, last - arg))))))
    elif kind == "regenerate_twice":
        chat = await main.reads.find_chat(ch)
        lines = await main.reads.transcript(chat.chat_id, limit=1) if chat else []
        if lines and lines[-1].role == "character":
            world.pending += [asyncio.ensure_future(_typed(main.perform(RegenerateReply(actor=ADMIN, channel_id=ch, reply_id=lines[-1].message_id, revision=lines[-1].revision), sink=Sink(world, ch), cause=f"interaction:regen-{world.next_id()}"))) for _ in range(2)]
    elif kind == "restart" and await main.reads.find_chat(ch) is None:
        await _typed(main.perform(StartChat(actor=ADMIN, channel_id=ch, character="Aria")))


def _invariants(path: Path, world: World) -> None:
    conn = sqlite3.connect(path)
    try:
        said = [json.loads(p)["message_id"] for (p,) in conn.execute("SELECT payload FROM events WHERE kind = 'user_said'")]
        assert len(said) == len(set(said)), "a Discord message was recorded twice"
        ids = [i for (d,) in conn.execute("SELECT discord_ids FROM messages WHERE role = 'character'")
               for i in json.loads(d)]
        assert len(ids) == len(set(ids)), "a posted Discord message belongs to two replies"
        for chat_id, discord_ids in conn.execute("SELECT chat_id, discord_ids FROM messages WHERE role = 'character'"):
            channel_id = conn.execute("SELECT channel_id FROM chats WHERE chat_id = ?", (chat_id,)).fetchone()[0]
            for discord_id in json.loads(discord_ids):
                if discord_id not in world.posted:
                    continue  # the greeting of a story started by a frontend without a sink
                posted_in, asked = world.posted[discord_id]
                assert posted_in == channel_id, "a reply was filed in another channel's story"
                line = conn.execute("SELECT chat_id FROM events WHERE kind = 'user_said' AND idempotency_key = ?",
                                    (f"message:{asked}",)).fetchone()
                if asked is not None and line is not None:
                    assert line[0] == chat_id, "a reply was filed in another story than the line it answers"
        for rewind_seq, chat_id, to_seq in conn.execute("SELECT seq, chat_id, to_seq FROM rewinds"):
            before = {c for (c,) in conn.execute(
                "SELECT command_id FROM events WHERE chat_id = ? AND seq <= ?", (chat_id, to_seq))}
            after = {c for (c,) in conn.execute(
                "SELECT command_id FROM events WHERE chat_id = ? AND seq > ? AND seq < ?", (chat_id, to_seq, rewind_seq))}
            assert not (before & after), f"rewind #{rewind_seq} split a command"
    finally:
        conn.close()


async def _scenario(plan: list[list[tuple]], path: Path) -> None:
    async with FakeLLMServer() as llm:
        model = OpenAICompatibleModel(llm.base_url, "key", "fake", timeout=5.0, max_retries=0, max_tokens=40)
        main, other = await Engine.open(path, model=model), await Engine.open(path)
        try:
            await main.perform(AuthorCharacter(actor=ADMIN, name="Aria", description="A bard.", greeting="Hello, {{user}}."))
            await main.perform(AuthorCharacter(actor=ADMIN, name="Bram", description="A smith."))
            for ch in CHANNELS:
                await main.perform(StartChat(actor=ADMIN, channel_id=ch, character="Aria"))
            world = World(main, other)
            world.pending = []
            for round_steps in plan:  # the steps of a round run at once, on their own tasks
                await asyncio.gather(*(_step(world, s) for s in round_steps))
                outcomes = await asyncio.gather(*world.pending)
                world.pending = []
                assert all(not isinstance(o, BaseException) or isinstance(o, EngineError) for o in outcomes)
            await main.serial.join()
            live = dump_world(path)
            assert (await main.maintenance.check()).clean
            await main.maintenance.rebuild()
            assert dump_world(path) == live
            _invariants(path, world)
        finally:
            await other.close()
            await main.close()
            await model.aclose()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds)
def test_sessions_never_split_misfile_or_lose_a_command(plan: list[list[tuple]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(_scenario(plan, Path(tmp) / "integrity.db"))
