"""Sections 6 and 7: prompt building (100 and 100,000 messages, 10,000 memories) and reply overhead.

The reply overhead runs against the loopback fake model server of the test suite, which answers
instantly, so the figure is Chronicle's own cost from a person's message to the first streamed chunk.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from bench.commands import ADMIN, PERSON
from bench.common import Figure, Settings, Table, Target, build_db, copy_db, events_source, percentile
from bench.datasets import ROOT
from engine import Engine
from engine.commands import AnswerLine, InspectPrompt, RecordReply, SayLine, StartChat, WriteMemory

SMALL, BIG = "bench-prompt-small", "bench-prompt-big"


async def _fill_chat(engine: Engine, channel: str, messages: int, memories: int) -> None:
    await engine.perform(StartChat(actor=ADMIN, channel_id=channel, character="Aria", guest="Bram",
                                   place="The Gilded Stag"))

    async def lines(start: int, stop: int) -> None:
        for i in range(start, stop):
            if i % 2 == 0:
                await engine.perform(SayLine(actor=PERSON, channel_id=channel, message_id=f"{channel}-m{i}",
                                             text=f"Line {i}: did you hear what happened at the Old Mill last night?"))
            else:
                host = (await engine.reads.get_chat(channel)).host_id
                text = f"Reply {i}: Aria leans closer. \"I heard, and I wish I hadn't.\""
                await engine.perform(RecordReply(actor=ADMIN, channel_id=channel, character_id=host, text=text))

    for i in range(memories):
        text = f"Memory {i}: Aria promised to meet Wren at the Old Mill on day {i % 30}."
        await engine.perform(WriteMemory(actor=ADMIN, channel_id=channel, importance=1 + i % 10, text=text))
    await lines(0, messages)


def prompt_database(settings: Settings, base: Path) -> Path:
    """A cached database (the ~1k demo one plus) two chats of `small` and `big` messages, each with `memories`
    memories."""
    small, big = settings.prompt_sizes
    key = hashlib.sha256(repr((small, big, settings.prompt_memories)).encode()
                         + events_source()).hexdigest()[:12]
    path = settings.cache / f"prompt-{key}.db"
    if path.exists():
        return path
    work = copy_db(base, settings.cache / "prompt-building.db")
    print(f"building the prompt database ({small:,} and {big:,} messages) ...", file=sys.stderr, flush=True)

    async def fill(engine: Engine) -> None:
        await _fill_chat(engine, SMALL, small, settings.prompt_memories)
        await _fill_chat(engine, BIG, big, settings.prompt_memories)

    return build_db(work, path, fill)


async def _prompt_times(engine: Engine, channel: str, samples: int) -> tuple[list[float], int, int]:
    for _ in range(5):
        await engine.perform(InspectPrompt(actor=ADMIN, channel_id=channel))
    times, worst, budget = [], 0, 0
    for _ in range(samples):
        t = time.perf_counter()
        prompt = await engine.perform(InspectPrompt(actor=ADMIN, channel_id=channel))
        times.append(time.perf_counter() - t)
        worst, budget = max(worst, prompt.total_tokens), prompt.budget_tokens
    return sorted(times), worst, budget


async def _prompts(path: Path, settings: Settings) -> dict[str, Any]:
    engine = await Engine.open(path)
    out: dict[str, Any] = {ch: {"p50": Figure(), "p99": Figure(), "tokens": 0, "budget": 0} for ch in (SMALL, BIG)}
    ratio = Figure()
    try:
        for _ in range(settings.runs):
            p50 = {}
            for ch in (SMALL, BIG):
                times, worst, budget = await _prompt_times(engine, ch, settings.prompt_samples)
                out[ch]["p50"].add(percentile(times, 0.5))
                out[ch]["p99"].add(percentile(times, 0.99))
                out[ch]["tokens"] = max(out[ch]["tokens"], worst)
                out[ch]["budget"] = budget
                p50[ch] = percentile(times, 0.5)
            ratio.add(p50[BIG] / p50[SMALL])
    finally:
        await engine.close()
    out["ratio"] = ratio
    return out


class _FirstChunk:
    """A ReplySink that notes when the first streamed chunk reaches it."""

    def __init__(self) -> None:
        self.first: float | None = None

    async def begin(self, character) -> None:  # noqa: ANN001
        """Typing would show here."""

    async def update(self, character, text: str) -> None:  # noqa: ANN001
        """The first call is the first chunk handed to the frontend."""
        if self.first is None:
            self.first = time.perf_counter()

    async def finish(self, character, text: str) -> list[str]:  # noqa: ANN001
        """Nothing posted."""
        return []

    async def abort(self, character, error: Exception) -> None:  # noqa: ANN001
        """Nothing to remove."""


async def _replies(path: Path, settings: Settings) -> dict[str, Figure]:
    sys.path.insert(0, str(ROOT))
    from engine.llm.openai_compat import OpenAICompatibleModel
    from tests.fakes.llm_server import MODEL_ID, FakeLLMServer

    out = {"p50": Figure(), "p99": Figure(), "total": Figure()}
    async with FakeLLMServer() as server:
        model = OpenAICompatibleModel(server.base_url, "not-needed", MODEL_ID, max_retries=0)
        engine = await Engine.open(path, model=model)
        try:
            for run in range(settings.runs + 1):  # the first round warms up the client
                firsts, totals = [], []
                for i in range(settings.reply_samples):
                    sink = _FirstChunk()
                    started = time.perf_counter()
                    line = AnswerLine(actor=PERSON, channel_id=SMALL, text="Aria, what do you make of the bells?",
                                      message_id=f"reply-{run}-{i}-{uuid.uuid4().hex[:6]}")
                    await engine.perform(line, sink=sink)
                    totals.append(time.perf_counter() - started)
                    firsts.append((sink.first or float("nan")) - started)
                if run:
                    firsts.sort()
                    out["p50"].add(percentile(firsts, 0.5))
                    out["p99"].add(percentile(firsts, 0.99))
                    out["total"].add(sorted(totals)[len(totals) // 2])
        finally:
            await engine.close()
            await model.aclose()
    return out


def run(datasets: dict[str, Path], settings: Settings) -> tuple[list[Table], list[Target]]:
    """Measure and tabulate sections 6 and 7."""
    source = prompt_database(settings, datasets["1k"])
    small, big = settings.prompt_sizes
    p = asyncio.run(_prompts(copy_db(source, settings.workdir / "s6.db"), settings))
    table6 = Table("6. Prompt building (InspectPrompt: the reply prompt a character would get)",
                   ["chat", "p50", "p99", "largest prompt / budget (tokens)"])
    for ch, n in ((SMALL, small), (BIG, big)):
        table6.rows.append([f"{n:,} messages, {settings.prompt_memories:,} memories", p[ch]["p50"].fmt(" ms", 2, 1e3),
                            p[ch]["p99"].fmt(" ms", 2, 1e3), f"{p[ch]['tokens']:,} / {p[ch]['budget']:,}"])
    table6.rows.append([f"{big:,} ÷ {small:,} messages (p50, same run)", p["ratio"].fmt("×", 2), "", ""])
    table6.notes.append(f"{settings.runs} runs of {settings.prompt_samples} prompts per chat, the chats alternating.")
    r = asyncio.run(_replies(copy_db(source, settings.workdir / "s7.db"), settings))
    table7 = Table("7. Reply overhead (person's message → first streamed chunk at the frontend, instant fake model)",
                   ["p50", "p99", "whole respond() p50"])
    table7.rows.append([r["p50"].fmt(" ms", 2, 1e3), r["p99"].fmt(" ms", 2, 1e3), r["total"].fmt(" ms", 2, 1e3)])
    table7.notes.append(f"{settings.runs} runs of {settings.reply_samples} AnswerLine calls in the "
                        f"{small:,}-message "
                        "chat, against the loopback fake OpenAI-compatible server (tests/fakes/llm_server.py), which "
                        "streams its answer at once: the figure is Chronicle's own cost (recording the message, "
                        "building the prompt, the HTTP round trip on loopback, parsing the first chunk).")
    under = all(p[ch]["tokens"] <= p[ch]["budget"] for ch in (SMALL, BIG))
    targets = [
        Target(f"prompt building p99 ≤ 10 ms at {big:,} messages", p[BIG]["p99"].fmt(" ms", 2, 1e3),
               p[BIG]["p99"].median <= 0.010),
        Target(f"prompt building at {big:,} within 1.5× of {small:,} messages", p["ratio"].fmt("×", 2),
               p["ratio"].median <= 1.5),
        Target("prompt stays under its token budget", "yes" if under else "NO", under),
        Target("reply overhead p50 ≤ 20 ms", r["p50"].fmt(" ms", 2, 1e3), r["p50"].median <= 0.020),
    ]
    return [table6, table7], targets
