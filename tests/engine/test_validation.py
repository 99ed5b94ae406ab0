"""Bad input to every engine method raises a clear error and appends nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from engine import Actor, DomainError, Engine
from engine.commands import (
    AdjustRelationship,
    AuthorCharacter,
    CreatePlace,
    EditCharacter,
    EditMessage,
    EndChat,
    ForgetMemory,
    OpenScene,
    RecordMeanwhileDigest,
    RecordReply,
    Reproject,
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
    WriteMemory,
)
from tests.conftest import count_events, story

LONG = "x" * 20_000
Call = Callable[[Engine, Actor, Actor], Awaitable[object]]

CASES: list[tuple[str, Call, str]] = [
    ("empty character name", lambda e, a, p: e.perform(AuthorCharacter(actor=a, name="", description="desc")), "must not be empty"),
    ("huge character name", lambda e, a, p: e.perform(AuthorCharacter(actor=a, name=LONG, description="desc")), "at most 64 characters"),
    ("huge description", lambda e, a, p: e.perform(AuthorCharacter(actor=a, name="Zed", description="x" * 40_000)), "at most 6000 characters"),
    ("bad avatar", lambda e, a, p: e.perform(AuthorCharacter(actor=a, name="Zed", description="d", avatar_url="javascript:x")), "http"),
    ("duplicate name, other case", lambda e, a, p: e.perform(AuthorCharacter(actor=a, name="aRIA", description="d")), "looks like the existing character 'Aria'"),
    ("duplicate name", lambda e, a, p: e.perform(AuthorCharacter(actor=a, name="Aria", description="d")), "already exists"),
    ("edit unknown character", lambda e, a, p: e.perform(EditCharacter(actor=a, name="Nobody", field="description", value="x")), "no character"),
    ("edit unknown field", lambda e, a, p: e.perform(EditCharacter(actor=a, name="Aria", field="colour", value="x")), "field"),
    ("edit someone else's card", lambda e, a, p: e.perform(EditCharacter(actor=p, name="Aria", field="description", value="x")), "author"),
    ("retire a character in a story", lambda e, a, p: e.perform(RetireCharacter(actor=a, name="Aria")), "open story"),
    ("empty persona", lambda e, a, p: e.perform(SetPersona(actor=p, name="  ")), "must not be empty"),
    ("second chat in a channel", lambda e, a, p: e.perform(StartChat(actor=a, channel_id="chan-1", character="Aria")), "already has a story"),
    ("unknown host", lambda e, a, p: e.perform(StartChat(actor=a, channel_id="chan-9", character="Nobody")), "no character"),
    ("host as guest", lambda e, a, p: e.perform(StartChat(actor=a, channel_id="chan-9", character="Aria", guest="aria")), "different"),
    ("bad start time", lambda e, a, p: e.perform(StartChat(actor=a, channel_id="chan-9", character="Aria", time="25:99")), "not"),
    ("wrong guild", lambda e, a, p: e.perform(SayLine(actor=Actor(user_id="u", guild_id="other"), channel_id="chan-1", message_id="m", text="hi")),
     "no story"),
    ("no chat in channel", lambda e, a, p: e.perform(SayLine(actor=p, channel_id="chan-9", message_id="m1", text="hi")), "Start one with /chat start"),
    ("empty message", lambda e, a, p: e.perform(SayLine(actor=p, channel_id="chan-1", message_id="m1", text="")), "must not be empty"),
    ("huge message", lambda e, a, p: e.perform(SayLine(actor=p, channel_id="chan-1", message_id="m1", text=LONG)), "at most 4000"),
    ("reply from outsider", lambda e, a, p: e.perform(RecordReply(actor=a, channel_id="chan-1", character_id="chr_nope", text="hi")), "not in this story"),
    ("edit unknown message", lambda e, a, p: e.perform(EditMessage(actor=p, channel_id="chan-1", message_id="nope", text="x")), "not part of this story"),
    ("retract unknown message", lambda e, a, p: e.perform(RetractMessage(actor=p, channel_id="chan-1", message_id="nope")), "not part of this story"),
    ("regenerate with no reply", lambda e, a, p: e.perform(ReviseReply(actor=a, channel_id="chan-1", text="x")), "no character reply"),
    ("non-starter ends chat", lambda e, a, p: e.perform(EndChat(actor=p, channel_id="chan-1")), "Only the person who started"),
    ("duplicate place", lambda e, a, p: e.perform(CreatePlace(actor=a, channel_id="chan-1", name="Tavern")), "already has a place"),
    ("look-alike place", lambda e, a, p: e.perform(CreatePlace(actor=a, channel_id="chan-1", name="T\u0430vern")), "looks like the existing place 'Tavern'"),
    ("unknown parent place", lambda e, a, p: e.perform(CreatePlace(actor=a, channel_id="chan-1", name="Roof", parent="Nowhere")), "no place"),
    ("scene while one is open", lambda e, a, p: e.perform(OpenScene(actor=a, channel_id="chan-1", place="Market")), "still open"),
    ("memory too long", lambda e, a, p: e.perform(WriteMemory(actor=a, channel_id="chan-1", text=LONG)), "at most 4000"),
    ("memory for outsider", lambda e, a, p: e.perform(WriteMemory(actor=a, channel_id="chan-1", text="x", character="Corin")), "not in this story"),
    ("importance out of range", lambda e, a, p: e.perform(WriteMemory(actor=a, channel_id="chan-1", text="x", importance=11)), "importance"),
    ("forget unknown memory", lambda e, a, p: e.perform(ForgetMemory(actor=a, channel_id="chan-1", id="mem_nope")), "no memory"),
    ("meanwhile unknown character", lambda e, a, p: e.perform(StartMeanwhile(actor=a, channel_id="chan-1", character="Nobody", premise="x")), "no character"),
    ("meanwhile three characters", lambda e, a, p: e.perform(StartMeanwhile(actor=a, channel_id="chan-1", character="Aria", other="Bram", characters=["Corin"], premise="x")),
     "characters"),
    ("digest for unknown scene", lambda e, a, p: e.perform(RecordMeanwhileDigest(actor=a, channel_id="chan-1", meanwhile_id="mw_x", digest="x")), "not part"),
    ("relationship with self", lambda e, a, p: e.perform(AdjustRelationship(actor=a, channel_id="chan-1", character="Aria", target="Aria", affinity=1)),
     "two different"),
    ("relationship unknown target", lambda e, a, p: e.perform(AdjustRelationship(actor=a, channel_id="chan-1", character="Aria", target="Ghost", trust=1)),
     "neither"),
    ("relationship with no change", lambda e, a, p: e.perform(AdjustRelationship(actor=a, channel_id="chan-1", character="Aria", target="Bram")), "Give"),
    ("negative skip", lambda e, a, p: e.perform(SkipTime(actor=a, channel_id="chan-1", by="-3h")), "forward"),
    ("zero skip", lambda e, a, p: e.perform(SkipTime(actor=a, channel_id="chan-1", by="0h")), "above zero"),
    ("nonsense skip", lambda e, a, p: e.perform(SkipTime(actor=a, channel_id="chan-1", by="soon")), "not a duration"),
    ("empty weather", lambda e, a, p: e.perform(SetWeather(actor=a, channel_id="chan-1", weather="")), "must not be empty"),
    ("non-admin rewind", lambda e, a, p: e.perform(RewindChat(actor=p, channel_id="chan-1", messages=1)), "admins"),
    ("non-admin reproject", lambda e, a, p: e.perform(Reproject(actor=p)), "admins"),
]


@pytest.mark.parametrize(("label", "call", "text"), CASES, ids=[c[0] for c in CASES])
async def test_bad_input_is_refused_with_a_clear_message_and_appends_nothing(
        engine: Engine, admin: Actor, player: Actor, location, label: str, call: Call, text: str):
    await story(engine, admin)
    await engine.perform(AuthorCharacter(actor=admin, name="Corin", description="A cartographer."))
    before = count_events(location)
    with pytest.raises(DomainError) as caught:
        await call(engine, admin, player)
    message = str(caught.value)
    assert text.lower() in message.lower(), message
    assert "Traceback" not in message and len(message) < 300
    assert count_events(location) == before
