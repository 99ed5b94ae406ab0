"""Bad input to every engine method raises a clear error and appends nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from engine import Actor, DomainError, Engine
from tests.conftest import count_events, story

LONG = "x" * 20_000
Call = Callable[[Engine, Actor, Actor], Awaitable[object]]

CASES: list[tuple[str, Call, str]] = [
    ("empty character name", lambda e, a, p: e.author_character(a, "", "desc"), "must not be empty"),
    ("huge character name", lambda e, a, p: e.author_character(a, LONG, "desc"), "at most 64 characters"),
    ("huge description", lambda e, a, p: e.author_character(a, "Zed", "x" * 40_000), "at most 32000 characters"),
    ("bad avatar", lambda e, a, p: e.author_character(a, "Zed", "d", avatar_url="javascript:x"), "http"),
    ("duplicate name, other case", lambda e, a, p: e.author_character(a, "aRIA", "d"), "looks like the existing character 'Aria'"),
    ("duplicate name", lambda e, a, p: e.author_character(a, "Aria", "d"), "already exists"),
    ("edit unknown character", lambda e, a, p: e.edit_character(a, "Nobody", "description", "x"), "no character"),
    ("edit unknown field", lambda e, a, p: e.edit_character(a, "Aria", "colour", "x"), "field"),
    ("edit someone else's card", lambda e, a, p: e.edit_character(p, "Aria", "description", "x"), "author"),
    ("retire a character in a story", lambda e, a, p: e.retire_character(a, "Aria"), "open story"),
    ("empty persona", lambda e, a, p: e.set_persona(p, "  "), "must not be empty"),
    ("second chat in a channel", lambda e, a, p: e.start_chat(a, "chan-1", "Aria"), "already has a story"),
    ("unknown host", lambda e, a, p: e.start_chat(a, "chan-9", "Nobody"), "no character"),
    ("host as guest", lambda e, a, p: e.start_chat(a, "chan-9", "Aria", guest="aria"), "different"),
    ("bad start time", lambda e, a, p: e.start_chat(a, "chan-9", "Aria", time="25:99"), "not"),
    ("wrong guild", lambda e, a, p: e.record_message(Actor(user_id="u", guild_id="other"), "chan-1", "m", "hi"),
     "no story"),
    ("no chat in channel", lambda e, a, p: e.record_message(p, "chan-9", "m1", "hi"), "Start one with /chat start"),
    ("empty message", lambda e, a, p: e.record_message(p, "chan-1", "m1", ""), "must not be empty"),
    ("huge message", lambda e, a, p: e.record_message(p, "chan-1", "m1", LONG), "at most 4000"),
    ("reply from outsider", lambda e, a, p: e.record_reply(a, "chan-1", "chr_nope", "hi"), "not in this story"),
    ("edit unknown message", lambda e, a, p: e.edit_message(p, "chan-1", "nope", "x"), "not part of this story"),
    ("retract unknown message", lambda e, a, p: e.retract_message(p, "chan-1", "nope"), "not part of this story"),
    ("regenerate with no reply", lambda e, a, p: e.revise_reply(a, "chan-1", "x"), "no character reply"),
    ("non-starter ends chat", lambda e, a, p: e.end_chat(p, "chan-1"), "Only the person who started"),
    ("duplicate place", lambda e, a, p: e.create_place(a, "chan-1", "Tavern"), "already has a place"),
    ("look-alike place", lambda e, a, p: e.create_place(a, "chan-1", "T\u0430vern"), "looks like the existing place 'Tavern'"),
    ("unknown parent place", lambda e, a, p: e.create_place(a, "chan-1", "Roof", parent="Nowhere"), "no place"),
    ("scene while one is open", lambda e, a, p: e.open_scene(a, "chan-1", "Market"), "still open"),
    ("memory too long", lambda e, a, p: e.write_memory(a, "chan-1", LONG), "at most 4000"),
    ("memory for outsider", lambda e, a, p: e.write_memory(a, "chan-1", "x", character="Corin"), "not in this story"),
    ("importance out of range", lambda e, a, p: e.write_memory(a, "chan-1", "x", importance=11), "importance"),
    ("forget unknown memory", lambda e, a, p: e.forget_memory(a, "chan-1", "mem_nope"), "no memory"),
    ("meanwhile unknown character", lambda e, a, p: e.start_meanwhile(a, "chan-1", ["Nobody"], "x"), "no character"),
    ("meanwhile three characters", lambda e, a, p: e.start_meanwhile(a, "chan-1", ["Aria", "Bram", "Corin"], "x"),
     "characters"),
    ("digest for unknown scene", lambda e, a, p: e.record_meanwhile_digest(a, "chan-1", "mw_x", "x"), "not part"),
    ("relationship with self", lambda e, a, p: e.adjust_relationship(a, "chan-1", "Aria", "Aria", affinity=1),
     "two different"),
    ("relationship unknown target", lambda e, a, p: e.adjust_relationship(a, "chan-1", "Aria", "Ghost", trust=1),
     "neither"),
    ("relationship with no change", lambda e, a, p: e.adjust_relationship(a, "chan-1", "Aria", "Bram"), "Give"),
    ("negative skip", lambda e, a, p: e.skip_time(a, "chan-1", "-3h"), "forward"),
    ("zero skip", lambda e, a, p: e.skip_time(a, "chan-1", "0h"), "above zero"),
    ("nonsense skip", lambda e, a, p: e.skip_time(a, "chan-1", "soon"), "not a duration"),
    ("empty weather", lambda e, a, p: e.set_weather(a, "chan-1", ""), "must not be empty"),
    ("non-admin rewind", lambda e, a, p: e.rewind(p, "chan-1", messages=1), "admins"),
    ("non-admin reproject", lambda e, a, p: e.reproject(p), "admins"),
]


@pytest.mark.parametrize(("label", "call", "text"), CASES, ids=[c[0] for c in CASES])
async def test_bad_input_is_refused_with_a_clear_message_and_appends_nothing(
        engine: Engine, admin: Actor, player: Actor, location, label: str, call: Call, text: str):
    await story(engine, admin)
    await engine.author_character(admin, "Corin", "A cartographer.")
    before = count_events(location)
    with pytest.raises(DomainError) as caught:
        await call(engine, admin, player)
    message = str(caught.value)
    assert text.lower() in message.lower(), message
    assert "Traceback" not in message and len(message) < 300
    assert count_events(location) == before
