"""Section 11, `python -m bench --only recall`: does a character remember a long story?

Stories of 1,000, 10,000 and 100,000 lines (bench/longstory.py) are fed through the engine's public write
methods into SQLite files (cached under the system temp folder, keyed by seed, size and the generator's code).
Then, for each planted fact's question, `InspectPrompt(line=question)` gives the prompt Melanie would
get if Caroline asked it now (8,192-token context), and the fact counts as answerable when every evidence key
is in that prompt. Beside it, on the same tokens: (a) the newest lines filling the room Chronicle spent on
history and memories, and (b) half of it for the newest lines and half for the older lines BM25 ranks best.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import longstory, longstory_facts, longstory_keys, longstory_talk
from bench.common import build_db, copy_db, events_source, remove_db
from bench.longstory import CHARACTER, OFFSTAGE_CHARACTER, PERSONA, Fact, Story
from bench.recall_baselines import BM25, Count, Lines, estimator, smollm2, window, window_and_bm25
from engine import Actor, Engine, heap
from engine.commands import (
    AuthorCharacter,
    InspectPrompt,
    RecordReply,
    SayLine,
    SetPersona,
    SkipTime,
    StartChat,
    StartMeanwhile,
    WriteMemory,
)
from engine.narrator.prompt import Prompt, history_message
from engine.narrator.tokens import estimate_tokens

ROOT = Path(__file__).resolve().parent.parent
SEED = 11
CONTEXT_TOKENS, REPLY_TOKENS = 8192, 300
CHANNEL = "recall-story"
PERSON = Actor(user_id="recall-caroline", guild_id="recall-guild", display_name=PERSONA, is_admin=True)
METHODS = ("chronicle", "window", "bm25")


@dataclass(frozen=True)
class Sizes:
    """What one run measures."""

    stories: tuple[int, ...]  # lines per story
    per_kind: int  # facts of each kind
    offstage: int  # facts Melanie never witnessed
    rounds: int  # passes over the questions for prompt-building time


FULL = Sizes(stories=(1_000, 10_000, 100_000), per_kind=76, offstage=40, rounds=5)
QUICK = Sizes(stories=(240,), per_kind=8, offstage=6, rounds=1)


def cache_folder() -> Path:
    """Where built story databases are kept between runs."""
    return Path(tempfile.gettempdir()) / "chronicle-bench-recall"


def _key(lines: int, sizes: Sizes) -> str:
    h = hashlib.sha256(repr((SEED, lines, sizes.per_kind, sizes.offstage)).encode())
    for module in (longstory, longstory_facts, longstory_keys, longstory_talk):
        h.update(Path(module.__file__ or "").read_bytes())
    h.update(events_source())
    return h.hexdigest()[:12]


async def _feed(engine: Engine, story: Story) -> None:
    """The story through the engine's public write methods, one session's commands queued at a time."""
    await engine.perform(AuthorCharacter(actor=PERSON, name=CHARACTER,
                                         description="A painter in her thirties; warm, teasing, a good listener.",
                                         personality="Chatty, curious about her friends' lives, quick to laugh."))
    await engine.perform(AuthorCharacter(actor=PERSON, name=OFFSTAGE_CHARACTER,
                                         description="Caroline's neighbour, who keeps her own secrets."))
    await engine.perform(SetPersona(actor=PERSON, name=PERSONA,
                                    description="Melanie's old friend from art school; works in an office."))
    await engine.perform(StartChat(actor=PERSON, channel_id=CHANNEL, character=CHARACTER,
                                   time=story.sessions[0].minute, weather="clear"))
    melanie = (await engine.reads.get_chat(CHANNEL)).host_id
    index, previous = 0, story.sessions[0].minute
    for session in story.sessions:
        queued: list[asyncio.Future[Any]] = []
        if session.summary:
            queued.append(engine.perform(SkipTime(actor=PERSON, channel_id=CHANNEL,
                                                  by=session.minute - previous, summary=session.summary)))
        for line in session.lines:
            if line.role == "person":
                queued.append(engine.perform(SayLine(actor=PERSON, channel_id=CHANNEL, message_id=f"line-{index}",
                                                     text=line.text)))
            else:
                queued.append(engine.perform(RecordReply(actor=PERSON, channel_id=CHANNEL, character_id=melanie,
                                                         text=line.text)))
            index += 1
        queued += [engine.perform(WriteMemory(actor=PERSON, channel_id=CHANNEL, text=text,
                                              importance=6)) for text in session.memories]
        queued += [engine.perform(StartMeanwhile(actor=PERSON, channel_id=CHANNEL, character=OFFSTAGE_CHARACTER,
                                                 premise="Dana, on her own", digest=digest))
                   for digest in session.offstage]
        await asyncio.gather(*queued)
        previous = session.minute


def story_database(lines: int, sizes: Sizes, cache: Path) -> tuple[Path, Story]:
    """The generated story and a cached database holding it (built when missing)."""
    story = longstory.generate(SEED, lines, per_kind=sizes.per_kind, offstage=sizes.offstage)
    path = cache / f"story-{SEED}-{lines}-{_key(lines, sizes)}.db"
    if path.exists():
        return path, story
    for old in cache.glob(f"story-{SEED}-{lines}-*.db"):  # built by older code
        remove_db(old)
    cache.mkdir(parents=True, exist_ok=True)
    work = cache / f"building-{path.name}"
    remove_db(work)
    print(f"building the {lines:,}-line story ...", file=sys.stderr, flush=True)
    started = time.perf_counter()

    build_db(work, path, lambda engine: _feed(engine, story), synchronous="OFF")
    print(f"  built in {time.perf_counter() - started:.0f}s", file=sys.stderr, flush=True)
    return path, story


@dataclass
class Outcome:
    """What one method's prompts held, per kind."""

    asked: dict[str, int] = field(default_factory=dict)
    answered: dict[str, int] = field(default_factory=dict)
    stale: int = 0  # updated facts whose old line is in the prompt without the new one
    leaks: int = 0  # offstage facts in the prompt

    def add(self, fact: Fact, text: str) -> None:
        """Score one prompt (lower-cased text) against one fact."""
        present = [k.casefold() in text for k in fact.keys]
        if fact.kind == "offstage":
            self.leaks += any(present)
            return
        self.asked[fact.kind] = self.asked.get(fact.kind, 0) + 1
        self.answered[fact.kind] = self.answered.get(fact.kind, 0) + all(present)
        self.stale += bool(fact.stale) and fact.stale.casefold() in text and not all(present)

    def share(self, kind: str | None = None) -> float:
        """Answered ÷ asked, for a kind or over all kinds."""
        kinds = [kind] if kind else list(self.asked)
        asked = sum(self.asked.get(k, 0) for k in kinds)
        return sum(self.answered.get(k, 0) for k in kinds) / asked if asked else float("nan")


@dataclass
class Result:
    """One story's measurements."""

    lines: int
    messages: int
    offstage: int  # questions about scenes Melanie never witnessed
    by_estimate: dict[str, Outcome]
    by_smollm2: dict[str, Outcome] | None
    times: list[list[float]]  # seconds per prompt, one list per pass over the questions
    cpu: list[list[float]]  # CPU seconds per prompt (every thread of the process), the same passes
    prompt_tokens: list[int]
    smollm2_tokens: list[int]
    history_lines: list[int]


def _room(prompt: Prompt, count: Count, text_count: Callable[[str], int]) -> tuple[int, int]:
    """(tokens Chronicle spent on history, memories and recalled lines, history lines) under a counter."""
    system, *rest = prompt.messages
    sections = [system.content[at:].split("\n\n")[0] for marker in (f"# What {CHARACTER} remembers",
                                                                     f"# What {CHARACTER} recalls")
                if (at := system.content.find(marker)) >= 0]
    history = [m for m in rest if m.role in ("user", "assistant")]
    return sum(count(m.content) for m in history) + sum(text_count(s) for s in sections), len(history)


async def _measure(path: Path, story: Story, sizes: Sizes, counters: dict[str, tuple[Count, Callable[[str], int]]]
                   ) -> Result:
    engine = await Engine.open(path, context_tokens=CONTEXT_TOKENS, reply_tokens=REPLY_TOKENS)
    try:
        chat = await engine.reads.get_chat(CHANNEL)
        transcript = await engine.reads.transcript(chat.chat_id, limit=10_000_000)
        _check_transcript(story, [(m.text, m.story_minute) for m in transcript if m.role != "narrator"])
        texts = [history_message(m, chat.host_id).content for m in transcript]
        index = BM25(texts)
        lines = {name: Lines.of(texts, count) for name, (count, _) in counters.items()}
        outcomes = {name: {m: Outcome() for m in METHODS} for name in counters}
        offstage = sum(f.kind == "offstage" for f in story.facts)
        result = Result(len(story.lines()), len(transcript), offstage, outcomes["estimate"], outcomes.get("smollm2"),
                        [], [], [], [], [])
        for fact in story.facts:
            prompt = await engine.perform(InspectPrompt(actor=PERSON, channel_id=CHANNEL, line=fact.question))
            _score(prompt, fact, index, lines, counters, outcomes, result)
        result.times, result.cpu = await _timed(engine, story, sizes.rounds)
        return result
    finally:
        await engine.close()


async def _timed(engine: Engine, story: Story, rounds: int) -> tuple[list[list[float]], list[list[float]]]:
    """Seconds per prompt (wall clock, and CPU of the whole process) over `rounds` passes of every question, with
    what the process holds by then frozen out of the garbage collector's way, as `chronicle run` does once started
    (engine/heap.py; here that also keeps the bench's own big structures out of the figure).
    The CPU figure is what a prompt costs whatever else the machine runs; the wall clock is what a person waits."""
    heap.settle()
    times: list[list[float]] = []
    cpu: list[list[float]] = []
    try:
        for _ in range(rounds):
            times.append([])
            cpu.append([])
            for fact in story.facts:
                started, used = time.perf_counter(), time.process_time()
                await engine.perform(InspectPrompt(actor=PERSON, channel_id=CHANNEL, line=fact.question))
                times[-1].append(time.perf_counter() - started)
                cpu[-1].append(time.process_time() - used)
    finally:
        gc.unfreeze()
    return times, cpu


def _score(prompt: Prompt, fact: Fact, index: BM25, lines: dict[str, Lines],
           counters: dict[str, tuple[Count, Callable[[str], int]]], outcomes: dict[str, dict[str, Outcome]],
           result: Result) -> None:
    """Score Chronicle's prompt and both baselines, under every counter, for one question."""
    question = f"{PERSONA}: {fact.question}"
    text = "\n".join(m.content for m in prompt.messages).casefold()
    for name, (count, text_count) in counters.items():
        room, history = _room(prompt, count, text_count)
        outcomes[name]["chronicle"].add(fact, text)
        outcomes[name]["window"].add(fact, "\n".join(window(lines[name], question, room, count)).casefold())
        outcomes[name]["bm25"].add(fact, "\n".join(
            window_and_bm25(lines[name], index, fact.question, question, room, count)).casefold())
        if name == "smollm2":
            result.smollm2_tokens.append(sum(count(m.content) for m in prompt.messages))
    result.prompt_tokens.append(prompt.total_tokens)
    result.history_lines.append(_room(prompt, estimator(), estimate_tokens)[1])


def _check_transcript(story: Story, recorded: list[tuple[str, int]]) -> None:
    """The engine holds the story's lines in order, each at its session's in-story minute (the `when` answers)."""
    written = [(line.text, session.minute) for session in story.sessions for line in session.lines]
    if recorded != written:
        raise RuntimeError("the recorded transcript differs from the generated story: rebuild the cache (--fresh)")


def measure(sizes: Sizes, cache: Path, workdir: Path, *, fresh: bool = False) -> list[Result]:
    """Build (or reuse) every story and measure it."""
    counters: dict[str, tuple[Count, Callable[[str], int]]] = {"estimate": (estimator(), estimate_tokens)}
    real = smollm2()
    if real is not None:
        counters["smollm2"] = real
    results = []
    for lines in sizes.stories:
        if fresh:
            for old in cache.glob(f"story-{SEED}-{lines}-*.db"):
                remove_db(old)
        source, story = story_database(lines, sizes, cache)
        started = time.perf_counter()
        results.append(asyncio.run(_measure(copy_db(source, workdir / f"recall-{lines}.db"), story, sizes,
                                            counters)))
        print(f"  measured the {lines:,}-line story in {time.perf_counter() - started:.0f}s", file=sys.stderr,
              flush=True)
    return results
