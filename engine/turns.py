"""Who speaks next in a group story: a pure choice from the cast, the line and the story's recent lines.

A line that names cast members (whole-word names, or a reply to a character's message) is answered by those
named, in the order named, whatever the rule. Otherwise the chat's rule decides; a chat that never chose one
answers as a host/guest story always has (`host`: the first speaking member of the cast):

- `natural`: each speaking member but the last speaker rolls against its talkativeness; if nobody wins, one
  random member (not the last speaker) speaks;
- `list`: everyone once, in cast order;
- `pooled`: one random member who has not spoken since the person's line before this one;
- `mentioned`: only those named, nobody otherwise;
- `manual`: nobody, until /chat nudge;
- `director`: the one member the model named when asked who speaks next (engine/narrator/director.py asks, before
  anything is recorded); an answer naming no member who may speak (or no answer) falls back to `natural`.

At most `max_chain` characters answer one line. Every random number is drawn here, before anything is recorded,
and the caller stores it with the reply (`Turn`, with the director's answer), so a rebuild replays the same speakers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from engine.events import Turn

Rule = Literal["natural", "list", "pooled", "mentioned", "manual", "director"]
RULES: tuple[Rule, ...] = ("natural", "list", "pooled", "mentioned", "manual", "director")
DEFAULT_RULE = "host"  # a chat's rule until /chat turns sets one
TURN_RULES: dict[str, str] = {  # what each rule does, as people are told
    "host": "Those named answer; otherwise the first speaking member of the cast.",
    "natural": "Those named answer; otherwise each member rolls against its talkativeness (one at random if "
               "nobody wins), never the last speaker twice in a row.",
    "list": "Everyone answers once, in cast order.",
    "pooled": "One member who has not spoken since your previous line answers.",
    "mentioned": "Only the members a line names answer; nobody otherwise.",
    "manual": "Nobody answers until /chat nudge asks someone (or a line names them).",
    "director": "Those named answer; otherwise the model picks who speaks next (as natural when its answer names "
                "nobody in the cast).",
}
DEFAULT_TALKATIVENESS = 0.5
DEFAULT_MAX_CHAIN = 3
ANSWER_MAX = 100  # characters of a director's answer kept in the turn


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
           draw: Callable[[], float], max_chain: int = DEFAULT_MAX_CHAIN,
           directed: str | None = None) -> list[tuple[Member, Turn]]:
    """The members who answer a person's line, in order, each with the turn (and any draw or director's answer)
    that chose it."""
    if not members:
        return []
    if named:
        picked = [(m, Turn(rule=rule, reason="named")) for m in named]
    elif rule == "director":
        picked = _directed(members, recent, draw, directed)
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


def _natural(members: Sequence[Member], recent: Recent, draw: Callable[[], float],
             rule: str = "natural", answer: str | None = None) -> list[tuple[Member, Turn]]:
    picked = []
    for member in members:
        if member.character_id == recent.last_speaker:
            continue
        roll = draw()
        if roll < member.talkativeness:
            picked.append((member, Turn(rule=rule, reason="rolled", roll=roll, answer=answer)))
    if picked:
        return picked
    member, turn = _random(rule, _not_last(members, recent), draw)
    return [(member, turn.model_copy(update={"answer": answer}))]


def director_candidates(members: Sequence[Member], recent: Recent) -> list[Member]:
    """Whom the director may name: every member who may speak but the last speaker (unless it is alone)."""
    return _not_last(members, recent)


def directed_member(answer: str | None, candidates: Sequence[Member]) -> Member | None:
    """The candidate a director's answer names: the whole answer (quotes, markdown and a trailing full stop
    aside) is its name, case-insensitive; None for anything else."""
    if answer is None:
        return None
    name = answer.strip(" \t*_`\"'“”‘’.!").casefold()
    return next((m for m in candidates if m.name.casefold() == name), None)


def _directed(members: Sequence[Member], recent: Recent, draw: Callable[[], float],
              answer: str | None) -> list[tuple[Member, Turn]]:
    kept = None if answer is None else answer.strip()[:ANSWER_MAX]
    member = directed_member(answer, director_candidates(members, recent))
    if member is not None:
        return [(member, Turn(rule="director", reason="directed", answer=kept))]
    return _natural(members, recent, draw, rule="director", answer=kept)


def another(rule: str, others: Sequence[Member], recent: Recent, draw: Callable[[], float],
            directed: str | None = None) -> tuple[Member, Turn] | None:
    """The one member the rule picks from `others` (the cast without who just spoke) when a person asks for
    someone else; one at random when the rule would pick nobody. None when there is nobody else."""
    if not others:
        return None
    picked = choose(rule, others, (), recent, draw, 1, directed)
    return picked[0] if picked else _random(rule, others, draw)


def nudged(rule: str) -> Turn:
    """The turn of a member a person asked to speak (/chat nudge)."""
    return Turn(rule=rule, reason="nudged")
