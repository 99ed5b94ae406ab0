"""Story integrity (issue 8) at the engine's public interface: a story command addresses one chat at a known
version, through one serialiser, and is never split, misfiled or lost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine import (
    Actor,
    AlreadyHandled,
    ConcurrencyConflict,
    DomainError,
    Engine,
    InvalidInput,
    ProjectionError,
    SlowDown,
)
from engine.commands import (
    AnswerLine,
    AuthorCharacter,
    CloseScene,
    EndChat,
    ForgetMemory,
    RegenerateReply,
    RewindChat,
    SayLine,
    SetPersona,
    SetWeather,
    StartChat,
    WriteMemory,
)
from engine.commands.results import found
from engine.llm.openai_compat import OpenAICompatibleModel
from engine.storage.port import Conn
from engine.views import CharacterView, MessageView
from tests.conftest import count_events, dump_world, raw_connection, story
from tests.fakes.llm_server import FakeLLMServer


class GatedSink:
    """A frontend that shows replies and, when told to, waits before settling one (a slow Discord)."""

    def __init__(self, *, fail_finish: BaseException | None = None) -> None:
        self.shown: list[str] = []
        self.withdrawn: list[str] = []
        self.gate: asyncio.Event | None = None
        self.finishing = asyncio.Event()
        self.fail_finish = fail_finish

    async def begin(self, character: CharacterView) -> None:
        self.shown.append(f"begin {character.name}")

    async def update(self, character: CharacterView, text: str) -> None:
        self.shown.append(text)

    async def finish(self, character: CharacterView, text: str) -> list[str]:
        self.finishing.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_finish is not None:
            raise self.fail_finish
        return [f"{len(self.shown)}000"]

    async def abort(self, character: CharacterView, error: Exception) -> None:
        self.withdrawn.append(type(error).__name__)


@pytest.fixture
async def narrated(db_path: Path, fake_llm: FakeLLMServer) -> AsyncIterator[Engine]:
    """The engine talking to the fake model server through the real OpenAI SDK."""
    model = OpenAICompatibleModel(fake_llm.base_url, "key", "fake-model", timeout=2.0, max_retries=0, max_tokens=80)
    engine = await Engine.open(db_path, model=model, max_queued_replies=2)
    try:
        yield engine
    finally:
        await engine.close()
        await model.aclose()


def _rows(location: str | Path, sql: str, *params: object) -> list[tuple]:
    conn = raw_connection(location)
    try:
        return [tuple(row) for row in conn.execute(sql, params).fetchall()]
    finally:
        conn.close()


async def test_a_repeat_delivery_after_a_rewind_is_already_handled(narrated: Engine, admin: Actor,
                                                                   fake_llm: FakeLLMServer, db_path: Path) -> None:
    """Defect 1: the old engine raised AssertionError looking up the rewound line."""
    await story(narrated, admin)
    fake_llm.enqueue_text("Welcome.")
    await narrated.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="d-1", text="Hello there."), sink=GatedSink())
    await narrated.perform(RewindChat(actor=admin, channel_id="chan-1", messages=2))
    events, asked = count_events(db_path), len(fake_llm.chat_requests)
    again = await narrated.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="d-1", text="Hello there."), sink=GatedSink())
    assert again.line is None and again.replies == ()
    with pytest.raises(AlreadyHandled):
        await narrated.perform(SayLine(actor=admin, channel_id="chan-1", message_id="d-1", text="Hello there."))
    assert (count_events(db_path), len(fake_llm.chat_requests)) == (events, asked)


async def test_a_reply_is_never_filed_in_another_chat(narrated: Engine, admin: Actor, fake_llm: FakeLLMServer,
                                                      db_path: Path) -> None:
    """Defect 2: a story ended by another writer while a reply streams: the reply is not recorded (anywhere)
    and what was shown is withdrawn."""
    chat_id = await story(narrated, admin)
    fake_llm.enqueue_text("A long answer.")
    sink = GatedSink()
    sink.gate = asyncio.Event()
    pending = narrated.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="d-1", text="Tell me a story."), sink=sink)
    await sink.finishing.wait()
    other = await Engine.open(db_path)  # another process on the same file
    try:
        await other.perform(EndChat(actor=admin, channel_id="chan-1"))
        await other.perform(StartChat(actor=admin, channel_id="chan-1", character="Bram"))
    finally:
        await other.close()
    sink.gate.set()
    with pytest.raises(DomainError, match="ended"):
        await pending
    assert sink.withdrawn == ["DomainError"]
    replies = _rows(db_path, "SELECT chat_id FROM messages WHERE role = 'character'")
    assert replies == []
    assert [m.text for m in await narrated.reads.transcript(chat_id)] == ["Tell me a story."]


async def test_a_stale_version_trips_the_unique_constraint(engine: Engine, admin: Actor, location: str) -> None:
    """Defect 7: the expected version comes from the command, so UNIQUE(stream, stream_version) really fires."""
    await story(engine, admin)
    await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id="d-1", text="Hello."))
    ref = await engine.writer.chat_ref("chan-1", admin.guild_id)
    await engine.perform(SetWeather(actor=admin, channel_id="chan-1", weather="rain"))
    events = count_events(location)
    stale = RewindChat(actor=admin, channel_id="chan-1", chat_id=ref.chat_id, expected_version=ref.version, messages=1)
    with pytest.raises(ConcurrencyConflict, match="nothing was recorded"):
        await engine.writer.execute(stale, lambda conn, cmd, recorded: recorded)
    assert count_events(location) == events


async def test_a_stale_decision_that_still_holds_is_decided_again(engine: Engine, admin: Actor) -> None:
    """A conflict on a command whose meaning does not depend on the moment is decided again, once."""
    await story(engine, admin)
    ref = await engine.writer.chat_ref("chan-1", admin.guild_id)
    await engine.perform(SetWeather(actor=admin, channel_id="chan-1", weather="rain"))
    stale = SetWeather(actor=admin, channel_id="chan-1", chat_id=ref.chat_id, expected_version=ref.version,
                       weather="snow")
    version = await engine.writer.execute(stale, lambda conn, cmd, rec: rec[0].stream_version)
    assert version == ref.version + 2
    assert (await engine.reads.get_chat("chan-1")).weather == "snow"


async def test_the_greeting_is_a_command_of_its_own_and_the_start_is_never_split(
        engine: Engine, admin: Actor, location: str) -> None:
    """Defects 3 and 4: rewinding the greeting undoes only the greeting; the story's start stays whole."""
    await engine.perform(AuthorCharacter(actor=admin, name="Aria", description="A bard.", greeting="Well met, {{user}}!"))
    await engine.perform(SetPersona(actor=admin, name="Wren"))
    sink = GatedSink()
    chat = await engine.perform(StartChat(actor=admin, channel_id="chan-1", character="Aria", place="Tavern"), sink=sink, cause="interaction:1")
    [greeting] = await engine.reads.transcript(chat.chat_id)
    assert greeting.text == "Well met, Wren!" and greeting.discord_ids == ("2000",)
    commands = _rows(location, "SELECT kind, command_id, cause FROM events WHERE chat_id = ? ORDER BY seq", chat.chat_id)
    assert [k for k, _, _ in commands] == ["chat_created", "container_created", "scene_opened", "bot_replied"]
    assert len({c for _, c, _ in commands[:3]}) == 1 and commands[3][1] != commands[0][1]
    assert {c for _, _, c in commands} == {"interaction:1"}
    result = await engine.perform(RewindChat(actor=admin, channel_id="chan-1", messages=1))
    assert result.events_undone == 1 and [m.text for m in result.removed_messages] == ["Well met, Wren!"]
    now = await engine.reads.get_chat("chan-1")
    assert now.active_scene_id is not None and await engine.reads.list_places(chat.chat_id)
    with pytest.raises(InvalidInput, match="only 0 message"):
        await engine.perform(RewindChat(actor=admin, channel_id="chan-1", messages=1))
    with pytest.raises(InvalidInput, match="story's own start"):
        await engine.perform(RewindChat(actor=admin, channel_id="chan-1", seq=now.created_seq - 1))


async def test_a_rewind_to_a_point_inside_a_command_keeps_the_whole_command(engine: Engine, admin: Actor,
                                                                          location: str) -> None:
    """A scene close writes several events; a rewind `to:` one of them keeps them all."""
    await story(engine, admin)
    await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id="d-1", text="One."))
    await engine.perform(CloseScene(actor=admin, channel_id="chan-1", summary="They talked."))
    await engine.perform(SayLine(actor=admin, channel_id="chan-1", message_id="d-2", text="Two."))
    seqs = _rows(location, "SELECT seq FROM events WHERE kind IN ('scene_closed', 'memory_written') ORDER BY seq")
    result = await engine.perform(RewindChat(actor=admin, channel_id="chan-1", seq=seqs[0][0]))
    assert result.to_seq == seqs[-1][0]
    assert [m.text for m in result.removed_messages] == ["Two."]
    assert len(await engine.reads.list_memories((await engine.reads.get_chat("chan-1")).chat_id)) == 2


@pytest.mark.parametrize("failure", [RuntimeError("discord said 500"), asyncio.CancelledError()])
async def test_a_reply_that_fails_after_it_was_shown_is_withdrawn_and_the_line_stays_unanswered(
        narrated: Engine, admin: Actor, fake_llm: FakeLLMServer, db_path: Path, failure: BaseException) -> None:
    """Defect 5: any failure after posting began (not only NarratorUnavailable) withdraws the partial reply."""
    chat_id = await story(narrated, admin)
    fake_llm.enqueue_text("Half of a reply.")
    sink = GatedSink(fail_finish=failure)
    with pytest.raises(type(failure)):
        await narrated.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="d-1", text="Hi!"), sink=sink)
    assert sink.withdrawn == [type(failure).__name__ if isinstance(failure, Exception) else "RuntimeError"]
    lines = await narrated.reads.transcript(chat_id)
    assert [(m.role, m.text) for m in lines] == [("person", "Hi!")]
    fake_llm.enqueue_text("Sorry, where was I?")
    later = await narrated.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="d-1", text="Hi!"), sink=GatedSink())  # a redelivery answers it now
    assert [r.text for r in later.replies] == ["Sorry, where was I?"]


async def test_a_model_error_of_any_kind_withdraws_the_reply(narrated: Engine, admin: Actor,
                                                             fake_llm: FakeLLMServer) -> None:
    """A stream that breaks mid-reply withdraws what was shown (the old code kept it unless NarratorUnavailable)."""
    chat_id = await story(narrated, admin)
    fake_llm.enqueue_text("This will be cut off halfway through.", chunks=6, break_after=2)
    sink = GatedSink()
    with pytest.raises(Exception):  # noqa: B017,PT011 — whatever the client raises, the reply is withdrawn
        await narrated.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="d-1", text="Hi!"), sink=sink)
    assert sink.withdrawn and [m.role for m in await narrated.reads.transcript(chat_id)] == ["person"]


async def test_queued_replies_are_bounded_per_channel(narrated: Engine, admin: Actor, fake_llm: FakeLLMServer,
                                                      db_path: Path) -> None:
    """Defect 9: beyond max_queued_replies the line is recorded in turn, unanswered, with a SlowDown."""
    chat_id = await story(narrated, admin)
    for n in range(3):
        fake_llm.enqueue_text(f"Answer {n}.")
    sink = GatedSink()
    sink.gate = asyncio.Event()
    first = narrated.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="d-1", text="One"), sink=sink)
    second = narrated.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="d-2", text="Two"), sink=GatedSink())
    third = narrated.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="d-3", text="Three"), sink=GatedSink())
    with pytest.raises(SlowDown, match="Slow down"):
        await third
    sink.gate.set()
    await asyncio.gather(first, second)
    await narrated.serial.join()
    texts = [m.text for m in await narrated.reads.transcript(chat_id)]
    assert texts == ["One", "Answer 0.", "Two", "Answer 1.", "Three"]


async def test_every_command_of_a_channel_waits_for_the_one_before(narrated: Engine, admin: Actor,
                                                                   fake_llm: FakeLLMServer, db_path: Path) -> None:
    """Defect 9: /chat end, /scene open, /memory forget… issued while a reply streams run after it, in order."""
    chat_id = await story(narrated, admin)
    memory = await narrated.perform(WriteMemory(actor=admin, channel_id="chan-1", text="The key is under the stone."))
    fake_llm.enqueue_text("Let me think.")
    sink = GatedSink()
    sink.gate = asyncio.Event()
    reply = narrated.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="d-1", text="Where is the key?"), sink=sink)
    forget = narrated.perform(ForgetMemory(actor=admin, channel_id="chan-1", id=memory.memory_id))
    close = narrated.perform(CloseScene(actor=admin, channel_id="chan-1", summary="Done."))
    end = narrated.perform(EndChat(actor=admin, channel_id="chan-1"))
    await sink.finishing.wait()
    await asyncio.sleep(0.05)
    assert not (forget.done() or close.done() or end.done())
    sink.gate.set()
    await asyncio.gather(reply, forget, close, end)
    kinds = [k for (k,) in _rows(db_path, "SELECT kind FROM events WHERE chat_id = ? ORDER BY seq", chat_id)]
    assert kinds[-7:] == ["user_said", "bot_replied", "memory_forgotten", "scene_closed", "memory_written",
                          "memory_written", "chat_ended"]


async def test_a_repeated_interaction_is_recorded_once(engine: Engine, admin: Actor, location: str) -> None:
    """Defect 8: a command caused by the same interaction id is recorded once; the repeat returns the first
    result (or a plain AlreadyHandled once that result is gone)."""
    await story(engine, admin)
    first = await engine.perform(WriteMemory(actor=admin, channel_id="chan-1", text="A fact."), cause="interaction:77")
    events = count_events(location)
    again = await engine.perform(WriteMemory(actor=admin, channel_id="chan-1", text="A fact."), cause="interaction:77")
    assert again == first and count_events(location) == events
    await engine.perform(ForgetMemory(actor=admin, channel_id="chan-1", id=first.memory_id))
    with pytest.raises(AlreadyHandled):
        await engine.perform(WriteMemory(actor=admin, channel_id="chan-1", text="A fact."), cause="interaction:77")


async def test_a_button_names_the_reply_and_revision_it_was_shown_on(narrated: Engine, admin: Actor,
                                                                    fake_llm: FakeLLMServer) -> None:
    """Defect 8: a double-clicked Regenerate rewrites once; the second click changes nothing."""
    await story(narrated, admin)
    fake_llm.enqueue_text("First.")
    [reply] = (await narrated.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="d-1", text="Hi"), sink=GatedSink())).replies
    fake_llm.enqueue_text("Second.")
    fake_llm.enqueue_text("Third.")
    clicks = [narrated.perform(RegenerateReply(actor=admin, channel_id="chan-1", reply_id=reply.message_id, revision=reply.revision), sink=GatedSink(), cause=f"interaction:{n}") for n in (1, 2)]
    done = await asyncio.gather(*clicks, return_exceptions=True)
    assert isinstance(done[0], MessageView) and done[0].text == "Second." and done[0].revision == 1
    assert isinstance(done[1], DomainError) and "already been rewritten" in str(done[1])


async def test_one_failing_command_of_a_group_rolls_back_alone(engine: Engine, admin: Actor, location: str) -> None:
    """Group commit: commands from different chats share a transaction, one savepoint each."""
    await story(engine, admin, "chan-1")
    await story(engine, admin, "chan-2")
    events = count_events(location)

    def broken(conn: Conn) -> None:
        conn.execute("INSERT INTO events (stream, stream_version, kind, version, payload, recorded_at)"
                     " VALUES ('x', 1, 'weather_changed', 1, '{}', 'now')")
        raise ProjectionError("this command fails after writing")

    results = await asyncio.gather(
        *(engine.perform(SayLine(actor=admin, channel_id=f"chan-{1 + n % 2}", message_id=f"d-{n}", text=f"Line {n}.")) for n in range(20)),
        engine.db.write(broken), return_exceptions=True)
    assert isinstance(results[-1], ProjectionError)
    assert all(isinstance(r, MessageView) for r in results[:-1])
    assert count_events(location) == events + 20
    assert (await engine.maintenance.check()).clean


async def test_results_are_built_inside_the_transaction(engine: Engine, admin: Actor, location: str) -> None:
    """Defect 11: a command whose view can't be read back is not recorded (no assert, no half-answer)."""
    await story(engine, admin)
    before = dump_world(location), count_events(location)
    ref = await engine.writer.chat_ref("chan-1", admin.guild_id)

    with pytest.raises(ProjectionError, match="weather view was not found"):
        hail = SetWeather(actor=admin, channel_id="chan-1", chat_id=ref.chat_id, expected_version=ref.version,
                          weather="hail")
        await engine.writer.execute(hail, lambda conn, cmd, rec: found(None, "weather view"))
    assert (dump_world(location), count_events(location)) == before
