"""Long two-person stories with planted facts, written deterministically from a seed (the recall benchmark's data).

A story is Caroline (a person's persona) and Melanie (a character) chatting about their lives over many sessions
separated by time skips. Among the small talk (bench/longstory_talk.py) sit the planted facts
(bench/longstory_facts.py), each with a question Caroline could ask at the end of the story:

- `single`: said once ("What did you end up painting for Priya's new place?");
- `when`: said once, asked about by time (the answer is the in-story time of the line);
- `two`: two lines far apart, compared ("Which of Tom's two dogs is older?");
- `updated`: said, then replaced by a later line (the later one is the evidence, the earlier one is stale);
- `offstage`: what Dana did in a meanwhile scene Melanie was not in: it must never reach Melanie's prompt.

Every fact has a key (a distinctive phrase of its line) that occurs in its evidence line and in no other line
or question; `generate` checks that, so "the key is in the prompt" means "the evidence is in the prompt".
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from bench.longstory_facts import CHANGES, OFFSTAGE, PAIRS, SINGLE, ChangeFamily, Family, PairFamily
from bench.longstory_keys import KEYS
from bench.longstory_talk import GREETINGS, REACTIONS, TOPICS, chatter, fill, part_of_day, sentences_on
from engine.storytime import format_clock

PERSONA, CHARACTER, OFFSTAGE_CHARACTER = "Caroline", "Melanie", "Dana"
KINDS = ("single", "when", "two", "updated")
DAY = 24 * 60
_TIMES = (7 * 60 + 30, 8 * 60 + 15, 9 * 60 + 40, 12 * 60 + 20, 13 * 60 + 5, 15 * 60 + 30, 17 * 60 + 45,
          19 * 60 + 10, 20 * 60 + 30, 21 * 60 + 50, 23 * 60)
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_ASKING = ("", "", "", "Hey. ", "Random question. ", "Sorry, my memory is a sieve. ", "Quick one. ",
           "I was trying to remember something earlier. ", "This is going to bug me all night. ")
_COUNT = ("No", "One", "Two", "Three", "Four", "Five", "Six")


@dataclass(frozen=True)
class Line:
    """One line of the story: said by the person (Caroline) or the character (Melanie)."""

    role: str
    text: str


@dataclass(frozen=True)
class Session:
    """A sitting of the story: when it starts, the skip line before it, its lines, and what follows it."""

    minute: int  # in-story minute the session happens at (Day 1, 00:00 is 0)
    summary: str  # the time skip's line before it ('' for the first session)
    lines: tuple[Line, ...]
    memories: tuple[str, ...]  # memories the person writes for Melanie after the session
    offstage: tuple[str, ...]  # meanwhile digests (Dana alone) after the session


@dataclass(frozen=True)
class Fact:
    """A planted fact and its question; `keys` must all be in the prompt for the question to be answerable."""

    fact_id: str
    kind: str  # one of KINDS, or "offstage"
    family: str
    question: str
    answer: str
    keys: tuple[str, ...]
    stale: str = ""  # `updated`: the key of the superseded line
    lines: tuple[int, ...] = ()  # indices in Story.lines() of the lines it was said in (a stale line first)


@dataclass(frozen=True)
class Story:
    """A generated story: its sessions and its facts."""

    seed: int
    sessions: tuple[Session, ...]
    facts: tuple[Fact, ...]

    def lines(self) -> list[Line]:
        """Every line in order."""
        return [line for session in self.sessions for line in session.lines]


@dataclass
class _Plan:
    kind: str
    family: str
    question: str
    answer: str
    parts: list[tuple[str, str, str]]  # (role, sentence, key) of each evidence line, in story order
    stale: str = ""
    at: tuple[int, ...] = ()
    echoes: list[tuple[str, str]] = field(default_factory=list)  # (role, sentence): the context, no answer


def _slots(context: dict[str, str], key: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in (*context.items(), ("key", key)):
        plain, _, alt = value.partition("~")
        for slot, text in ((name, plain), (f"{name}_alt", alt or plain)):
            out[slot], out[slot[:1].upper() + slot[1:]] = text, text[:1].upper() + text[1:]
    return out


class _Picker:
    """Contexts (each once per family) and keys (each once per story), drawn from one seeded source."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()
        self.contexts: dict[str, Iterator[dict[str, str]]] = {}

    def context(self, name: str, slots: dict[str, str]) -> dict[str, str] | None:
        if name not in self.contexts:
            combos: list[dict[str, str]] = [{}]
            for slot, values in slots.items():
                combos = [{**c, slot: v.strip()} for c in combos for v in values.split("|")]
            self.rng.shuffle(combos)
            self.contexts[name] = iter(combos)
        return next(self.contexts[name], None)

    def key(self, pool: str) -> str:
        free = [k for k in KEYS[pool] if k not in self.used]
        if not free:
            raise ValueError(f"the key pool {pool!r} ran out: plant fewer facts or add keys")
        chosen = self.rng.choice(free)
        self.used.add(chosen)
        return chosen


def _role(owner: str) -> str:
    return "person" if owner == "person" else "character"


def _single(p: _Picker, fam: Family, kind: str) -> _Plan | None:
    ctx = p.context(fam.name, fam.context)
    if ctx is None:
        return None
    key = p.key(fam.key)
    s = _slots(ctx, key)
    ask = p.rng.choice(fam.when if kind == "when" else fam.asks)
    role = _role(fam.owner)
    return _Plan(kind, fam.name, ask.format(**s), key, [(role, p.rng.choice(fam.says).format(**s), key)],
                 echoes=[(role, e.format(**s)) for e in fam.echoes])


def _pair(p: _Picker, fam: PairFamily) -> _Plan | None:
    ctx = p.context(fam.name, fam.context)
    if ctx is None:
        return None
    keys = (p.key(fam.key), p.key(fam.key))
    values = p.rng.sample(range(*fam.values), 2)
    lines = [(_role(fam.owner), fam.says[i].format(**_slots(ctx, keys[i]), value=f"{values[i]:,}"), keys[i])
             for i in (0, 1)]
    best = max if fam.largest else min
    winner = keys[values.index(best(values))]
    answer = f"{winner} ({keys[0]}: {values[0]:,}{fam.unit}; {keys[1]}: {values[1]:,}{fam.unit})"
    echoes = [(_role(fam.owner), e.format(**_slots(ctx, ""))) for e in fam.echoes]
    return _Plan("two", fam.name, p.rng.choice(fam.asks).format(**_slots(ctx, "")), answer, lines, echoes=echoes)


def _change(p: _Picker, fam: ChangeFamily) -> _Plan | None:
    ctx = p.context(fam.name, fam.context)
    if ctx is None:
        return None
    old, new = p.key(fam.key), p.key(fam.key)
    role = _role(fam.owner)
    lines = [(role, p.rng.choice(fam.old).format(**_slots(ctx, old)), old),
             (role, p.rng.choice(fam.new).format(**_slots(ctx, new)), new)]
    echoes = [(role, e.format(**_slots(ctx, ""))) for e in fam.echoes]
    return _Plan("updated", fam.name, p.rng.choice(fam.asks).format(**_slots(ctx, "")), new, lines, stale=old,
                 echoes=echoes)


def _plan(rng: random.Random, per_kind: int, offstage: int) -> list[_Plan]:
    """Every fact's lines and question, families taken in turn until each kind has `per_kind` facts."""
    picker = _Picker(rng)
    plans: list[_Plan] = []
    makers = {
        "single": [lambda f=f: _single(picker, f, "single") for f in SINGLE],
        "when": [lambda f=f: _single(picker, f, "when") for f in SINGLE],
        "two": [lambda f=f: _pair(picker, f) for f in PAIRS],
        "updated": [lambda f=f: _change(picker, f) for f in CHANGES],
        "offstage": [lambda f=f: _single(picker, f, "offstage") for f in OFFSTAGE],
    }
    for kind, wanted in (*((k, per_kind) for k in KINDS), ("offstage", offstage)):
        family_makers = makers[kind]
        rng.shuffle(family_makers)
        made, turn, idle = 0, 0, 0
        while made < wanted:
            plan = family_makers[turn % len(family_makers)]()
            turn += 1
            idle = 0 if plan else idle + 1
            if idle > len(family_makers):
                raise ValueError(f"not enough contexts for {wanted} {kind} facts")
            if plan:
                plans.append(plan)
                made += 1
    return plans


def _layout(rng: random.Random, lines: int) -> list[tuple[int, int]]:
    """(in-story minute, number of lines) of each session: even sizes summing to `lines`, days apart."""
    count = max(min(32, lines // 6), lines // 40)
    weights = [rng.uniform(0.5, 1.5) for _ in range(count)]
    sizes = [max(4, 2 * round(w / sum(weights) * lines / 2)) for w in weights]
    while sum(sizes) != lines:
        i = rng.randrange(count)
        if sum(sizes) > lines and sizes[i] > 4:
            sizes[i] -= 2
        elif sum(sizes) < lines:
            sizes[i] += 2
    gaps = (0, 1, 1, 2, 2, 3, 4, 5, 7, 14) if count <= 300 else (0, 0, 1, 1, 1, 2, 3)
    minute, out = rng.choice(_TIMES[:6]), []
    for size in sizes:
        out.append((minute, size))
        day, time = divmod(minute, DAY)
        gap, new_time = rng.choice(gaps), rng.choice(_TIMES)
        minute = (day + (gap or (0 if new_time > time else 1))) * DAY + new_time
    return out


def _free_position(rng: random.Random, taken: set[int], lo: int, hi: int, parity: int, banned: set[int]) -> int:
    """A free line index in [lo, hi) of the given parity (even: the person's, odd: the character's)."""
    hi = max(hi, lo + 2)
    for _ in range(40):
        i = rng.randrange(lo, hi)
        i += (i - parity) % 2
        if i < hi and i not in taken and i not in banned:
            return i
    for i in range(lo + (lo - parity) % 2, hi, 2):
        if i not in taken and i not in banned:
            return i
    raise ValueError("the story is too short for this many facts")


def _place(rng: random.Random, plans: list[_Plan], total: int, banned: set[int]) -> dict[int, str]:
    """Positions for each plan's lines (pairs and changes far apart, the rest anywhere), then for as many echoes
    as half the lines left over allow; returns the echo lines by position."""
    taken: set[int] = set()
    order = sorted((p for p in plans if p.kind != "offstage"), key=lambda p: -len(p.parts))
    for plan in order:
        at: list[int] = []
        for n, (role, _, _) in enumerate(plan.parts):
            parity = 0 if role == "person" else 1
            if len(plan.parts) == 1:
                lo, hi = 0, total
            elif n == 0:
                lo, hi = 0, int(total * 0.6)
            else:
                lo, hi = at[0] + int(total * (0.3 if plan.kind == "two" else 0.25)), total
            at.append(_free_position(rng, taken, lo, hi, parity, banned))
            taken.add(at[-1])
        plan.at = tuple(at)
    room = (total - len(taken) - len(banned)) // 2
    echoes: dict[int, str] = {}
    for plan in rng.sample(order, len(order)):
        for role, sentence in rng.sample(plan.echoes, min(len(plan.echoes), rng.choice((1, 2, 3)), room)):
            spot = _free_position(rng, taken, 0, total, 0 if role == "person" else 1, banned)
            taken.add(spot)
            echoes[spot] = sentence
            room -= 1
    return echoes


def _skip_line(rng: random.Random, before: int, after: int) -> str:
    days = after // DAY - before // DAY
    when = f"It is {_WEEKDAYS[(after // DAY) % 7]} {part_of_day(after % DAY)}."
    if days == 0:
        return rng.choice(("A few hours pass.", "Later that day.")) + " " + when
    head = ("The next day." if days == 1 else f"{_COUNT[days]} days pass." if days < 7 else
            "A week goes by." if days == 7 else "Two weeks go by." if days == 14 else f"{days} days go by.")
    return f"{head} {when}" if rng.random() < 0.8 else f"{head} It is {fill('{weather}', rng)} outside. {when}"


def _evidence_line(rng: random.Random, sentence: str, topic: str, recent: deque[str]) -> str:
    parts = [rng.choice(REACTIONS)] if rng.random() < 0.3 else []
    parts.append(sentence)
    extra = rng.choice((0, 0, 1, 1, 2))
    return " ".join(parts + (sentences_on(rng, topic, extra, recent) if extra else []))


@dataclass
class _Writer:
    """Writes each session's lines: a greeting, the planted facts and their echoes, and small talk around them."""

    rng: random.Random
    planted: dict[int, tuple[_Plan, int]]  # line index -> (plan, which of its lines)
    echoes: dict[int, str]
    memory_share: float
    said_at: dict[int, int] = field(default_factory=dict)  # line index -> in-story minute, for planted lines
    recent: deque[str] = field(default_factory=lambda: deque(maxlen=60))  # sentence templates used lately

    def session(self, minute: int, start: int, size: int) -> tuple[tuple[Line, ...], tuple[str, ...]]:
        """The lines of a session starting at line `start`, and the memories the person writes after it."""
        rng, body, memories = self.rng, [], []
        topic, left = rng.choice(list(TOPICS)), 0
        for i in range(start, start + size):
            role = "person" if i % 2 == 0 else "character"
            if left <= 0:
                topic, left = rng.choice(list(TOPICS)), rng.randint(2, 6)
            left -= 1
            if i == start:
                text = rng.choice(GREETINGS[part_of_day(minute % DAY)]).format(name=CHARACTER)
            elif i in self.planted:
                plan, n = self.planted[i]
                text = _evidence_line(rng, plan.parts[n][1], topic, self.recent)
                self.said_at[i] = minute
                if rng.random() < self.memory_share:
                    memories.append(f"{CHARACTER if role == 'character' else PERSONA} once said: {plan.parts[n][1]}")
            elif i in self.echoes:
                text = _evidence_line(rng, self.echoes[i], topic, self.recent)
            else:
                text = chatter(rng, topic, character=role == "character", sentences=rng.choice((1, 1, 2, 2, 3)),
                               recent=self.recent)
            body.append(Line(role, text))
        return tuple(body), tuple(memories)


def generate(seed: int, lines: int, *, per_kind: int = 76, offstage: int = 40, memory_share: float = 0.06) -> Story:
    """A story of `lines` lines (rounded up to even) with `per_kind` facts of each kind and `offstage` facts."""
    rng = random.Random(seed)
    lines += lines % 2
    plans = _plan(rng, per_kind, offstage)
    layout = _layout(rng, lines)
    starts = [sum(size for _, size in layout[:n]) for n in range(len(layout))]
    echoes = _place(rng, plans, lines, banned=set(starts))
    offstage_after: dict[int, list[str]] = {}
    for plan in (p for p in plans if p.kind == "offstage"):
        offstage_after.setdefault(rng.randrange(len(layout)), []).append(plan.parts[0][1])
    writer = _Writer(rng, {i: (plan, n) for plan in plans for n, i in enumerate(plan.at)}, echoes, memory_share)
    sessions: list[Session] = []
    for number, ((minute, size), start) in enumerate(zip(layout, starts, strict=True)):
        body, memories = writer.session(minute, start, size)
        summary = _skip_line(rng, sessions[-1].minute, minute) if sessions else ""
        sessions.append(Session(minute, summary, body, memories, tuple(offstage_after.get(number, ()))))
    story = Story(seed, tuple(sessions), _facts(rng, plans, writer.said_at))
    check(story)
    return story


def _facts(rng: random.Random, plans: list[_Plan], minute_of: dict[int, int]) -> tuple[Fact, ...]:
    out, counts = [], dict.fromkeys((*KINDS, "offstage"), 0)
    for plan in plans:
        counts[plan.kind] += 1
        answer = plan.answer
        if plan.kind == "when":
            answer = f"{format_clock(minute_of[plan.at[0]])} ({plan.answer})"
        keys = (plan.parts[-1][2],) if plan.kind == "updated" else tuple(key for *_, key in plan.parts)
        question = rng.choice(_ASKING) + plan.question
        out.append(Fact(f"{plan.kind}-{counts[plan.kind]:03d}", plan.kind, plan.family, question, answer, keys,
                        plan.stale, plan.at))
    return tuple(out)


def check(story: Story) -> None:
    """Raise ValueError unless every key is in its evidence line and in no other line or question."""
    lines = [line.text.casefold() for line in story.lines()]
    lines += [s.summary.casefold() for s in story.sessions]
    digests = [d.casefold() for s in story.sessions for d in s.offstage]
    questions = "\n".join(f.question.casefold() for f in story.facts)
    text, digest_text = "\n".join(lines), "\n".join(digests)
    for fact in story.facts:
        for key in (*fact.keys, *([fact.stale] if fact.stale else [])):
            k = key.casefold()
            in_lines, in_digests = text.count(k), digest_text.count(k)
            wanted = (0, 1) if fact.kind == "offstage" else (1, 0)
            if (in_lines, in_digests) != wanted or k in questions:
                raise ValueError(f"key {key!r} of {fact.fact_id} is in {in_lines} lines, {in_digests} digests"
                                 f"{' and a question' if k in questions else ''}; expected {wanted}")
        for i in fact.lines:
            if not any(k.casefold() in lines[i] for k in (*fact.keys, fact.stale) if k):
                raise ValueError(f"line {i} is not the evidence of {fact.fact_id}")
