"""In-story time: minutes since Day 1, 00:00, with parsing and formatting for people."""

from __future__ import annotations

import re

from engine.errors import InvalidInput
from engine.text import foreign_digits

MINUTES_PER_DAY = 24 * 60
MAX_SKIP_MINUTES = 3650 * MINUTES_PER_DAY
# Numbers are written with the digits 0-9 only, as everywhere in Chronicle (`\d` would also take ٣ or ３).
_DURATION = re.compile(r"([0-9]+)\s*(d|h|m)", re.IGNORECASE)
_CLOCK = re.compile(r"^(?:day\s*([0-9]+)\s*,?\s*)?([0-9]{1,2})(?::([0-9]{2}))?\s*(am|pm)?$", re.IGNORECASE)
_PARTS = {"dawn": 6, "morning": 9, "noon": 12, "afternoon": 15, "evening": 19, "dusk": 19, "night": 22,
          "midnight": 0}
_UNIT = {"d": MINUTES_PER_DAY, "h": 60, "m": 1}


def _advice(text: str, usual: str) -> str:
    """How a refusal goes on: naming the digits 0-9 when `text` has others (Arabic-Indic, full-width…)."""
    return "write it with the digits 0-9, like" if foreign_digits(text) else usual


def parse_duration(text: str) -> int:
    """'3h', '2d', '1h30m', '45m' → minutes (positive)."""
    cleaned = text.strip().lower().replace(" ", "")
    if cleaned.startswith("-"):
        raise InvalidInput("Time only moves forward: give a positive duration like 3h, 2d or 1h30m.")
    parts = _DURATION.findall(cleaned)
    if not parts or "".join(n + u for n, u in parts) != cleaned:
        raise InvalidInput(f"'{text[:40]}' is not a duration: {_advice(text, 'use forms like')} 3h, 2d, 1h30m or 45m.")
    minutes = sum(int(n) * _UNIT[u] for n, u in parts)
    if minutes <= 0:
        raise InvalidInput("A time skip must move forward: give a duration above zero.")
    if minutes > MAX_SKIP_MINUTES:
        raise InvalidInput("That skip is too long: at most 3650 days at a time.")
    return minutes


def parse_clock(text: str) -> int:
    """'14:00', '9pm', 'Day 2 08:30', 'noon' → minutes since Day 1, 00:00."""
    cleaned = text.strip().lower()
    if cleaned in _PARTS:
        return _PARTS[cleaned] * 60
    match = _CLOCK.match(cleaned)
    if match is None:
        raise InvalidInput(f"'{text[:40]}' is not a time: {_advice(text, 'use')} 14:00, 9pm, noon, or Day 2 08:30.")
    day, hour, minute, half = int(match.group(1) or 1), int(match.group(2)), int(match.group(3) or 0), match.group(4)
    if half:
        if not 1 <= hour <= 12:
            raise InvalidInput("With am/pm the hour goes from 1 to 12.")
        hour = hour % 12 + (12 if half == "pm" else 0)
    if day < 1 or hour > 23 or minute > 59:
        raise InvalidInput(f"'{text[:40]}' is not a valid time of day.")
    return (day - 1) * MINUTES_PER_DAY + hour * 60 + minute


def part_of_day(minute: int) -> str:
    """The part of the day a minute falls in."""
    hour = (minute % MINUTES_PER_DAY) // 60
    if 5 <= hour < 12:
        return "morning"
    if 12 <= hour < 13:
        return "noon"
    if 13 <= hour < 18:
        return "afternoon"
    if 18 <= hour < 22:
        return "evening"
    return "night"


def default_anchor(minute: int) -> str:
    """'Day 3, evening' for a minute."""
    return f"Day {minute // MINUTES_PER_DAY + 1}, {part_of_day(minute)}"


def format_clock(minute: int) -> str:
    """'Day 3, 19:30' for a minute."""
    day, rest = divmod(minute, MINUTES_PER_DAY)
    return f"Day {day + 1}, {rest // 60:02d}:{rest % 60:02d}"


def format_duration(minutes: int) -> str:
    """A short human form of a duration: '1 day 3 hours', '45 minutes'."""
    days, rest = divmod(minutes, MINUTES_PER_DAY)
    hours, mins = divmod(rest, 60)
    units = ((days, "day"), (hours, "hour"), (mins, "minute"))
    parts = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in units if n]
    return " ".join(parts) or "no time"
