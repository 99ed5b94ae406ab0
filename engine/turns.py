"""Who speaks next in a group story: a pure choice from the cast, the line and the story's recent lines.

A line that names cast members (whole-word names, or a reply to a character's message) is answered by those
named, in the order named, whatever the rule. Otherwise the chat's rule decides; a chat that never chose one
answers as a host/guest story always has (`host`: the first speaking member of the cast):

- `natural`: each speaking member but the last speaker rolls against its talkativeness; if nobody wins, one
  random member (not the last speaker) speaks;
- `list`: everyone once, in cast order;
- `pooled`: one random member who has not spoken since the person's line before this one;
- `mentioned`: only those named, nobody otherwise;
- `manual`: nobody, until /chat nudge.

At most `max_chain` characters answer one line. Every random number is drawn here, before anything is recorded,
and the caller stores it with the reply (`Turn`), so a rebuild replays the same speakers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from engine.events import Turn

Rule = Literal["natural", "list", "pooled", "mentioned", "manual"]
RULES: tuple[Rule, ...] = ("natural", "list", "pooled", "mentioned", "manual")
DEFAULT_RULE = "host"  # a chat's rule until /chat turns sets one
TURN_RULES: dict[str, str] = {  # what each rule does, as people are told
    "host": "Those named answer; otherwise the first speaking member of the cast.",
    "natural": "Those named answer; otherwise each member rolls against its talkativeness (one at random if "
               "nobody wins), never the last speaker twice in a row.",
    "list": "Everyone answers once, in cast order.",
    "pooled": "One member who has not spoken since your previous line answers.",
    "mentioned": "Only the members a line names answer; nobody otherwise.",
    "manual": "Nobody answers until /chat nudge asks someone (or a line names them).",
}
DEFAULT_TALKATIVENESS = 0.5
DEFAULT_MAX_CHAIN = 3


@dataclass(frozen=True, slots=True)
class Member:
    """A cast member who may speak, with its name and talkativeness (0-1)."""

    character_id: str
    name: str
    talkativeness: float = DEFAULT_TALKATIVENESS


@dataclass(frozen=True, slots=True)
class Recent:
    """What the story's recent lines say about turns: who spoke last, and who spoke since the person's line
    before this one."""

    last_speaker: str | None = None
    spoken_this_round: frozenset[str] = frozenset()


def named_in(text: str, members: Sequence[Member], replied_to: str | None = None) -> list[Member]:
    """The members a line names (a whole-word name, case-insensitive), in the order named; a reply to a member's
    message names it first."""
    folded = text.casefold()
    found = [(m.start(), c) for c in members
             if (m := re.search(rf"(?<!\w){re.escape(c.name.casefold())}(?!\w)", folded)) is not None]
    named = [c for _, c in sorted(found, key=lambda pair: pair[0])]
    replied = [c for c in members if c.character_id == replied_to]
    return replied + [c for c in named if c not in replied]


def choose(rule: str, members: Sequence[Member], named: Sequence[Member], recent: Recent,
           draw: Callable[[], float], max_chain: int = DEFAULT_MAX_CHAIN) -> list[tuple[Member, Turn]]:
    """The members who answer a person's line, in order, each with the turn (and any draw) that chose it."""
    if not members:
        return []
    if named:
        picked = [(m, Turn(rule=rule, reason="named")) for m in named]
    elif rule == "natural":
        picked = _natural(members, recent, draw)
    elif rule == "list":
        picked = [(m, Turn(rule=rule, reason="list")) for m in members]
    elif rule == "pooled":
        pool = [m for m in members if m.character_id not in recent.spoken_this_round] or _not_last(members, recent)
        picked = [_random(rule, pool, draw)]
    elif rule in ("mentioned", "manual"):  # nobody unless named
        picked = []
    else:  # host (a chat that never chose a rule)
        picked = [(members[0], Turn(rule=rule, reason="first"))]
    return picked[:max_chain]


def _not_last(members: Sequence[Member], recent: Recent) -> list[Member]:
    return [m for m in members if m.character_id != recent.last_speaker] or list(members)


def _random(rule: str, pool: Sequence[Member], draw: Callable[[], float]) -> tuple[Member, Turn]:
    roll = draw()
    return pool[min(int(roll * len(pool)), len(pool) - 1)], Turn(rule=rule, reason="random", roll=roll)


def _natural(members: Sequence[Member], recent: Recent, draw: Callable[[], float]) -> list[tuple[Member, Turn]]:
    picked = []
    for member in members:
        if member.character_id == recent.last_speaker:
            continue
        roll = draw()
        if roll < member.talkativeness:
            picked.append((member, Turn(rule="natural", reason="rolled", roll=roll)))
    return picked or [_random("natural", _not_last(members, recent), draw)]


def nudged(rule: str) -> Turn:
    """The turn of a member a person asked to speak (/chat nudge)."""
    return Turn(rule=rule, reason="nudged")
