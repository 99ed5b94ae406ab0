"""In-story time parsing and formatting."""

from __future__ import annotations

import pytest

from engine import Actor, Engine, InvalidInput
from engine.commands import SkipTime, StartChat
from engine.storytime import default_anchor, format_clock, format_duration, parse_clock, parse_duration
from tests.conftest import story


@pytest.mark.parametrize(("text", "minutes"), [("3h", 180), ("2d", 2880), ("1h30m", 90), ("45m", 45),
                                               ("1d 2h", 1560)])
def test_durations(text: str, minutes: int):
    assert parse_duration(text) == minutes


@pytest.mark.parametrize("text", ["-3h", "0h", "3x", "h", "", "3h-2m", "99999d"])
def test_bad_durations_are_refused_with_a_hint(text: str):
    with pytest.raises(InvalidInput):
        parse_duration(text)


@pytest.mark.parametrize(("text", "minute"), [("14:00", 840), ("9pm", 1260), ("noon", 720),
                                              ("Day 2 08:30", 1950), ("12am", 0)])
def test_clock_times(text: str, minute: int):
    assert parse_clock(text) == minute


def test_formatting():
    assert format_clock(1950) == "Day 2, 08:30"
    assert default_anchor(1950) == "Day 2, morning"
    assert default_anchor(720) == "Day 1, noon"
    assert format_duration(1561) == "1 day 2 hours 1 minute"


@pytest.mark.parametrize("text", ["\u0663h", "\uff13h", "1\u0663m", "\u0967d"])  # Arabic-Indic, full-width, Devanagari
def test_durations_take_the_digits_0_to_9_only(text: str):
    with pytest.raises(InvalidInput, match="write it with the digits 0-9, like 3h"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["\u0661\u0664:00", "Day \u0662 08:00", "\uff19pm"])
def test_clock_times_take_the_digits_0_to_9_only(text: str):
    with pytest.raises(InvalidInput, match="write it with the digits 0-9, like 14:00"):
        parse_clock(text)


async def test_durations_and_times_take_the_digits_0_to_9_only_like_number_options(engine: Engine, admin: Actor):
    await story(engine, admin, guest=False)
    for duration in ("\u0663h", "\uff13h", "1\u0663m"):  # Arabic-Indic ٣, full-width ３
        with pytest.raises(InvalidInput, match="write it with the digits 0-9"):
            await engine.perform(SkipTime(actor=admin, channel_id="chan-1", by=duration, summary="Time passes."))
    with pytest.raises(InvalidInput, match="write it with the digits 0-9"):
        await engine.perform(StartChat(actor=admin, channel_id="chan-2", character="Aria", time="\u0661\u0664:00"))
    assert (await engine.perform(SkipTime(actor=admin, channel_id="chan-1", by="3h", summary="Time passes."))).story_minute == 8 * 60 + 180
