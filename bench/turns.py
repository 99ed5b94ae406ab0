"""Section 14: a group story's next speaker and its prompt, for a 20-character cast at 100,000 messages.

Each sample does what answering a person's line does before the model is called (engine/services/narrator.py):
read the chat, read what choosing reads (the speaking cast, who the line names, the recent turns), choose the
speaker by the `natural` rule (a talkativeness roll each), then read the prompt's inputs for that speaker (its
witnessed transcript, recall, memories, relationships) and build the prompt. The story has a scene open the whole
time, and one member left it for a stretch in the middle, so the lines' witnesses differ. The lines are the
long-story benchmark's everyday talk (bench/longstory_talk.py), a topic every 40 lines; a tenth of the person's lines
start with a member's name.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import random
import sys
import time
from collections import deque
from pathlib import Path

from bench import report
from bench.commands import ADMIN, PERSON
from bench.common import Figure, Settings, Table, Target, build_db, copy_db, events_source, percentile, remove_db
from bench.longstory_talk import TOPICS, chatter
from engine import Engine, heap, queries
from engine.commands import (
    AddToCast,
    AuthorCharacter,
    EditCharacter,
    EnterScene,
    LeaveScene,
    OpenScene,
    RecordReply,
    SayLine,
    SetTurnRule,
    StartChat,
)
from engine.narrator.cast import turn_inputs
from engine.narrator.prompt import build_reply_prompt
from engine.turns import choose
from engine.views import MessageView

CHANNEL = "bench-group"
CAST = [f"Member{n:02}" for n in range(20)]
FULL, QUICK = 100_000, 400  # messages in the story
TARGET_SECONDS = 0.020  # p99 of choosing the speaker plus building its prompt


def _sizes(settings: Settings) -> tuple[int, int]:
    """(messages, samples per run)."""
    return (QUICK, 10) if settings.quick else (FULL, 300)


async def _cast(engine: Engine) -> list[str]:
    ids = []
    for n, name in enumerate(CAST):
        card = await engine.perform(AuthorCharacter(actor=ADMIN, name=name, description=f"{name} of the company."))
        await engine.perform(EditCharacter(actor=ADMIN, name=name, field="talkativeness", value=f"{n % 5 / 10:.1f}"))
        ids.append(card.character_id)
    await engine.perform(StartChat(actor=ADMIN, channel_id=CHANNEL, character=CAST[0], guest=CAST[1]))
    for name in CAST[2:]:
        await engine.perform(AddToCast(actor=ADMIN, channel_id=CHANNEL, character=name))
    await engine.perform(SetTurnRule(actor=ADMIN, channel_id=CHANNEL, rule="natural"))
    await engine.perform(OpenScene(actor=ADMIN, channel_id=CHANNEL, place="The Long Hall"))
    return ids


async def _fill(engine: Engine, messages: int) -> None:
    ids = await _cast(engine)
    rng, recent, topics = random.Random(19), deque[str](maxlen=40), list(TOPICS)
    for i in range(0, messages, 2):
        topic = topics[(i // 40) % len(topics)]
        if i == messages // 2:
            await engine.perform(LeaveScene(actor=ADMIN, channel_id=CHANNEL, character=CAST[7]))
        if i == messages * 3 // 4:
            await engine.perform(EnterScene(actor=ADMIN, channel_id=CHANNEL, character=CAST[7]))
        line = chatter(rng, topic, character=False, sentences=rng.randint(1, 3), recent=recent)
        named = f"{CAST[rng.randrange(len(CAST))]}, " if rng.random() < 0.1 else ""  # a tenth name someone
        await engine.perform(SayLine(actor=PERSON, channel_id=CHANNEL, message_id=f"g{i}", text=named + line))
        who, away = (i // 2) % len(CAST), messages // 2 <= i < messages * 3 // 4
        speaker = ids[0 if away and who == 7 else who]  # the member away never speaks
        text = chatter(rng, topic, character=True, sentences=rng.randint(1, 3), recent=recent)
        await engine.perform(RecordReply(actor=ADMIN, channel_id=CHANNEL, character_id=speaker, text=text))


def group_database(settings: Settings) -> Path:
    """A cached database holding one story with a 20-character cast and `messages` lines."""
    messages, _ = _sizes(settings)
    key = hashlib.sha256(repr((messages, CAST, "talk")).encode() + events_source()).hexdigest()[:12]
    path = settings.cache / f"group-{key}.db"
    if path.exists():
        return path
    settings.cache.mkdir(parents=True, exist_ok=True)
    work = settings.cache / "group-building.db"
    remove_db(work)
    print(f"building the group-story database ({messages:,} messages, {len(CAST)} characters) ...",
          file=sys.stderr, flush=True)

    return build_db(work, path, lambda engine: _fill(engine, messages))


async def _sample(engine: Engine, said: MessageView, rng: random.Random) -> tuple[float, float, float]:
    """(seconds choosing, seconds in all, CPU seconds in all) for one speaker chosen and its prompt built."""
    started, used = time.perf_counter(), time.process_time()
    chat = await engine.reads.get_chat(CHANNEL)
    members, named, recent = await engine.db.read(lambda c: turn_inputs(c, chat, said, None))
    speaker = choose(chat.turn_rule, members, named, recent, rng.random, 1)[0][0]
    chosen = time.perf_counter()
    inputs = await engine.narrator.inputs(chat, speaker.character_id)
    build_reply_prompt(inputs, engine.writing.budget)
    return chosen - started, time.perf_counter() - started, time.process_time() - used


async def _measure(path: Path, settings: Settings) -> dict[str, Figure]:
    _, samples = _sizes(settings)
    out = {name: Figure() for name in ("choose p50", "choose p99", "all p50", "all p99", "cpu p50", "cpu p99")}
    engine = await Engine.open(path)
    rng = random.Random(12)
    try:
        chat = await engine.reads.get_chat(CHANNEL)
        said = await engine.db.read(lambda c: queries.newest_person_line(c, chat.chat_id))
        if said is None:
            raise RuntimeError("the group-story database has no person's line")
        for _ in range(10):  # warm the caches
            await _sample(engine, said, rng)
        heap.settle()  # what start-up loaded, out of the garbage collector's passes, as `chronicle run` does
        for _ in range(settings.runs):
            pairs = [await _sample(engine, said, rng) for _ in range(samples)]
            choosing, whole, cpu = (sorted(p[i] for p in pairs) for i in range(3))
            out["choose p50"].add(percentile(choosing, 0.5))
            out["choose p99"].add(percentile(choosing, 0.99))
            out["all p50"].add(percentile(whole, 0.5))
            out["all p99"].add(percentile(whole, 0.99))
            out["cpu p50"].add(percentile(cpu, 0.5))
            out["cpu p99"].add(percentile(cpu, 0.99))
    finally:
        gc.unfreeze()  # the rest of a `make bench` run collects as before
        await engine.close()
    return out


def run(datasets: dict[str, Path], settings: Settings) -> tuple[list[Table], list[Target]]:
    """Measure and tabulate section 14 (`datasets` unused: the story is built here)."""
    messages, samples = _sizes(settings)
    source = group_database(settings)
    f = asyncio.run(_measure(copy_db(source, settings.workdir / "s14.db"), settings))
    ms = lambda fig: fig.fmt(" ms", 2, 1e3)  # noqa: E731
    table = Table(f"14. Group stories: choosing the next speaker and building its prompt ({len(CAST)}-character "
                  "cast)", ["story", "choose p50", "choose p99", "choose + prompt p50", "choose + prompt p99",
                          "choose + prompt, CPU p50", "choose + prompt, CPU p99"])
    table.rows.append([f"{messages:,} messages", ms(f["choose p50"]), ms(f["choose p99"]), ms(f["all p50"]),
                       ms(f["all p99"]), ms(f["cpu p50"]), ms(f["cpu p99"])])
    table.notes.append(f"{settings.runs} runs of {samples} samples, the median of each run's figure shown. A sample "
                       "reads the chat, chooses by the `natural` rule (cast, named, recent turns; a roll each) and "
                       "reads and builds the chosen speaker's prompt (witnessed transcript, recall, memories), as "
                       "answering a line does before the model is called. A scene is open throughout; one member "
                       "was away for a quarter of the story. After 10 warm-up samples, what the process holds is "
                       "frozen out of the garbage collector's passes, as `chronicle run` does once started "
                       "(engine/heap.py). The figures are wall-clock (what a person waits: they "
                       "grow with the machine's load) but the CPU ones: the CPU time the process spent on a sample, in "
                       "every thread (what it costs, whatever else runs).")
    target = Target(f"choosing the speaker + building its prompt p99 ≤ 20 ms ({len(CAST)} characters, "
                    f"{messages:,} messages)", f"{ms(f['all p99'])} wall clock (CPU p99 {ms(f['cpu p99'])})",
                    f["all p99"].median <= TARGET_SECONDS)
    return [table], [target]


BEGIN = "<!-- bench turns: begin -->"
END = "<!-- bench turns: end -->"


def only(quick: bool, cache: Path, out: Path | None, command: str) -> int:
    """`python -m bench --only turns`: section 14 alone, its table and target printed (no other dataset built);
    a full-size run also writes its block of `out` (docs/PERFORMANCE.md)."""
    import tempfile

    from bench.common import settings

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="chronicle-bench-turns-") as work:
        s = settings(quick, Path(work), Path(work) / "cache" if quick else cache)
        tables, targets = run({}, s)
    for table in tables:
        print(table.text(), flush=True)
    for t in targets:
        print(f"{'MET ' if t.met else 'MISS'}  {t.text}: {t.measured}")
    if out is not None:
        report.replace_block(out, BEGIN, END, report.section_block(
            (BEGIN, END), "Group stories (section 14)", tables, targets, command=command,
            elapsed=time.perf_counter() - started, quick=quick))
        print(f"wrote the turns section of {out}", file=sys.stderr)
    return 0
