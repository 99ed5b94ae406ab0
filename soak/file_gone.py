"""The database file deleted while a busy Chronicle runs: every answer after the deletion says nothing more is
recorded, and nothing shown as recorded is missing.

    python -m soak.file_gone [--rounds 20] [--channels 20] [--seed 7]

Each round: a new database with a story in every channel; every channel says line after line, each answered by a
model streaming its reply in 10 pieces over about 100 ms into a sink that notes what it showed. Between 0.5 and
1.5 s in, the file is deleted (`os.unlink`, as an operator's `rm`) and the lines go on for another 0.5 s (at most
five refused lines per channel). The file and its -wal were hard-linked aside first, so what the deleted file holds
can be read afterwards. Checked: every line said after the deletion is answered with the deletion line
(StorageError "gone") and gets no reply; every line and reply answered as recorded is in the deleted file; no reply
stays shown without being recorded; nothing is created at the path. Also measured: what the check before each
write costs (`Database.still_there`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from engine import Actor, Engine, StorageError
from engine.commands import AnswerLine, AuthorCharacter, StartChat
from engine.llm.port import ChatMessage, TextChunk
from engine.views import CharacterView

GUILD = "soak"
REFUSALS = 5  # refused lines per channel and round


class StreamingModel:
    """A LanguageModel that streams a short reply in 10 pieces, 10 ms apart."""

    async def stream(self, messages: Sequence[ChatMessage], *, stop: Sequence[str] = (),
                     max_tokens: int | None = None) -> AsyncIterator[TextChunk]:
        """The reply, piece by piece."""
        for word in f"reply to {messages[-1].content[:20]} in ten short pieces of text".split()[:9]:
            await asyncio.sleep(0.01)
            yield TextChunk(word + " ")
        yield TextChunk("end.", "stop")

    async def aclose(self) -> None:
        """Nothing to release."""


@dataclass
class NotingSink:
    """A ReplySink that notes whether a reply was shown and left standing (finished, never withdrawn)."""

    shown: bool = False

    async def begin(self, character: CharacterView) -> None:
        """Nothing to note yet."""

    async def update(self, character: CharacterView, text: str) -> None:
        """Nothing to note: a partial reply is withdrawn or finished."""

    async def finish(self, character: CharacterView, text: str) -> list[str]:
        """The reply stands as shown."""
        self.shown = True
        return []

    async def abort(self, character: CharacterView, error: Exception) -> None:
        """The reply was withdrawn."""
        self.shown = False


@dataclass
class Answer:
    """What a line was answered: recorded (with its replies' ids), or the kind of StorageError."""

    line_id: str
    said_at: float
    answered_at: float
    outcome: str
    replies: list[str] = field(default_factory=list)
    shown: bool = False


async def _channel(engine: Engine, admin: Actor, channel: str, until: list[float], answers: list[Answer]) -> None:
    """Say lines in `channel` one after another until `until[0]` (monotonic time), at most REFUSALS of them refused
    (a refusal comes at once: a person would not retype a hundred lines in half a second)."""
    step, refused = 0, 0
    while time.monotonic() < until[0] and refused < REFUSALS:
        step += 1
        line_id, sink, said_at = f"{channel}-{step}", NotingSink(), time.monotonic()
        try:
            result = await engine.perform(AnswerLine(actor=admin, channel_id=channel, message_id=line_id,
                                                     text=f"Line {step} in {channel}."), sink=sink)
            answers.append(Answer(line_id, said_at, time.monotonic(), "recorded",
                                  [r.message_id for r in result.replies], sink.shown))
        except StorageError as exc:
            answers.append(Answer(line_id, said_at, time.monotonic(), exc.kind, shown=sink.shown))
            refused += 1
            await asyncio.sleep(0.05)


def _logged(keep: Path) -> set[str]:
    """The line and reply ids in the deleted file (read through its hard links, -wal included)."""
    conn = sqlite3.connect(keep)
    try:
        return {row[0] for row in conn.execute(
            "SELECT json_extract(payload, '$.message_id') FROM events WHERE kind IN ('user_said', 'bot_replied')")}
    finally:
        conn.close()


async def _round(workdir: Path, channels: int, rng: random.Random) -> dict[str, int]:
    """One round: load, the deletion, the checks; returns its counts."""
    path, keep = workdir / "live" / "world.db", workdir / "keep" / "world.db"
    engine = await Engine.open(path, model=StreamingModel())
    admin = Actor(user_id="soak-admin", guild_id=GUILD, display_name="Ada", is_admin=True)
    await engine.perform(AuthorCharacter(actor=admin, name="Aria", description="A bard who answers everything."))
    names = [f"channel-{n}" for n in range(channels)]
    for name in names:
        await engine.perform(StartChat(actor=admin, channel_id=name, character="Aria"))
    keep.parent.mkdir()
    for suffix in ("", "-wal"):
        os.link(f"{path}{suffix}", f"{keep}{suffix}")
    answers: list[Answer] = []
    until = [time.monotonic() + 60]
    talking = [asyncio.ensure_future(_channel(engine, admin, name, until, answers)) for name in names]
    await asyncio.sleep(rng.uniform(0.5, 1.5))
    path.unlink()
    deleted_at = time.monotonic()
    until[0] = deleted_at + 0.5
    await asyncio.gather(*talking)
    await engine.close()
    logged = _logged(keep)
    after = [a for a in answers if a.said_at > deleted_at]
    return {
        "answers": len(answers), "said_after_deletion": len(after),
        "recorded_after_deletion": sum(a.outcome != "gone" for a in after),
        "recorded_but_missing": sum(a.outcome == "recorded" and not {a.line_id, *a.replies} <= logged
                                    for a in answers),
        "shown_not_recorded": sum(a.shown and a.outcome != "recorded" for a in answers),
        "other_errors": sum(a.outcome not in ("recorded", "gone") for a in answers),
        "path_recreated": int(path.exists() or Path(f"{path}-wal").exists()),
        "gone_lines_in_deleted_file": sum(a.outcome == "gone" and a.line_id in logged for a in answers),
        "answered_recorded_after_deletion": sum(a.outcome == "recorded" and a.answered_at > deleted_at
                                                for a in answers),
    }


async def _check_cost(workdir: Path) -> float:
    """Microseconds per `still_there()` (an os.stat of the path), the median of 20 runs of 10,000."""
    engine = await Engine.open(workdir / "cost.db")
    try:
        runs = []
        for _ in range(20):
            started = time.perf_counter()
            for _ in range(10_000):
                engine.db.still_there()  # type: ignore[attr-defined]
            runs.append((time.perf_counter() - started) / 10_000 * 1e6)
        return round(sorted(runs)[len(runs) // 2], 2)
    finally:
        await engine.close()


VIOLATIONS = ("recorded_after_deletion", "recorded_but_missing", "shown_not_recorded", "other_errors",
              "path_recreated")


async def run(rounds: int, channels: int, seed: int, workdir: Path) -> dict[str, object]:
    """Every round, summed; the figures."""
    rng = random.Random(seed)
    started = time.perf_counter()
    totals: dict[str, int] = {}
    for number in range(rounds):
        folder = workdir / f"round-{number}"
        (folder / "live").mkdir(parents=True)
        for key, value in (await _round(folder, channels, rng)).items():
            totals[key] = totals.get(key, 0) + value
    return {"rounds": rounds, "channels": channels, **totals, "check_us": await _check_cost(workdir),
            "seconds": round(time.perf_counter() - started, 1)}


def main(argv: list[str] | None = None) -> int:
    """Run the rounds, print one JSON line; exit 1 on any violation."""
    parser = argparse.ArgumentParser(prog="python -m soak.file_gone")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--channels", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    from config.logging import configure_logging

    configure_logging("console", "critical")
    with tempfile.TemporaryDirectory(prefix="chronicle-file-gone-") as scratch:
        result = asyncio.run(run(args.rounds, args.channels, args.seed, Path(scratch)))
    print(json.dumps(result))
    return 1 if any(result.get(key) for key in VIOLATIONS) else 0


if __name__ == "__main__":
    sys.exit(main())
